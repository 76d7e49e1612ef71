/**
 * The problems of a document that changes a few entities at a time, as the editor's does. Scene
 * edits replace an entity object when they change it and never mutate one, so each entity
 * object is checked against the schema once and its problems are remembered with it; every call
 * then costs the entities that are new since the last one, the top level of the document, and a
 * linear pass over ids and parents (a check after a drag in a 2000-entity scene is the dragged
 * entity plus that pass, not the whole document again).
 *
 * The problems are those {@link validateScene} finds for the whole document, each once.
 */
import type { SceneDocument } from '../scene/schema.js';
import { SCENE_FORMAT, SCENE_VERSION } from '../scene/format.js';
import { crossEntityProblems, validateScene, type SceneProblem } from '../scene/validate.js';

type EntityProblem = Omit<SceneProblem, 'file'>;

/** Rules about how entities relate, found by {@link crossEntityProblems} over the whole list. */
const CROSS_ENTITY_RULES: ReadonlySet<string> = new Set(['duplicate-id', 'unknown-parent', 'parent-cycle']);

export class SceneProblemCache {
  /** Problems of each entity object seen, pointers relative to the entity. */
  private readonly byEntity = new WeakMap<object, EntityProblem[]>();

  /** Every problem of `doc` (empty when it is valid). */
  problems(doc: SceneDocument, file: string): SceneProblem[] {
    const entities: unknown = (doc as { entities?: unknown }).entities;
    if (!Array.isArray(entities) || entities.some((e) => typeof e !== 'object' || e === null)) {
      const r = validateScene(doc, file);
      return r.ok ? [] : r.problems;
    }
    const fresh = (entities as object[]).filter((e) => !this.byEntity.has(e));
    if (fresh.length > 0) {
      // The new entities in one pass of the validator, in a scene of their own: what concerns
      // them alone (schema, asset paths) is theirs; what is between entities is checked below.
      const found = fresh.map((): EntityProblem[] => []);
      const r = validateScene({ format: SCENE_FORMAT, version: SCENE_VERSION, name: 'check', entities: fresh }, file);
      if (!r.ok) {
        for (const { file: _f, ...p } of r.problems) {
          const m = /^\/entities\/(\d+)(.*)$/.exec(p.pointer);
          if (m && !CROSS_ENTITY_RULES.has(p.rule)) found[Number(m[1])]!.push({ ...p, pointer: m[2]! });
        }
      }
      fresh.forEach((e, i) => this.byEntity.set(e, found[i]!));
    }
    // The top level on its own (its entities are the ones above).
    const top = validateScene({ ...doc, entities: [] }, file);
    const out: SceneProblem[] = top.ok ? [] : [...top.problems];
    (entities as object[]).forEach((e, i) => {
      for (const p of this.byEntity.get(e)!) out.push({ file, ...p, pointer: `/entities/${i}${p.pointer}` });
    });
    out.push(...crossEntityProblems(entities, file));
    return out;
  }
}
