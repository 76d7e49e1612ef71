import { SCENE_FORMAT, SCENE_VERSION } from '../scene/format.js';
import type { EntityDocument } from '../scene/schema.js';
import { validateScene, type SceneProblem } from '../scene/validate.js';

/** An entity as edits carry it: components may leave fields out (the loader fills them). */
export interface EntityInput {
  id: string;
  name?: string;
  parent?: string | null;
  tags?: string[];
  components: Record<string, unknown>;
}

/**
 * Validates many entities in one pass of the scene validator (much cheaper than one pass each),
 * parents aside: they refer to the whole scene, which the caller checks. On success every entity
 * comes back with its defaults filled in, in order; otherwise every problem, with a pointer
 * relative to its entity and the entity's position in `entities`.
 */
export function validateEntities(
  entities: readonly EntityInput[],
  file: string,
): { ok: true; entities: EntityDocument[] } | { ok: false; problems: (SceneProblem & { index: number })[] } {
  const stripped = entities.map(({ parent: _parent, ...rest }) => rest);
  const r = validateScene({ format: SCENE_FORMAT, version: SCENE_VERSION, name: 'edit', entities: stripped }, file);
  if (!r.ok) {
    return {
      ok: false,
      problems: r.problems.map((p) => {
        const m = /^\/entities\/(\d+)(.*)$/.exec(p.pointer);
        return m ? { ...p, index: Number(m[1]), pointer: m[2]! } : { ...p, index: -1 };
      }),
    };
  }
  return {
    ok: true,
    entities: r.scene.entities.map((e, i) => {
      const parent = entities[i]!.parent;
      return typeof parent === 'string' ? { ...e, parent } : e;
    }),
  };
}
