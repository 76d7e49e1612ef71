/**
 * The editor's state: the scene document (the source of truth) inside the core's SceneHistory,
 * and signals that the panels and the viewport read. Every change goes through `apply` (or a
 * gesture, `begin`/`end`) as a SceneEdit; nothing else writes the document.
 */
import { batch, signal, type Signal } from '@preact/signals';
import { SceneHistory, type HistoryChange } from '../../runtime/core/edit/history.js';
import type { SceneEdit } from '../../runtime/core/edit/scene-edit.js';
import { SceneProblemCache } from '../../runtime/core/edit/scene-problems.js';
import type { SceneDocument, SceneProblem } from '../../runtime/core/index.js';

/** A modal question the editor asks (409 on save, recovery, reload while dirty). */
export interface Dialog {
  id: string;
  title: string;
  message: string;
  problems?: { pointer: string; message: string }[];
  actions: { label: string; run: () => void; primary?: boolean }[];
}

export interface StoreOptions {
  name: string;
  doc: SceneDocument;
  /** sha256 of the file as loaded. */
  hash: string;
  storage?: Storage | null;
}

/** The JSON kept in localStorage per scene: the history and the file version it started from. */
interface Persisted {
  hash: string;
  history: unknown;
  savedAt: number | null;
}

export const storageKey = (name: string) => `keel-editor:history:${name}`;

/** Past this many edits since the last save, the next save sends the whole scene. */
const MAX_LOGGED_EDITS = 5000;

export class EditorStore {
  readonly name: string;
  history: SceneHistory;
  /** sha256 of the file on disk as this editor last loaded or saved it. */
  readonly hash = signal('');
  readonly doc: Signal<SceneDocument>;
  readonly selection = signal<readonly string[]>([]);
  /** Bumped on every history change (undo/redo availability, history panel). */
  readonly rev = signal(0);
  readonly dirty = signal(false);
  readonly lastSaved = signal<number | null>(null);
  readonly saving = signal(false);
  readonly message = signal<{ text: string; kind: 'info' | 'warn' | 'error' } | null>(null);
  readonly dialog = signal<Dialog | null>(null);
  /** Problems the server reported on the last refused save (422), by pointer. */
  readonly serverProblems = signal<Omit<SceneProblem, 'file'>[]>([]);
  readonly playing = signal(false);
  /**
   * The document's problems by the core validator. Checked a moment after the last change and
   * not during a gesture: a whole-scene check per mouse move would stall a drag in a large scene.
   */
  readonly problems = signal<SceneProblem[]>([]);
  private validateTimer: ReturnType<typeof setTimeout> | null = null;
  /** Checks only the entities an edit replaced (plus a pass over ids and parents) each time. */
  private readonly checker = new SceneProblemCache();
  private readonly storage: Storage | null;
  private persistTimer: ReturnType<typeof setTimeout> | null = null;
  private unsubscribe: () => void = () => {};
  private readonly changeListeners = new Set<(c: HistoryChange) => void>();
  /**
   * Every edit applied to the document, in order, from the absolute position `logStart` on: a
   * save sends those since the file version `hash` instead of the whole scene. `logKnown` is
   * false when the document was replaced by other means (a restored history) or the log
   * overflowed: the next save then sends the whole scene, and the log starts again from it.
   */
  private log: SceneEdit[] = [];
  private logStart = 0;
  private logKnown = true;

  constructor(opts: StoreOptions) {
    this.name = opts.name;
    this.storage = opts.storage === undefined ? globalThis.localStorage ?? null : opts.storage;
    this.doc = signal(opts.doc);
    this.hash.value = opts.hash;
    this.history = new SceneHistory(opts.doc);
    this.attach(this.history);
    this.validateNow();
  }

  /** Runs the validator on the document now. */
  validateNow(): void {
    if (this.validateTimer) clearTimeout(this.validateTimer);
    this.validateTimer = null;
    this.problems.value = this.checker.problems(this.doc.value, `scenes/${this.name}.json`);
  }

  private scheduleValidate(): void {
    if (this.validateTimer) clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(() => {
      this.validateTimer = null;
      if (this.history.inGesture) this.scheduleValidate();
      else this.validateNow();
    }, 150);
  }

