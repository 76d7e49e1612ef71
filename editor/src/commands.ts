/**
 * Editor commands over the store: create, duplicate, delete, copy/paste and reparent, each one
 * undo step made of SceneEdits.
 */
import type { EntityInput, SceneEdit } from '../../runtime/core/edit/scene-edit.js';
import { descendants } from '../../runtime/core/edit/scene-edit.js';
import type { EntityDocument, SceneDocument, Vec3 } from '../../runtime/core/index.js';
import type { EditorStore } from './store.js';

export type CreateKind = 'box' | 'sphere' | 'cylinder' | 'capsule' | 'plane' | 'model' | 'light' | 'camera' | 'spawn' | 'empty';

export const CREATE_KINDS: { kind: CreateKind; label: string }[] = [
  { kind: 'box', label: 'Box' },
  { kind: 'sphere', label: 'Sphere' },
  { kind: 'cylinder', label: 'Cylinder' },
  { kind: 'capsule', label: 'Capsule' },
  { kind: 'plane', label: 'Plane' },
  { kind: 'model', label: 'Model' },
  { kind: 'light', label: 'Light' },
  { kind: 'camera', label: 'Camera' },
  { kind: 'spawn', label: 'Spawn point' },
  { kind: 'empty', label: 'Empty' },
];

/** An id not yet in the document: `base`, else the next free number after it (`crate-01` → `crate-13`). */
export function uniqueId(taken: ReadonlySet<string>, base: string): string {
  if (!taken.has(base)) return base;
  const m = /^(.*?)-?(\d+)$/.exec(base);
  const stem = m ? m[1]! : base;
  const width = m ? m[2]!.length : 1;
  const sep = m && base.slice(stem.length).startsWith('-') ? '-' : m ? '' : '-';
  for (let i = m ? Number(m[2]) + 1 : 2; i < 1_000_000; i++) {
    const id = `${stem}${sep}${String(i).padStart(width, '0')}`;
    if (!taken.has(id)) return id;
  }
  return `${stem}-${Date.now()}`;
}

/** A new entity of a kind, at `at`. */
export function entityTemplate(kind: CreateKind, id: string, at: Vec3): EntityInput {
  const transform = { position: at };
  const mat = { color: '#9ca3af' };
  const name = CREATE_KINDS.find((k) => k.kind === kind)!.label;
  switch (kind) {
    case 'box':
      return { id, name, components: { transform, mesh: { shape: 'box', size: [1, 1, 1] }, material: mat, collider: { shape: 'box', size: [1, 1, 1] }, rigidBody: { type: 'static' } } };
    case 'sphere':
      return { id, name, components: { transform, mesh: { shape: 'sphere', radius: 0.5 }, material: mat, collider: { shape: 'sphere', radius: 0.5 }, rigidBody: { type: 'static' } } };
    case 'cylinder':
      return { id, name, components: { transform, mesh: { shape: 'cylinder', radius: 0.5, height: 1 }, material: mat, collider: { shape: 'cylinder', radius: 0.5, height: 1 }, rigidBody: { type: 'static' } } };
    case 'capsule':
      return { id, name, components: { transform, mesh: { shape: 'capsule', radius: 0.5, height: 1 }, material: mat } };
    case 'plane':
      return { id, name, components: { transform, mesh: { shape: 'plane', size: [10, 10] }, material: mat } };
    case 'model':
      return { id, name, components: { transform, mesh: { shape: 'model', asset: 'models/model.glb' } } };
    case 'light':
      return { id, name, components: { transform: { position: [at[0], at[1] + 3, at[2]] }, light: { kind: 'point', intensity: 5, range: 20 } } };
    case 'camera':
      return { id, name, components: { transform: { position: [at[0], at[1] + 2, at[2] + 6] }, camera: {} } };
    case 'spawn':
      return { id, name, components: { transform, spawnPoint: {} } };
    case 'empty':
      return { id, name, components: { transform } };
  }
}

export function createEntity(store: EditorStore, kind: CreateKind, at: Vec3): string | null {
  const doc = store.doc.value;
  const id = uniqueId(new Set(doc.entities.map((e) => e.id)), kind === 'spawn' ? 'spawn' : kind);
  if (!store.apply({ op: 'add', entity: entityTemplate(kind, id, at) }, `Create ${id}`)) return null;
  store.select([id]);
  return id;
}

