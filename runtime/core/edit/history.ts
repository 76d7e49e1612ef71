/**
 * The editor's document model: a scene document, a selection, and undo/redo over both. Every
 * step is data (the edit, its inverse, the selection before and after), never a closure or a
 * view object, so the whole history serialises to JSON and survives a page reload.
 *
 * Steps and gestures:
 * - each `apply` is one step, except that a `set` of the same entity and field as the previous
 *   step, within `mergeWindowMs` (1 s) of it, merges into it (typing in one field);
 * - `begin`/`end` wrap a gesture (a gizmo drag, a slider drag): everything applied between them
 *   is one step; `cancel` rolls the gesture back instead;
 * - a batch (a bulk edit of every selected entity) is one step;
 * - `select` is a step too (selection changes are undoable); consecutive selection changes
 *   within the merge window merge.
 * `seal()` ends merging (the editor calls it when a field loses focus); undo and redo seal too.
 */
import type { SceneDocument } from '../scene/schema.js';
import { checkSceneEdit } from './check-scene-edit.js';
import { applySceneEdit, NO_EDIT, type SceneEdit } from './scene-edit.js';

/** One undoable step. */
export interface HistoryStep {
  label: string;
  edit: SceneEdit;
  inverse: SceneEdit;
  selectionBefore: string[];
  selectionAfter: string[];
  /** When the step was last extended (ms, from the history's clock). */
  time: number;
  /** Steps with the same key may merge (`entity + path` of a single set; `select` for selection). */
  mergeKey?: string;
}

/** What changed, for views and for a live world mirroring the document. */
export interface HistoryChange {
  kind: 'apply' | 'undo' | 'redo' | 'select' | 'cancel' | 'reset';
  /** The edit that was applied to the document (for undo, the inverse); NO_EDIT for selection. */
  edit: SceneEdit;
  doc: SceneDocument;
  selection: readonly string[];
}

export interface HistoryOptions {
  /** Milliseconds; default `Date.now`. */
  now?: () => number;
  /** Merge window for same-field edits and selection changes; default 1000 ms. */
  mergeWindowMs?: number;
  /** Most steps kept; the oldest are dropped past it. Default 500. */
  limit?: number;
  /** sha256 of the file the document was loaded from (see {@link SceneHistory.fileHash}). */
  fileHash?: string | null;
}

/** The JSON form of a history (see {@link SceneHistory.toJSON}). */
export interface HistoryJson {
  format: 'keel-history';
  version: 1;
  doc: SceneDocument;
  selection: string[];
  steps: HistoryStep[];
  /** Steps before this index are done; the rest can be redone. */
  index: number;
  /** The index at the last save, or null when the saved state is no longer in the history. */
  savedIndex: number | null;
  /** sha256 of the file as last loaded or saved. */
  fileHash: string | null;
}

interface Gesture {
  label: string;
  edits: SceneEdit[];
  selectionBefore: string[];
  docBefore: SceneDocument;
}

/** Undo/redo over a scene document and its selection. */
export class SceneHistory {
  private current: SceneDocument;
  private selected: string[] = [];
  private steps: HistoryStep[] = [];
  private index = 0;
  private savedAt: number | null = 0;
  private gesture: Gesture | null = null;
  private depth = 0;
  private sealed = true;
  private readonly listeners = new Set<(c: HistoryChange) => void>();
  private readonly now: () => number;
  private readonly window: number;
  private readonly limit: number;
  private hash: string | null;

  constructor(doc: SceneDocument, options: HistoryOptions = {}) {
    this.current = doc;
    this.hash = options.fileHash ?? null;
    this.now = options.now ?? (() => Date.now());
    this.window = options.mergeWindowMs ?? 1000;
    this.limit = options.limit ?? 500;
  }

  get doc(): SceneDocument {
    return this.current;
  }

  get selection(): readonly string[] {
    return this.selected;
  }

  /** Steps done, oldest first, and those that can be redone after them (for a history panel). */
  get entries(): readonly HistoryStep[] {
    return this.steps;
  }

  /** How many steps are done (the rest of `entries` can be redone). */
  get position(): number {
    return this.index;
  }

  get canUndo(): boolean {
    return this.index > 0 && this.gesture === null;
  }

  get canRedo(): boolean {
    return this.index < this.steps.length && this.gesture === null;
  }

  /** True when the document differs from the last save (selection steps do not count). */
  get dirty(): boolean {
    if (this.savedAt === null) return true;
    const [from, to] = this.savedAt < this.index ? [this.savedAt, this.index] : [this.index, this.savedAt];
    for (let i = from; i < to; i++) if (!isNoop(this.steps[i]!.edit)) return true;
    return false;
  }

  /**
   * sha256 of the file as last loaded or saved. A stored history is only restored over a file
   * with this hash: when the file changed outside the editor, the editor starts a new history.
   */
  get fileHash(): string | null {
    return this.hash;
  }

  get inGesture(): boolean {
    return this.gesture !== null;
  }