  /** Listens to every document or selection change (the viewport follows through this). */
  onChange(fn: (c: HistoryChange) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  private attach(h: SceneHistory): void {
    this.unsubscribe();
    this.history = h;
    this.unsubscribe = h.on((c) => this.changed(c));
    this.sync();
  }

  private sync(): void {
    const h = this.history;
    batch(() => {
      this.doc.value = h.doc;
      this.selection.value = h.selection;
      this.dirty.value = h.dirty;
      this.rev.value++;
    });
  }

  private changed(c: HistoryChange): void {
    this.record(c);
    this.sync();
    if (c.kind !== 'select') {
      this.serverProblems.value = [];
      this.scheduleValidate();
    }
    for (const l of this.changeListeners) l(c);
    if (!this.history.inGesture) this.schedulePersist();
  }

  private record(c: HistoryChange): void {
    if (c.kind === 'select') return;
    if (c.kind === 'reset') return this.forgetLog();
    if (c.edit.op === 'batch' && c.edit.edits.length === 0) return;
    if (!this.logKnown) {
      this.logStart++;
      return;
    }
    this.log.push(c.edit);
    if (this.log.length > MAX_LOGGED_EDITS) this.forgetLog();
  }

  /** The document is no longer the file plus the logged edits: the next save sends it whole. */
  private forgetLog(): void {
    this.logStart += this.log.length;
    this.log = [];
    this.logKnown = false;
  }

  /**
   * What a save starting now sends: the position it covers (for {@link savedThrough}) and the
   * edits from the file version `hash` to the current document, or null when only the whole
   * document will do.
   */
  saveMark(): { mark: number; edits: SceneEdit[] | null } {
    const mark = this.logStart + this.log.length;
    return { mark, edits: this.logKnown ? [...this.log] : null };
  }

  /** A save of the document as of `mark` succeeded: the log now starts from it. */
  savedThrough(mark: number): void {
    if (mark < this.logStart) return this.forgetLog(); // what came after it was dropped
    this.log.splice(0, mark - this.logStart);
    this.logStart = mark;
    this.logKnown = true;
  }

  /** Applies one edit as an undoable step (or part of the open gesture); reports a refused edit. */
  apply(edit: SceneEdit, label?: string): boolean {
    if (this.playing.value) return false;
    try {
      this.history.apply(edit, label);
      return true;
    } catch (err) {
      this.message.value = { text: (err as Error).message, kind: 'error' };
      return false;
    }
  }

  select(ids: readonly string[]): void {
    this.history.select(ids);
  }

  begin(label: string): void {
    this.history.begin(label);
  }

  end(): void {
    if (this.history.inGesture) this.history.end();
    this.sync();
    this.schedulePersist();
  }

  undo(): void {
    if (!this.playing.value) this.history.undo();
  }

  redo(): void {
    if (!this.playing.value) this.history.redo();
  }

  /** Jumps to a position in the history (the history panel). */
  goTo(position: number): void {
    for (let i = 0; i < 1000 && this.history.position > position && this.history.undo(); i++);
    for (let i = 0; i < 1000 && this.history.position < position && this.history.redo(); i++);
  }

  /** The file on disk is now `doc` with hash `hash` (saved, or reloaded from disk). */
  markSaved(hash: string): void {
    this.hash.value = hash;
    this.history.markSaved();
    this.lastSaved.value = Date.now();
    this.sync();
    // Stored right after the save is acknowledged, not inside it (a large history takes a while).
    this.schedulePersist(0);
  }

  /** Starts over from what is on disk: no history (the file changed outside the editor). */
  resetTo(doc: SceneDocument, hash: string): void {
    this.hash.value = hash;
    this.history.reset(doc);
    // The document is the file as it is: edits count from here.
    this.logStart += this.log.length;
    this.log = [];
    this.logKnown = true;
    this.persistNow();
  }

  /** Replaces the history with a stored one (recovery and reload). */
  restore(h: SceneHistory): void {
    this.attach(h);
    this.forgetLog();
    this.scheduleValidate();
    for (const l of this.changeListeners) l({ kind: 'reset', edit: { op: 'batch', edits: [] }, doc: h.doc, selection: h.selection });
  }

  /** The stored history for this scene, if it started from the file version `hash`. */
  stored(): { history: SceneHistory; sameFile: boolean } | null {
    const text = this.storage?.getItem(storageKey(this.name));
    if (!text) return null;
    try {
      const p = JSON.parse(text) as Persisted;
      return { history: SceneHistory.fromJSON(p.history), sameFile: p.hash === this.hash.value };
    } catch {
      this.storage?.removeItem(storageKey(this.name));
      return null;
    }
  }

  /** Persists a moment after the last change (typing and drags write once, not per keystroke or move). */
  private schedulePersist(delayMs = 400): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = setTimeout(() => this.persistNow(), delayMs);
  }

  /** Writes the history to localStorage now (a drag in progress is stored as before it began). */
  persistNow(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    if (!this.storage) return;
    const p: Persisted = { hash: this.hash.value, history: this.history.toJSON(), savedAt: this.lastSaved.value };
    try {
      this.storage.setItem(storageKey(this.name), JSON.stringify(p));
    } catch {
      this.message.value = { text: 'history too large for local storage: it will not survive a reload', kind: 'warn' };
    }
  }

  dispose(): void {
    if (this.validateTimer) clearTimeout(this.validateTimer);
    this.persistNow();
    this.unsubscribe();
    this.changeListeners.clear();
  }
}