/** Selected entities whose ancestors are not selected (each subtree once). */
export function selectedRoots(doc: SceneDocument, selection: readonly string[]): string[] {
  const sel = new Set(selection);
  const byId = new Map(doc.entities.map((e) => [e.id, e]));
  return selection.filter((id) => {
    for (let p = byId.get(id)?.parent ?? null, n = 0; p && n < 10000; p = byId.get(p)?.parent ?? null, n++) if (sel.has(p)) return false;
    return byId.has(id);
  });
}

/** The selected subtrees as plain entities, parents first (what copy and duplicate carry). */
export function subtrees(doc: SceneDocument, selection: readonly string[]): EntityDocument[] {
  const roots = selectedRoots(doc, selection);
  const ids = new Set(roots.flatMap((r) => [r, ...descendants(doc, r)]));
  return doc.entities.filter((e) => ids.has(e.id));
}

/**
 * Adds copies of `entities` with fresh ids (parents inside the set follow their copies; others
 * keep their parent when it exists in the document) and selects the copies.
 */
export function addCopies(store: EditorStore, entities: readonly EntityDocument[], label: string): string[] {
  const doc = store.doc.value;
  const taken = new Set(doc.entities.map((e) => e.id));
  const idMap = new Map<string, string>();
  for (const e of entities) {
    const id = uniqueId(taken, e.id);
    taken.add(id);
    idMap.set(e.id, id);
  }
  const existing = new Set(doc.entities.map((e) => e.id));
  const edits: SceneEdit[] = entities.map((e) => {
    const parent = e.parent ? (idMap.get(e.parent) ?? (existing.has(e.parent) ? e.parent : null)) : null;
    const copy: EntityInput = { ...structuredClone(e), id: idMap.get(e.id)!, parent };
    if (parent === null) delete copy.parent;
    return { op: 'add', entity: copy };
  });
  if (edits.length === 0) return [];
  const roots = entities.filter((e) => !e.parent || !idMap.has(e.parent)).map((e) => idMap.get(e.id)!);
  store.begin(label);
  const ok = store.apply({ op: 'batch', edits });
  if (ok) store.select(roots);
  store.end();
  return ok ? roots : [];
}

export function duplicateSelection(store: EditorStore): string[] {
  return addCopies(store, subtrees(store.doc.value, store.selection.value), 'Duplicate');
}

export function deleteSelection(store: EditorStore): void {
  const roots = selectedRoots(store.doc.value, store.selection.value);
  if (roots.length === 0) return;
  store.begin(roots.length === 1 ? `Delete ${roots[0]}` : `Delete ${roots.length} entities`);
  store.apply({ op: 'batch', edits: roots.map((entity) => ({ op: 'remove', entity }) as SceneEdit) });
  store.end();
}

/** The clipboard form of entities: JSON that another scene's editor can paste. */
export interface ClipboardEntities {
  format: 'keel-entities';
  version: 1;
  entities: EntityDocument[];
}

let fallbackClipboard: string | null = null;

export async function copySelection(store: EditorStore): Promise<number> {
  const entities = subtrees(store.doc.value, store.selection.value);
  if (entities.length === 0) return 0;
  const text = JSON.stringify({ format: 'keel-entities', version: 1, entities } satisfies ClipboardEntities, null, 2);
  fallbackClipboard = text;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission: pasting still works within this page.
  }
  return entities.length;
}

export async function paste(store: EditorStore): Promise<string[]> {
  let text: string | null = null;
  try {
    text = await navigator.clipboard.readText();
  } catch {
    text = fallbackClipboard;
  }
  if (!text) text = fallbackClipboard;
  if (!text) return [];
  let parsed: Partial<ClipboardEntities>;
  try {
    parsed = JSON.parse(text) as Partial<ClipboardEntities>;
  } catch {
    store.message.value = { text: 'the clipboard holds no keel entities', kind: 'warn' };
    return [];
  }
  if (parsed.format !== 'keel-entities' || !Array.isArray(parsed.entities)) {
    store.message.value = { text: 'the clipboard holds no keel entities', kind: 'warn' };
    return [];
  }
  return addCopies(store, parsed.entities, 'Paste');
}

/** Moves an entity under a new parent keeping its world pose, before `before` in the list. */
export function reparent(store: EditorStore, id: string, parent: string | null, before: string | null): void {
  const e = store.doc.value.entities.find((x) => x.id === id);
  if (!e) return;
  if ((e.parent ?? null) === parent) store.apply({ op: 'reorder', entity: id, before }, `Reorder ${id}`);
  else store.apply({ op: 'reparent', entity: id, parent, keepWorldPose: true, before }, `Move ${id} under ${parent ?? 'the root'}`);
}