  on(listener: (c: HistoryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies an edit to the document as one step (or as part of the open gesture). Throws, and
   * records nothing, when the edit does not apply.
   */
  apply(edit: SceneEdit, label = describeEdit(edit)): void {
    const { doc, inverse } = applySceneEdit(this.current, edit);
    const before = this.selected;
    this.current = doc;
    this.selected = this.selected.filter((id) => doc.entities.some((e) => e.id === id));
    if (this.gesture) {
      const g = this.gesture;
      const key = mergeKeyOf(edit);
      // A drag sends the same field many times: keep its latest value and its first inverse.
      if (key !== undefined && g.edits.length > 0 && mergeKeyOf(g.edits[g.edits.length - 1]!) === key) g.edits[g.edits.length - 1] = edit;
      else g.edits.push(edit);
    } else {
      const key = mergeKeyOf(edit);
      const last = this.steps[this.index - 1];
      const t = this.now();
      if (!this.sealed && key !== undefined && last && last.mergeKey === key && this.index === this.steps.length && t - last.time <= this.window) {
        // Same field again: the step now ends at the new value and still undoes to the first one.
        last.edit = edit;
        last.time = t;
        last.selectionAfter = [...this.selected];
        if (this.savedAt === this.index) this.savedAt = null;
      } else {
        this.push({ label, edit, inverse, selectionBefore: [...before], selectionAfter: [...this.selected], time: t, ...(key !== undefined ? { mergeKey: key } : {}) });
      }
      this.sealed = false;
    }
    this.emit('apply', edit);
  }

  /** Changes the selection as an undoable step (ids not in the document are dropped). */
  select(ids: readonly string[], label = 'Select'): void {
    const next = [...new Set(ids)].filter((id) => this.current.entities.some((e) => e.id === id));
    if (sameList(next, this.selected)) return;
    const before = this.selected;
    this.selected = next;
    if (!this.gesture) {
      const last = this.steps[this.index - 1];
      const t = this.now();
      if (!this.sealed && last?.mergeKey === SELECT_KEY && this.index === this.steps.length && t - last.time <= this.window) {
        last.selectionAfter = [...next];
        last.time = t;
      } else {
        this.push({ label, edit: NO_EDIT, inverse: NO_EDIT, selectionBefore: [...before], selectionAfter: [...next], time: t, mergeKey: SELECT_KEY });
      }
      this.sealed = false;
    }
    this.emit('select', NO_EDIT);
  }

  /** Starts a gesture: everything until the matching `end` is one step. Gestures nest (the outermost counts). */
  begin(label: string): void {
    this.depth++;
    if (this.gesture) return;
    this.gesture = { label, edits: [], selectionBefore: [...this.selected], docBefore: this.current };
  }

  /** Ends the gesture and records it as one step (nothing when it changed nothing). */
  end(): void {
    if (this.depth === 0) throw new Error('end() without begin()');
    if (--this.depth > 0) return;
    const g = this.gesture!;
    this.gesture = null;
    this.sealed = true;
    const changedSelection = !sameList(g.selectionBefore, this.selected);
    if (g.edits.length === 0 && !changedSelection) return;
    const edit: SceneEdit = g.edits.length === 1 ? g.edits[0]! : { op: 'batch', edits: g.edits };
    // Undo from the document before the gesture: one inverse computed against the whole gesture.
    const inverse = applySceneEdit(g.docBefore, edit).inverse;
    this.push({ label: g.label, edit, inverse, selectionBefore: g.selectionBefore, selectionAfter: [...this.selected], time: this.now() });
  }

  /** Abandons the gesture: the document and selection go back to where `begin` found them. */
  cancel(): void {
    if (!this.gesture) return;
    const g = this.gesture;
    this.gesture = null;
    this.depth = 0;
    const { inverse } = applySceneEdit(g.docBefore, g.edits.length === 1 ? g.edits[0]! : { op: 'batch', edits: g.edits });
    this.current = g.docBefore;
    this.selected = g.selectionBefore;
    this.emit('cancel', inverse);
  }

  /** Ends merging into the last step (a field lost focus). */
  seal(): void {
    this.sealed = true;
  }

  undo(): boolean {
    if (!this.canUndo) return false;
    const step = this.steps[--this.index]!;
    this.current = applySceneEdit(this.current, step.inverse).doc;
    this.selected = [...step.selectionBefore];
    this.sealed = true;
    this.emit('undo', step.inverse);
    return true;
  }

  redo(): boolean {
    if (!this.canRedo) return false;
    const step = this.steps[this.index++]!;
    this.current = applySceneEdit(this.current, step.edit).doc;
    this.selected = [...step.selectionAfter];
    this.sealed = true;
    this.emit('redo', step.edit);
    return true;
  }

  /** Records that the current document is what is on disk (with that file's sha256). */
  markSaved(fileHash: string | null = this.hash): void {
    this.hash = fileHash;
    this.savedAt = this.index;
    this.sealed = true;
  }

  /** Starts over from `doc` (the file changed outside the editor): no steps, clean. */
  reset(doc: SceneDocument, fileHash: string | null = null): void {
    this.current = doc;
    this.hash = fileHash;
    this.selected = this.selected.filter((id) => doc.entities.some((e) => e.id === id));
    this.steps = [];
    this.index = 0;
    this.savedAt = 0;
    this.gesture = null;
    this.depth = 0;
    this.sealed = true;
    this.emit('reset', NO_EDIT);
  }

  /** The whole history as JSON (an open gesture is not included: it is ended first by the caller or lost). */
  toJSON(): HistoryJson {
    const doc = this.gesture ? this.gesture.docBefore : this.current;
    return {
      format: 'keel-history',
      version: 1,
      doc,
      selection: [...(this.gesture ? this.gesture.selectionBefore : this.selected)],
      steps: this.steps.map((s) => ({ ...s, selectionBefore: [...s.selectionBefore], selectionAfter: [...s.selectionAfter] })),
      index: this.index,
      savedIndex: this.savedAt,
      fileHash: this.hash,
    };
  }

  /** A history from its JSON form; throws naming the first thing wrong with it. */
  static fromJSON(json: unknown, options: HistoryOptions = {}): SceneHistory {
    const j = json as Partial<HistoryJson> | null;
    if (typeof j !== 'object' || j === null || j.format !== 'keel-history' || j.version !== 1) throw new Error('not a keel-history version 1 object');
    if (typeof j.doc !== 'object' || j.doc === null || !Array.isArray((j.doc as SceneDocument).entities)) throw new Error('history: doc is not a scene document');
    if (!Array.isArray(j.steps)) throw new Error('history: steps must be an array');
    const index = j.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > j.steps.length) throw new Error('history: index out of range');
    j.steps.forEach((s, i) => {
      if (typeof s !== 'object' || s === null) throw new Error(`history: steps[${i}] is not an object`);
      for (const k of ['edit', 'inverse'] as const) {
        const why = checkSceneEdit(s[k], `steps[${i}].${k}`);
        if (why) throw new Error(`history: ${why}`);
      }
      if (!Array.isArray(s.selectionBefore) || !Array.isArray(s.selectionAfter)) throw new Error(`history: steps[${i}] needs selectionBefore and selectionAfter`);
    });
    const h = new SceneHistory(j.doc, { ...options, fileHash: typeof j.fileHash === 'string' ? j.fileHash : null });
    h.steps = j.steps.map((s) => ({ ...s, label: String(s.label ?? ''), time: Number(s.time) || 0 }));
    h.index = index;
    h.selected = Array.isArray(j.selection) ? j.selection.filter((x): x is string => typeof x === 'string') : [];
    h.savedAt = typeof j.savedIndex === 'number' ? j.savedIndex : null;
    return h;
  }

  private push(step: HistoryStep): void {
    if (this.savedAt !== null && this.savedAt > this.index) this.savedAt = null; // the saved state was in the redo branch
    this.steps.length = this.index;
    this.steps.push(step);
    this.index++;
    if (this.steps.length > this.limit) {
      const drop = this.steps.length - this.limit;
      this.steps.splice(0, drop);
      this.index -= drop;
      if (this.savedAt !== null) this.savedAt = this.savedAt - drop >= 0 ? this.savedAt - drop : null;
    }
  }

  private emit(kind: HistoryChange['kind'], edit: SceneEdit): void {
    const change: HistoryChange = { kind, edit, doc: this.current, selection: this.selected };
    for (const l of this.listeners) l(change);
  }
}

const SELECT_KEY = '\u0000select';

function isNoop(edit: SceneEdit): boolean {
  return edit.op === 'batch' && edit.edits.every(isNoop);
}

/** `entity + path` of a single set (or of a batch of sets on the same fields): what merges. */
function mergeKeyOf(edit: SceneEdit): string | undefined {
  if (edit.op === 'set') return `${edit.entity ?? ''}\u0000${edit.path}`;
  if (edit.op === 'batch' && edit.edits.length > 0 && edit.edits.every((e) => e.op === 'set')) {
    return edit.edits.map((e) => mergeKeyOf(e)!).sort().join('\u0001');
  }
  return undefined;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A short human label for a history panel. */
export function describeEdit(edit: SceneEdit): string {
  switch (edit.op) {
    case 'set':
    case 'insert':
    case 'unset': {
      const field = edit.path.split('/').filter(Boolean).slice(-2).join(' ');
      const verb = edit.op === 'unset' ? 'Remove' : 'Set';
      return edit.entity ? `${verb} ${field} of ${edit.entity}` : `${verb} ${field}`;
    }
    case 'add':
      return `Add ${edit.entity.id}`;
    case 'remove':
      return `Delete ${edit.entity}`;
    case 'reparent':
      return `Move ${edit.entity} under ${edit.parent ?? 'the root'}`;
    case 'reorder':
      return `Reorder ${edit.entity}`;
    case 'batch':
      return edit.edits.length === 1 ? describeEdit(edit.edits[0]!) : `${edit.edits.length} changes`;
  }
}
