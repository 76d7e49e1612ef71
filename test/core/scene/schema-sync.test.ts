/**
 * One source of truth: the published JSON Schema and the compiled validator are generated from
 * runtime/core/scene/schema.ts. If someone edits the schema without regenerating, this fails
 * and says how to fix it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SceneSchema } from '../../../runtime/core/scene/schema.js';
import { jsonSchemaText, validatorSource } from '../../../scripts/schema-codegen.mjs';
import { REPO } from '../../helpers/keel-process.js';

const HOW = 'stale: run `npm run schema` and commit the result';

describe('generated scene schema files', () => {
  it('scenes/keel-scene.schema.json matches schema.ts', () => {
    expect(readFileSync(`${REPO}/scenes/keel-scene.schema.json`, 'utf8'), HOW).toBe(jsonSchemaText(SceneSchema));
  });

  it('runtime/core/scene/scene-validator.generated.ts matches schema.ts', () => {
    expect(readFileSync(`${REPO}/runtime/core/scene/scene-validator.generated.ts`, 'utf8') === validatorSource(SceneSchema), HOW).toBe(true);
  });

  it('every shipped scene points at the published schema', () => {
    for (const name of ['arena', 'terrain']) {
      const scene = JSON.parse(readFileSync(`${REPO}/scenes/${name}.json`, 'utf8')) as { $schema?: string };
      expect(scene.$schema, name).toBe('./keel-scene.schema.json');
    }
  });
});
