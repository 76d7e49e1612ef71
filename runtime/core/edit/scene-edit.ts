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
import { validateEntities, type EntityInput } from './normalise.js';
import { formatPointer, insertIn, parsePointer, setIn, unsetIn } from './pointer.js';

export type { EntityInput };

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
  const draft = new Draft(doc);
  const inverse = applyTo(draft, edit);
  return { doc: draft.finish(), inverse };
}

/** Applies several edits in order; the same as one batch. */
export function applySceneEdits(doc: SceneDocument, edits: readonly SceneEdit[]): AppliedEdit {
  return applySceneEdit(doc, { op: 'batch', edits: [...edits] });
}

/**
 * The document being edited: the entity list is copied once, on the first change, and looked up
 * through an id index, so a batch over thousands of entities costs one copy, not one per edit.
 * Entities whose shape an edit may have changed are normalised together when it finishes.
 */
class Draft {
  top: SceneDocument;
  private list: EntityDocument[] | null = null;
  private index: Map<string, number> | null = null;
  private readonly touched = new Set<string>();

  constructor(readonly base: SceneDocument) {
    this.top = base;
  }

  get entities(): readonly EntityDocument[] {
    return this.list ?? this.top.entities;
  }

  /** Position of an entity; throws naming `what` when there is none. */
  find(id: string, what = 'entity'): number {
    if (!this.index) this.index = new Map(this.entities.map((e, i) => [e.id, i]));
    const i = this.index.get(id);
    if (i === undefined) throw new SceneEditError(`${what} "${id}" does not exist`);
    return i;
  }

  has(id: string): boolean {
    if (!this.index) this.index = new Map(this.entities.map((e, i) => [e.id, i]));
    return this.index.has(id);
  }

  private own(): EntityDocument[] {
    return (this.list ??= this.top.entities.slice());
  }

  replace(i: number, entity: EntityDocument, normalise: boolean): void {
    this.own()[i] = entity;
    if (normalise) this.touched.add(entity.id);
  }

  insert(at: number, entity: EntityDocument): void {
    this.own().splice(at, 0, entity);
    this.index = null;
    this.touched.add(entity.id);
  }

  removeWhere(gone: Set<string>): void {
    this.list = this.entities.filter((e) => !gone.has(e.id));
    this.index = null;
    for (const id of gone) this.touched.delete(id);
  }

  moveBefore(id: string, before: string | null): void {
    if (before === id) return;
    if (before !== null && !this.has(before)) throw new SceneEditError(`reorder "${id}": before "${before}" is not an entity`);
    const list = this.own();
    const [moved] = list.splice(this.find(id), 1);
    this.index = null;
    list.splice(before === null ? list.length : list.findIndex((e) => e.id === before), 0, moved!);
  }

  finish(): SceneDocument {
    if (!this.list) return this.top;
    const list = this.list;
    if (this.touched.size > 0) {
      const at = [...this.touched].map((id) => this.find(id));
      const r = validateEntities(at.map((i) => list[i]!), 'edit');
      if (r.ok) at.forEach((i, k) => (list[i] = r.entities[k]!));
      else for (const i of at) list[i] = normaliseEntity(list[i]!); // some are invalid: keep those as they are
    }
    return { ...this.top, entities: list };
  }
}

