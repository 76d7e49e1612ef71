/**
 * Scene edits: the one vocabulary in which the editor, Play mode, the server's delta reload and
 * an admin channel change a scene. An edit is plain JSON over stable entity ids (never array
 * positions), so it can be stored, sent and replayed. {@link applySceneEdit} applies one to a
 * scene document and returns its exact inverse; `applyLiveEdit` (live-edit.ts) applies the same
 * edit to a running Simulation.
 *
 * Paths inside an entity are JSON pointers relative to the entity, e.g.
 * `{ op: 'set', entity: 'crate-1', path: '/components/transform/position/1', value: 2 }`.
 * Without `entity`, a path addresses the document itself (`/settings/gravity`, `/name`); the
 * entity list is changed only through the entity operations.
 *
 * After an edit that touches an entity, the entity is normalised as the loader would (schema
 * defaults filled in) when it is valid, so the document always reads like a freshly loaded
 * file; unsetting a field that has a default therefore resets it to that default. An edit may
 * leave an entity invalid (the editor shows the problem at its pointer); only structure is
 * enforced here: ids unique, parents existing, no parent cycles.
 */
import { composePose, eulerDegFromQuat, localPose, quatFromEulerDeg, type Quat, type Vec3 } from '../math/vec.js';
import type { EntityDocument, SceneDocument } from '../scene/schema.js';
import { validateEntity } from '../scene/validate.js';
import { formatPointer, getIn, insertIn, parsePointer, setIn, unsetIn } from './pointer.js';

/** An entity as an edit adds it: components may leave fields out; their defaults are filled in. */
export interface EntityInput {
  id: string;
  name?: string;
  parent?: string | null;
  tags?: string[];
  components: Record<string, unknown>;
}

/** One change to a scene document. */
export type SceneEdit =
  /** Sets a value (object key created or replaced; array index replaced or appended at its length or `-`). */
  | { op: 'set'; entity?: string; path: string; value: unknown }
  /** Inserts into an array before the index (`-` appends). */
  | { op: 'insert'; entity?: string; path: string; value: unknown }
  /** Removes an object key or an array element; nothing happens when it is absent. */
  | { op: 'unset'; entity?: string; path: string }
  /** Adds an entity before `before` (an entity id), at the end when absent or null. */
  | { op: 'add'; entity: EntityInput; before?: string | null }
  /** Removes an entity and all its descendants. */
  | { op: 'remove'; entity: string }
  /**
   * Gives an entity a new parent (null: the root). With `keepWorldPose` (the default) its local
   * transform is rewritten so that it stays where it is in the world. `before` also moves it in
   * the entity list.
   */
  | { op: 'reparent'; entity: string; parent: string | null; keepWorldPose?: boolean; before?: string | null }
  /** Moves an entity in the entity list to just before `before` (null: the end). */
  | { op: 'reorder'; entity: string; before: string | null }
  /** Several edits applied in order as one; its inverse undoes them in reverse order. */
  | { op: 'batch'; edits: SceneEdit[] };

/** An edit that cannot be applied to this document (unknown entity, missing path, cycle…). */
export class SceneEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SceneEditError';
  }
}

export interface AppliedEdit {
  doc: SceneDocument;
  /** The edit that turns `doc` back into the input document. */
  inverse: SceneEdit;
}

/** An edit that changes nothing (its own inverse). */
export const NO_EDIT: SceneEdit = { op: 'batch', edits: [] };

/** Paths inside an entity that only the entity operations may change. */
const ENTITY_LOCKED = new Set(['id', 'parent']);
/** Document paths that only the entity operations (or nothing) may change. */
const DOC_LOCKED = new Set(['entities', 'format', 'version']);

/**
 * Applies `edit` to `doc` and returns the new document (the input is not modified; unchanged
 * parts are shared) with the exact inverse. Throws {@link SceneEditError} when it cannot apply.
 */
export function applySceneEdit(doc: SceneDocument, edit: SceneEdit): AppliedEdit {
  switch (edit.op) {
    case 'set':
    case 'insert':
    case 'unset':
      return edit.entity === undefined ? applyDocPath(doc, edit) : applyEntityPath(doc, edit, edit.entity);
    case 'add':
      return addEntity(doc, edit.entity, edit.before ?? null);
    case 'remove':
      return removeEntity(doc, edit.entity);
    case 'reparent':
      return reparent(doc, edit);
    case 'reorder': {
      const i = indexOf(doc, edit.entity);
      const oldBefore = doc.entities[i + 1]?.id ?? null;
      return { doc: moveBefore(doc, edit.entity, edit.before), inverse: { op: 'reorder', entity: edit.entity, before: oldBefore } };
    }
    case 'batch': {
      let cur = doc;
      const inverses: SceneEdit[] = [];
      for (const e of edit.edits) {
        const r = applySceneEdit(cur, e);
        cur = r.doc;
        inverses.push(r.inverse);
      }
      return { doc: cur, inverse: { op: 'batch', edits: inverses.reverse() } };
    }
    default:
      throw new SceneEditError(`unknown edit op ${JSON.stringify((edit as { op?: unknown }).op)}`);
  }
}

