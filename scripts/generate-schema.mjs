// Regenerates scenes/keel-scene.schema.json and runtime/core/scene/scene-validator.generated.ts
// from the compiled schema definition. Run after changing runtime/core/scene/schema.ts:
//   npm run build && node scripts/generate-schema.mjs
import { writeFile } from 'node:fs/promises';
import { jsonSchemaText, validatorSource } from './schema-codegen.mjs';

const { SceneSchema } = await import('../dist/runtime/core/scene/schema.js');
const root = new URL('../', import.meta.url);
await writeFile(new URL('scenes/keel-scene.schema.json', root), jsonSchemaText(SceneSchema));
await writeFile(new URL('runtime/core/scene/scene-validator.generated.ts', root), validatorSource(SceneSchema));
console.log('schema: wrote scenes/keel-scene.schema.json and runtime/core/scene/scene-validator.generated.ts');