function applyTo(draft: Draft, edit: SceneEdit): SceneEdit {
  switch (edit.op) {
    case 'set':
    case 'insert':
    case 'unset':
      return edit.entity === undefined ? applyDocPath(draft, edit) : applyEntityPath(draft, edit, edit.entity);
    case 'add':
      return addEntity(draft, edit.entity, edit.before ?? null);
    case 'remove':
      return removeEntity(draft, edit.entity);
    case 'reparent':
      return reparent(draft, edit);
    case 'reorder': {
      const i = draft.find(edit.entity);
      const oldBefore = draft.entities[i + 1]?.id ?? null;
      draft.moveBefore(edit.entity, edit.before);
      return { op: 'reorder', entity: edit.entity, before: oldBefore };
    }
    case 'batch': {
      if (!Array.isArray(edit.edits)) throw new SceneEditError('batch needs an edits array');
      const inverses: SceneEdit[] = [];
      for (const e of edit.edits) inverses.push(applyTo(draft, e));
      return { op: 'batch', edits: inverses.reverse() };
    }
    default:
      throw new SceneEditError(`unknown edit op ${JSON.stringify((edit as { op?: unknown }).op)}`);
  }
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

/**
 * Whether a set only replaces a value by one of the same shape (a number by a number, a vector
 * by a vector): such an edit cannot remove a default, so the entity needs no normalising.
 */
function sameShape(old: unknown, value: unknown): boolean {
  if (old === null || typeof old !== 'object') return value === null || (typeof value !== 'object' && typeof value === typeof old);
  if (Array.isArray(old)) return Array.isArray(value) && value.length === old.length && value.every((v, i) => typeof v === typeof old[i] && (v === null || typeof v !== 'object'));
  return false;
}

function applyEntityPath(draft: Draft, edit: PathEdit, id: string): SceneEdit {
  const i = draft.find(id);
  const tokens = parse(edit.path);
  const where = `entity "${id}" ${edit.path}`;
  if (tokens.length === 0) throw new SceneEditError(`${where}: a path inside the entity is needed (use add/remove for whole entities)`);
  if (ENTITY_LOCKED.has(tokens[0]!)) throw new SceneEditError(`${where}: ${tokens[0]} is changed with ${tokens[0] === 'parent' ? 'reparent' : 'remove and add'}, not ${edit.op}`);
  const change = pathChange(draft.entities[i]!, edit, tokens, where);
  const inverse = pathInverse(edit, tokens, change, id);
  if (!change.existed && edit.op === 'unset') return inverse;
  const valueOnly = edit.op === 'set' && change.existed && sameShape(change.old, edit.value);
  draft.replace(i, change.root as EntityDocument, !valueOnly);
  return inverse;
}

function applyDocPath(draft: Draft, edit: PathEdit): SceneEdit {
  const tokens = parse(edit.path);
  const where = `scene ${edit.path || '/'}`;
  if (tokens.length === 0 || DOC_LOCKED.has(tokens[0]!)) {
    throw new SceneEditError(`${where}: ${tokens[0] === 'entities' ? 'entities are changed with entity edits (give "entity")' : 'cannot be changed by an edit'}`);
  }
  const change = pathChange(draft.top, edit, tokens, where);
  draft.top = change.root as SceneDocument;
  return pathInverse(edit, tokens, change, undefined);
}

function addEntity(draft: Draft, entity: EntityInput, before: string | null): SceneEdit {
  if (typeof entity !== 'object' || entity === null || typeof entity.id !== 'string') throw new SceneEditError('add: the entity needs a string id');
  if (draft.has(entity.id)) throw new SceneEditError(`add: an entity with id "${entity.id}" already exists`);
  if (entity.parent != null && !draft.has(entity.parent)) throw new SceneEditError(`add "${entity.id}": parent "${entity.parent}" does not exist`);
  const at = before === null ? draft.entities.length : draft.find(before, `add "${entity.id}": before`);
  draft.insert(at, cloneJson(entity, `add "${entity.id}"`) as unknown as EntityDocument);
  return { op: 'remove', entity: entity.id };
}

function removeEntity(draft: Draft, id: string): SceneEdit {
  draft.find(id);
  const before = draft.entities;
  const gone = new Set([id, ...descendantsOf(before, id)]);
  draft.removeWhere(gone);
  // Re-add parents first, each just before the nearest following entity already back in place,
  // which restores the original order whatever order the file kept parents and children in.
  const present = new Set(draft.entities.map((e) => e.id));
  const position = new Map(before.map((e, i) => [e.id, i]));
  const adds: SceneEdit[] = [];
  for (const rid of parentsFirstIds(before.filter((e) => gone.has(e.id)))) {
    const idx = position.get(rid)!;
    let next: string | null = null;
    for (let k = idx + 1; k < before.length; k++) {
      if (present.has(before[k]!.id)) {
        next = before[k]!.id;
        break;
      }
    }
    adds.push({ op: 'add', entity: before[idx]!, before: next });
    present.add(rid);
  }
  return { op: 'batch', edits: adds };
}

function reparent(draft: Draft, edit: Extract<SceneEdit, { op: 'reparent' }>): SceneEdit {
  const i = draft.find(edit.entity);
  const entity = draft.entities[i]!;
  const oldParent = entity.parent ?? null;
  const parent = edit.parent;
  if (parent !== null) {
    draft.find(parent, `reparent "${edit.entity}": parent`);
    if (parent === edit.entity || descendantsOf(draft.entities, edit.entity).includes(parent)) {
      throw new SceneEditError(`reparent "${edit.entity}": "${parent}" is the entity itself or one of its descendants (a cycle)`);
    }
  }
  const oldBefore = draft.entities[i + 1]?.id ?? null;
  const inverseEdits: SceneEdit[] = [{ op: 'reparent', entity: edit.entity, parent: oldParent, keepWorldPose: false, ...(edit.before !== undefined ? { before: oldBefore } : {}) }];

  let updated: EntityDocument = { ...entity };
  if (parent === null) delete updated.parent;
  else updated.parent = parent;
  if ((edit.keepWorldPose ?? true) && parent !== oldParent) {
    const [wp, wq] = worldPoseIn(draft.entities, edit.entity);
    const [pp, pq] = parent === null ? ([[0, 0, 0], [0, 0, 0, 1]] as [Vec3, Quat]) : worldPoseIn(draft.entities, parent);
    const [lp, lq] = localPose(pp, pq, wp, wq);
    const old = entity.components.transform;
    const position = lp.map(tidy) as Vec3;
    const rotation = eulerDegFromQuat(lq).map(tidy) as Vec3;
    const identity = position.every((v) => v === 0) && rotation.every((v) => v === 0);
    if (old || !identity) {
      updated = { ...updated, components: { ...updated.components, transform: { position, rotation, scale: old?.scale ?? [1, 1, 1] } } };
      inverseEdits.push(old ? { op: 'set', entity: edit.entity, path: '/components/transform', value: old } : { op: 'unset', entity: edit.entity, path: '/components/transform' });
    }
  }
  draft.replace(i, updated, false);
  if (edit.before !== undefined) draft.moveBefore(edit.entity, edit.before);
  // Undo puts the parent (and list position) back first, then the transform.
  return inverseEdits.length === 1 ? inverseEdits[0]! : { op: 'batch', edits: inverseEdits };
}

/** World position and rotation of an entity as its document places it (parent chain composed). */
export function docWorldPose(doc: SceneDocument, id: string): [Vec3, Quat] {
  return worldPoseIn(doc.entities, id);
}

function worldPoseIn(entities: readonly EntityDocument[], id: string): [Vec3, Quat] {
  const byId = new Map(entities.map((e) => [e.id, e]));
  const chain: EntityDocument[] = [];
  for (let cur = byId.get(id); cur && chain.length <= entities.length; cur = cur.parent ? byId.get(cur.parent) : undefined) chain.push(cur);
  let pos: Vec3 = [0, 0, 0];
  let rot: Quat = [0, 0, 0, 1];
  for (let k = chain.length - 1; k >= 0; k--) {
    const t = chain[k]!.components.transform;
    if (!t) continue;
    // Inside a batch an entity just added may not have its defaults filled in yet.
    [pos, rot] = composePose(pos, rot, t.position ?? [0, 0, 0], quatFromEulerDeg(t.rotation ?? [0, 0, 0]));
  }
  return [pos, rot];
}

/** Ids of every descendant of `id` in the document. */
export function descendants(doc: SceneDocument, id: string): string[] {
  return descendantsOf(doc.entities, id);
}

function descendantsOf(entities: readonly EntityDocument[], id: string): string[] {
  const kids = new Map<string, string[]>();
  for (const e of entities) if (e.parent) (kids.get(e.parent) ?? kids.set(e.parent, []).get(e.parent)!).push(e.id);
  const out: string[] = [];
  const stack = [...(kids.get(id) ?? [])];
  while (stack.length > 0 && out.length <= entities.length) {
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

/** Shape checks for edits that arrive as JSON live in check-scene-edit.ts; re-exported for callers of this module. */
export { checkSceneEdit, editedEntities } from './check-scene-edit.js';