/** Applies several edits in order; the same as one batch. */
export function applySceneEdits(doc: SceneDocument, edits: readonly SceneEdit[]): AppliedEdit {
  return applySceneEdit(doc, { op: 'batch', edits: [...edits] });
}

type PathEdit = Extract<SceneEdit, { op: 'set' | 'insert' | 'unset' }>;

function pathChange(root: unknown, edit: PathEdit, tokens: string[], where: string) {
  try {
    if (edit.op === 'set') return setIn(root, tokens, cloneJson(edit.value, where));
    if (edit.op === 'insert') return insertIn(root, tokens, cloneJson(edit.value, where));
    return unsetIn(root, tokens);
  } catch (err) {
    if (err instanceof SceneEditError) throw err;
    throw new SceneEditError(`${edit.op} ${where}: ${(err as Error).message}`);
  }
}

/** The inverse of a path edit, given what it replaced or removed. */
function pathInverse(edit: PathEdit, tokens: string[], change: { existed: boolean; old: unknown; index?: number }, entity: string | undefined): SceneEdit {
  const target = entity === undefined ? {} : { entity };
  const at = change.index !== undefined ? formatPointer([...tokens.slice(0, -1), change.index]) : edit.path;
  if (edit.op === 'unset') {
    if (!change.existed) return NO_EDIT;
    return change.index !== undefined ? { op: 'insert', ...target, path: at, value: change.old } : { op: 'set', ...target, path: at, value: change.old };
  }
  if (edit.op === 'insert' || !change.existed) return { op: 'unset', ...target, path: at };
  return { op: 'set', ...target, path: at, value: change.old };
}

function applyEntityPath(doc: SceneDocument, edit: PathEdit, id: string): AppliedEdit {
  const i = indexOf(doc, id);
  const tokens = parse(edit.path);
  const where = `entity "${id}" ${edit.path}`;
  if (tokens.length === 0) throw new SceneEditError(`${where}: a path inside the entity is needed (use add/remove for whole entities)`);
  if (ENTITY_LOCKED.has(tokens[0]!)) throw new SceneEditError(`${where}: ${tokens[0]} is changed with ${tokens[0] === 'parent' ? 'reparent' : 'remove and add'}, not ${edit.op}`);
  const before = doc.entities[i]!;
  const change = pathChange(before, edit, tokens, where);
  const inverse = pathInverse(edit, tokens, change, id);
  if (!change.existed && edit.op === 'unset') return { doc, inverse };
  const entities = doc.entities.slice();
  entities[i] = normaliseEntity(change.root as EntityDocument);
  return { doc: { ...doc, entities }, inverse };
}

function applyDocPath(doc: SceneDocument, edit: PathEdit): AppliedEdit {
  const tokens = parse(edit.path);
  const where = `scene ${edit.path || '/'}`;
  if (tokens.length === 0 || DOC_LOCKED.has(tokens[0]!)) {
    throw new SceneEditError(`${where}: ${tokens[0] === 'entities' ? 'entities are changed with entity edits (give "entity")' : 'cannot be changed by an edit'}`);
  }
  const change = pathChange(doc, edit, tokens, where);
  return { doc: change.root as SceneDocument, inverse: pathInverse(edit, tokens, change, undefined) };
}

function addEntity(doc: SceneDocument, entity: EntityInput, before: string | null): AppliedEdit {
  if (typeof entity !== 'object' || entity === null || typeof entity.id !== 'string') throw new SceneEditError('add: the entity needs a string id');
  if (doc.entities.some((e) => e.id === entity.id)) throw new SceneEditError(`add: an entity with id "${entity.id}" already exists`);
  if (entity.parent != null && !doc.entities.some((e) => e.id === entity.parent)) {
    throw new SceneEditError(`add "${entity.id}": parent "${entity.parent}" does not exist`);
  }
  const at = before === null ? doc.entities.length : indexOf(doc, before, `add "${entity.id}": before`);
  const entities = doc.entities.slice();
  entities.splice(at, 0, normaliseEntity(cloneJson(entity, `add "${entity.id}"`) as EntityDocument));
  return { doc: { ...doc, entities }, inverse: { op: 'remove', entity: entity.id } };
}

