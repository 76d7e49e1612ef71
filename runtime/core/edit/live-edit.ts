/**
 * Scene edits on a running Simulation. The edit is applied to the simulation's document with
 * the same function the editor uses ({@link applySceneEdit}); the world is then brought in line
 * with the new document by {@link reconcileWorld}, which matches entities by id and changes only
 * what differs. The server's delta reload calls the same reconciliation with a reloaded file.
 *
 * What follows what:
 * - `transform` set or removed: the entity is placed where its parent and new local transform
 *   put it (a dynamic body there at rest), and its children follow;
 * - `rigidBody` / `collider` set or removed: the body is rebuilt at the live pose (or dropped);
 * - `script` set or removed: the old instance gets `destroy`, the new one `start` next tick;
 * - reparent: the entity keeps its local transform under the new parent unless the edit also
 *   rewrote it (a `reparent` edit with `keepWorldPose` does, so it stays in place);
 * - order: the world iterates (and scripts update) in document order;
 * - `settings.gravity`: the physics world's gravity. Other settings take effect at next start.
 *
 * Entities that the running game removed (a destroyed crate) are not brought back by an edit
 * that only changes them; entities the game spawned are never touched.
 */
import type { SceneDocument, EntityDocument, Components } from '../scene/schema.js';
import { SceneError } from '../scene/validate.js';
import { validateEntities, type EntityInput } from './normalise.js';
import type { Simulation } from '../sim/simulation.js';
import { parentsFirst } from '../world/world.js';
import { sameJson } from './pointer.js';
import { applySceneEdit, SceneEditError, type SceneEdit } from './scene-edit.js';

/** Applies `edit` to a running simulation (document and world); returns the inverse edit. */
export function applyLiveEdit(sim: Simulation, edit: SceneEdit): SceneEdit {
  const { doc, inverse } = applySceneEdit(sim.scene, edit);
  sim.syncTo(doc);
  return inverse;
}

/** What differs between two versions of a document, by entity id. */
export interface SceneDiff {
  added: EntityDocument[];
  removed: string[];
  /** Entities present in both that differ, with the components whose data differs. */
  changed: { before: EntityDocument; after: EntityDocument; components: (keyof Components)[] }[];
}

/** Entities added, removed and changed (any field) from `prev` to `next`, matched by id. */
export function diffScene(prev: SceneDocument, next: SceneDocument): SceneDiff {
  const pe = prev.entities;
  const ne = next.entities;
  // The common case (an edit inside entities): the same ids in the same order, compared by
  // position without building any index.
  const sameIds = pe.length === ne.length && pe.every((e, i) => e.id === ne[i]!.id);
  const prevById = sameIds ? null : new Map(pe.map((e) => [e.id, e]));
  const nextIds = sameIds ? null : new Set(ne.map((e) => e.id));
  const removed = sameIds ? [] : pe.filter((e) => !nextIds!.has(e.id)).map((e) => e.id);
  const added: EntityDocument[] = [];
  const changed: SceneDiff['changed'] = [];
  for (let i = 0; i < ne.length; i++) {
    const e = ne[i]!;
    const before = sameIds ? pe[i] : prevById!.get(e.id);
    if (!before) added.push(e);
    else if (before !== e && !sameJson(before, e)) {
      const names = new Set([...Object.keys(before.components), ...Object.keys(e.components)]) as Set<keyof Components>;
      changed.push({ before, after: e, components: [...names].filter((n) => !sameJson(before.components[n], e.components[n])) });
    }
  }
  return { added, removed, changed };
}

/**
 * Changes `sim.world` from matching `prev` to matching `next`. Everything is checked first
 * (touched entities valid, parents present in the running world): on a problem it throws
 * {@link SceneError} or {@link SceneEditError} and changes nothing.
 */
export function reconcileWorld(sim: Simulation, prev: SceneDocument, next: SceneDocument): SceneDiff {
  const world = sim.world;
  const ne = next.entities;
  const diff = diffScene(prev, next);
  const { added, removed, changed } = diff;
  const indexOf = (id: string) => ne.findIndex((e) => e.id === id);

  // Check everything before changing anything: added entities whole, changed ones by what
  // changed (a drag of 2000 entities validates 2000 transforms, in one pass).
  const toCheck: EntityInput[] = [
    ...added,
    ...changed.map(({ after, components }) => ({
      id: after.id,
      ...(after.name !== undefined ? { name: after.name } : {}),
      ...(after.tags !== undefined ? { tags: after.tags } : {}),
      components: Object.fromEntries(components.filter((n) => after.components[n] !== undefined).map((n) => [n, after.components[n]])),
    })),
  ];
  const checked = validateEntities(toCheck, next.name);
  if (!checked.ok) {
    throw new SceneError(checked.problems.map(({ index, ...p }) => (index < 0 ? p : { ...p, pointer: `/entities/${indexOf(toCheck[index]!.id)}${p.pointer}` })));
  }
  const valid = new Map(checked.entities.map((e) => [e.id, e]));
  const addedIds = new Set(added.map((e) => e.id));
  const removedIds = new Set(removed);
  const willExist = (id: string) => addedIds.has(id) || (world.get(id) !== undefined && !removedIds.has(id));
  for (const e of added) {
    if (world.get(e.id)) throw new SceneEditError(`entity "${e.id}" already exists in the running world (spawned at run time)`);
    if (e.parent && !willExist(e.parent)) throw new SceneEditError(`entity "${e.id}": parent "${e.parent}" is not in the running world`);
  }
  for (const { after } of changed) {
    if (world.get(after.id) && after.parent && !willExist(after.parent)) {
      throw new SceneEditError(`entity "${after.id}": parent "${after.parent}" is not in the running world`);
    }
  }

  // Additions parents first, then changes (a reparent away from a removed parent happens before
  // the removal), then removals.
  for (const e of parentsFirst(added)) world.add(valid.get(e.id)!);
  const changedById = new Map(changed.map((c) => [c.after.id, c]));
  for (const after of parentsFirst(changed.map((c) => c.after))) {
    const live = world.get(after.id);
    if (!live) continue; // removed by the running game
    const { before, components } = changedById.get(after.id)!;
    const v = valid.get(after.id)!;
    if ((before.parent ?? null) !== (after.parent ?? null)) world.reparent(live, after.parent ?? null);
    if ((before.name ?? before.id) !== (v.name ?? v.id) || !sameJson(before.tags ?? [], v.tags ?? [])) world.relabel(live, v.name ?? v.id, v.tags ?? []);
    for (const name of components) {
      const value = v.components[name];
      if (value === undefined) world.removeComponent(live, name);
      else world.setComponent(live, name, value);
    }
  }
  for (const id of removed) world.remove(id);

  if (added.length > 0 || orderChanged(prev, next)) {
    world.setOrder(next.entities.map((e) => e.id));
    sim.scripts.reorder([...world.values()].map((e) => e.id));
  }
  if (!sameJson(prev.settings.gravity, next.settings.gravity) && next.settings.gravity) sim.physics.setGravity?.(next.settings.gravity);
  return diff;
}

/** Whether the entities both documents hold appear in a different relative order. */
function orderChanged(prev: SceneDocument, next: SceneDocument): boolean {
  const inNext = new Set(next.entities.map((e) => e.id));
  const inPrev = new Set(prev.entities.map((e) => e.id));
  const a = prev.entities.filter((e) => inNext.has(e.id));
  const b = next.entities.filter((e) => inPrev.has(e.id));
  return a.some((e, i) => e.id !== b[i]!.id);
}