function removeEntity(doc: SceneDocument, id: string): AppliedEdit {
  indexOf(doc, id);
  const gone = new Set([id, ...descendants(doc, id)]);
  const entities = doc.entities.filter((e) => !gone.has(e.id));
  // Re-add parents first, each just before the nearest following entity already back in place,
  // which restores the original order whatever order the file kept parents and children in.
  const present = new Set(entities.map((e) => e.id));
  const order = parentsFirstIds(doc.entities.filter((e) => gone.has(e.id)));
  const adds: SceneEdit[] = [];
  for (const rid of order) {
    const idx = doc.entities.findIndex((e) => e.id === rid);
    const next = doc.entities.slice(idx + 1).find((e) => present.has(e.id));
    adds.push({ op: 'add', entity: doc.entities[idx]!, before: next?.id ?? null });
    present.add(rid);
  }
  return { doc: { ...doc, entities }, inverse: { op: 'batch', edits: adds } };
}

function reparent(doc: SceneDocument, edit: Extract<SceneEdit, { op: 'reparent' }>): AppliedEdit {
  const i = indexOf(doc, edit.entity);
  const entity = doc.entities[i]!;
  const oldParent = entity.parent ?? null;
  const parent = edit.parent;
  if (parent !== null) {
    indexOf(doc, parent, `reparent "${edit.entity}": parent`);
    if (parent === edit.entity || descendants(doc, edit.entity).includes(parent)) {
      throw new SceneEditError(`reparent "${edit.entity}": "${parent}" is the entity itself or one of its descendants (a cycle)`);
    }
  }
  const oldBefore = doc.entities[i + 1]?.id ?? null;
  const inverseEdits: SceneEdit[] = [{ op: 'reparent', entity: edit.entity, parent: oldParent, keepWorldPose: false, ...(edit.before !== undefined ? { before: oldBefore } : {}) }];

  let updated: EntityDocument = { ...entity };
  if (parent === null) delete updated.parent;
  else updated.parent = parent;
  if ((edit.keepWorldPose ?? true) && parent !== oldParent) {
    const [wp, wq] = docWorldPose(doc, edit.entity);
    const [pp, pq] = parent === null ? ([[0, 0, 0], [0, 0, 0, 1]] as [Vec3, Quat]) : docWorldPose(doc, parent);
    const [lp, lq] = localPose(pp, pq, wp, wq);
    const old = entity.components.transform;
    const position = lp.map(tidy) as Vec3;
    const rotation = eulerDegFromQuat(lq).map(tidy) as Vec3;
    const identity = position.every((v) => v === 0) && rotation.every((v) => v === 0);
    if (old || !identity) {
      updated = { ...updated, components: { ...updated.components, transform: { position, rotation, scale: old ? old.scale : [1, 1, 1] } } };
      inverseEdits.push(old ? { op: 'set', entity: edit.entity, path: '/components/transform', value: old } : { op: 'unset', entity: edit.entity, path: '/components/transform' });
    }
  }
  const entities = doc.entities.slice();
  entities[i] = normaliseEntity(updated);
  let next: SceneDocument = { ...doc, entities };
  if (edit.before !== undefined) next = moveBefore(next, edit.entity, edit.before);
  // Undo restores the list position first only when this edit moved it; the transform last.
  return { doc: next, inverse: inverseEdits.length === 1 ? inverseEdits[0]! : { op: 'batch', edits: inverseEdits } };
}

/** World position and rotation of an entity as its document places it (parent chain composed). */
export function docWorldPose(doc: SceneDocument, id: string): [Vec3, Quat] {
  const byId = new Map(doc.entities.map((e) => [e.id, e]));
  const chain: EntityDocument[] = [];
  for (let cur = byId.get(id); cur && chain.length <= doc.entities.length; cur = cur.parent ? byId.get(cur.parent) : undefined) chain.push(cur);
  let pos: Vec3 = [0, 0, 0];
  let rot: Quat = [0, 0, 0, 1];
  for (let k = chain.length - 1; k >= 0; k--) {
    const t = chain[k]!.components.transform;
    if (!t) continue;
    [pos, rot] = composePose(pos, rot, t.position, quatFromEulerDeg(t.rotation));
  }
  return [pos, rot];
}

function moveBefore(doc: SceneDocument, id: string, before: string | null): SceneDocument {
  const i = indexOf(doc, id);
  if (before === id) return doc;
  const entities = doc.entities.slice();
  const [moved] = entities.splice(i, 1);
  const at = before === null ? entities.length : entities.findIndex((e) => e.id === before);
  if (at < 0) throw new SceneEditError(`reorder "${id}": before "${before}" is not an entity`);
  entities.splice(at, 0, moved!);
  return { ...doc, entities };
}

/** Ids of every descendant of `id` in the document. */
export function descendants(doc: SceneDocument, id: string): string[] {
  const kids = new Map<string, string[]>();
  for (const e of doc.entities) if (e.parent) (kids.get(e.parent) ?? kids.set(e.parent, []).get(e.parent)!).push(e.id);
  const out: string[] = [];
  const stack = [...(kids.get(id) ?? [])];
  while (stack.length > 0 && out.length <= doc.entities.length) {
    const c = stack.pop()!;
    out.push(c);
    stack.push(...(kids.get(c) ?? []));
  }
  return out;
}

function parentsFirstIds(entities: readonly EntityDocument[]): string[] {
  const ids = new Set(entities.map((e) => e.id));
  const byId = new Map(entities.map((e) => [e.id, e]));
  const out: string[] = [];
  const placed = new Set<string>();
  const place = (e: EntityDocument, depth: number) => {
    if (placed.has(e.id) || depth > entities.length) return;
    if (e.parent && ids.has(e.parent)) place(byId.get(e.parent)!, depth + 1);
    placed.add(e.id);
    out.push(e.id);
  };
  for (const e of entities) place(e, 0);
  return out;
}

function indexOf(doc: SceneDocument, id: string, what = 'entity'): number {
  const i = doc.entities.findIndex((e) => e.id === id);
  if (i < 0) throw new SceneEditError(`${what} "${id}" does not exist`);
  return i;
}

function parse(path: string): string[] {
  try {
    return parsePointer(path);
  } catch (err) {
    throw new SceneEditError((err as Error).message);
  }
}

/** The entity with schema defaults filled in when it is valid; as given otherwise. */
function normaliseEntity(entity: EntityDocument): EntityDocument {
  const r = validateEntity(entity, 'edit');
  return r.ok ? r.entity : entity;
}

/** A JSON copy of an edit's value, so a document never shares objects with its caller. */
function cloneJson<T>(value: T, where: string): T {
  if (value === undefined) throw new SceneEditError(`${where}: a value is required`);
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Rounds away float noise (1e-9) that composing and inverting rotations leaves in written numbers. */
function tidy(v: number): number {
  const r = Math.round(v * 1e9) / 1e9;
  return r === 0 ? 0 : r;
}

/** Whether a value is shaped like a {@link SceneEdit} (for edits that arrive as JSON); says why not. */
export function checkSceneEdit(value: unknown, where = 'edit'): string | null {
  if (typeof value !== 'object' || value === null) return `${where} must be an object`;
  const e = value as Record<string, unknown>;
  const str = (k: string) => typeof e[k] === 'string';
  const optEntity = e.entity === undefined || str('entity');
  const before = e.before === undefined || e.before === null || str('before');
  switch (e.op) {
    case 'set':
    case 'insert':
      return optEntity && str('path') && 'value' in e && e.value !== undefined ? null : `${where}: ${e.op} needs path, value and optionally entity`;
    case 'unset':
      return optEntity && str('path') ? null : `${where}: unset needs path and optionally entity`;
    case 'add':
      return typeof e.entity === 'object' && e.entity !== null && typeof (e.entity as { id?: unknown }).id === 'string' && before
        ? null
        : `${where}: add needs an entity with an id`;
    case 'remove':
      return str('entity') ? null : `${where}: remove needs entity`;
    case 'reparent':
      return str('entity') && (e.parent === null || str('parent')) && before && (e.keepWorldPose === undefined || typeof e.keepWorldPose === 'boolean')
        ? null
        : `${where}: reparent needs entity and parent (an id or null)`;
    case 'reorder':
      return str('entity') && 'before' in e && before ? null : `${where}: reorder needs entity and before (an id or null)`;
    case 'batch': {
      if (!Array.isArray(e.edits)) return `${where}: batch needs edits`;
      for (let i = 0; i < e.edits.length; i++) {
        const why = checkSceneEdit(e.edits[i], `${where}.edits[${i}]`);
        if (why) return why;
      }
      return null;
    }
    default:
      return `${where}: unknown op ${JSON.stringify(e.op)}`;
  }
}

/** The ids of the entities an edit names (targets, added ids, new parents), for selection and merging. */
export function editedEntities(edit: SceneEdit): string[] {
  switch (edit.op) {
    case 'set':
    case 'insert':
    case 'unset':
      return edit.entity === undefined ? [] : [edit.entity];
    case 'add':
      return [edit.entity.id];
    case 'remove':
    case 'reorder':
    case 'reparent':
      return [edit.entity];
    case 'batch':
      return [...new Set(edit.edits.flatMap(editedEntities))];
  }
}

export { getIn };
