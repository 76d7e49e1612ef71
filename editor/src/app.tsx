/**
 * The editor shell: loads the scene, owns the store and the viewport, and lays out toolbar
 * (top), hierarchy and history (left), viewport (centre), inspector (right) and status bar
 * (bottom). Keyboard shortcuts, saving, reloading and Play live here.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { RunMode, SceneError, type SceneDocument, type Vec3 } from '../../runtime/core/index.js';
import { checkSceneName, loadBrowserScene, type BrowserScene } from '../../runtime/browser/scene/scene-source.js';
import { diskHash, listScenes, saveEdits, saveScene } from './api.js';
import { copySelection, createEntity, CREATE_KINDS, deleteSelection, duplicateSelection, paste, type CreateKind } from './commands.js';
import { Hierarchy } from './hierarchy.js';
import { Inspector } from './inspector.js';
import { LiveButton, LiveDialog, LivePanel } from './live-panel.js';
import { LiveStore } from './live-store.js';
import { LiveView } from './live-view.js';
import { SceneList } from './scene-list.js';
import { loadPlayScripts } from './scripts.js';
import { EditorStore, type Dialog } from './store.js';
import { Viewport, viewportSettings, type GizmoMode } from './viewport.js';

interface HotChannel {
  on(event: string, cb: (data: unknown) => void): void;
}

export function App({ params, hot }: { params: URLSearchParams; hot?: HotChannel | undefined }) {
  const name = params.get('scene');
  if (name === null || name === '') return <SceneList />;
  const bad = checkSceneName(name);
  if (bad) return <Failure title="Scene refused" lines={[bad]} />;
  return <EditorLoader name={name} hot={hot} />;
}

function Failure({ title, lines }: { title: string; lines: string[] }) {
  return (
    <div class="scene-list">
      <div class="card failure">
        <h1>{title}</h1>
        <ul class="problems">
          {lines.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>
        <a href="./">Back to the scene list</a>
      </div>
    </div>
  );
}

function EditorLoader({ name, hot }: { name: string; hot?: HotChannel | undefined }) {
  const [state, setState] = useState<{ scene: BrowserScene; assets: string[] } | { error: string[] } | null>(null);
  useEffect(() => {
    document.title = `${name} · keel editor`;
    Promise.all([loadBrowserScene(name, RunMode.Editor), listScenes().catch(() => ({ assets: [] as string[] }))]).then(
      ([scene, list]) => setState({ scene, assets: list.assets }),
      (err: Error) => setState({ error: err instanceof SceneError ? err.problems.map((p) => `${p.file} ${p.pointer || '/'}: ${p.message}`) : [err.message] }),
    );
  }, [name]);
  if (state === null) return <div class="loading">Opening {name}…</div>;
  if ('error' in state) return <Failure title={`Cannot open ${name}`} lines={state.error} />;
  return <Editor scene={state.scene} assets={state.assets} hot={hot} />;
}

const isTyping = (t: EventTarget | null) => t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);

/** Shortcuts as menus and tooltips show them. */
export const SHORTCUTS = {
  save: 'Ctrl+S',
  undo: 'Ctrl+Z',
  redo: 'Ctrl+Shift+Z / Ctrl+Y',
  duplicate: 'Ctrl+D',
  delete: 'Del',
  copy: 'Ctrl+C',
  paste: 'Ctrl+V',
  selectAll: 'Ctrl+A',
  frame: 'F',
  rename: 'F2',
  translate: 'W',
  rotate: 'E',
  scale: 'R',
  space: 'Q',
  play: 'Ctrl+P',
} as const;

function Editor({ scene, assets, hot }: { scene: BrowserScene; assets: string[]; hot?: HotChannel | undefined }) {
  const [store] = useState(() => new EditorStore({ name: scene.name, doc: scene.doc, hash: scene.hash }));
  const [live] = useState(() => new LiveStore());
  const viewportEl = useRef<HTMLDivElement>(null);
  const viewportRef = useRef<Viewport | null>(null);
  const renameRef = useRef<(() => void) | null>(null);
  const [, force] = useState(0);

  const save = async (ifMatch = store.hash.value): Promise<void> => {
    if (store.saving.value || store.playing.value) return;
    const t0 = performance.now();
    store.saving.value = true;
    const doc = store.doc.value;
    // The edits since the version on disk when they are known, else the whole document; an
    // edits save the server cannot take (not a conflict, not a problem in the scene) goes whole.
    const { mark, edits } = store.saveMark();
    let r = ifMatch !== '*' && edits ? await saveEdits(store.name, edits, ifMatch) : null;
    if (!r || r.status === 'error') r = await saveScene(store.name, doc, ifMatch);
    const t1 = performance.now();
    store.saving.value = false;
    if (r.status === 'saved') {
      store.savedThrough(mark);
      if (store.doc.value === doc) store.markSaved(r.hash);
      else store.hash.value = r.hash;
      store.serverProblems.value = [];
      store.message.value = { text: `Saved scenes/${store.name}.json`, kind: 'info' };
      performance.measure('keel:save:bookkeeping', { start: t1, end: performance.now() });
      performance.measure('keel:save', { start: t0, end: performance.now() });
    } else if (r.status === 'conflict') {
      store.dialog.value = {
        id: 'conflict',
        title: 'The file changed on disk',
        message: `scenes/${store.name}.json was changed outside this editor since it was loaded. Your version was not written.`,
        actions: [
          { label: 'Reload from disk (lose my edits)', run: () => void reloadFromDisk() },
          { label: 'Overwrite with my version', run: () => void save('*') },
          { label: 'Keep editing', run: () => {}, primary: true },
        ],
      };
    } else if (r.status === 'invalid') {
      store.serverProblems.value = r.problems;
      store.dialog.value = {
        id: 'invalid',
        title: 'Not saved: the scene has problems',
        message: 'The dev server refused the scene; nothing was written. Fix these and save again:',
        problems: r.problems.map((p) => ({ pointer: p.pointer, message: p.message })),
        actions: [{ label: 'Keep editing', run: () => {}, primary: true }],
      };
    } else store.message.value = { text: `Save failed: ${r.message}`, kind: 'error' };
  };

  const reloadFromDisk = async (): Promise<void> => {
    try {
      const fresh = await loadBrowserScene(store.name, RunMode.Editor);
      store.resetTo(fresh.doc, fresh.hash);
      store.message.value = { text: `Reloaded scenes/${store.name}.json from disk`, kind: 'info' };
    } catch (err) {
      store.message.value = { text: `Reload failed: ${(err as Error).message}`, kind: 'error' };
    }
  };

  const togglePlay = async (): Promise<void> => {
    const vp = viewportRef.current;
    if (!vp) return;
    if (store.playing.value) {
      vp.stop();
      store.playing.value = false;
      return;
    }
    if (store.history.inGesture) return;
    const doc = store.doc.value;
    const { scripts, problems } = await loadPlayScripts(doc);
    if (problems.length > 0) store.message.value = { text: `Play: ${problems.join('; ')}`, kind: 'warn' };
    try {
      vp.play(doc, scripts);
      store.playing.value = true;
    } catch (err) {
      store.message.value = { text: `Play failed: ${(err as Error).message}`, kind: 'error' };
    }
  };

  const create = (kind: CreateKind) => {
    const vp = viewportRef.current;
    const t = vp ? vp.orbit.target : { x: 0, y: 0, z: 0 };
    const at: Vec3 = [Math.round(t.x * 2) / 2, Math.max(0.5, Math.round(t.y * 2) / 2), Math.round(t.z * 2) / 2];
    createEntity(store, kind, at);
  };

  useEffect(() => {
    const vp = new Viewport(viewportEl.current!, store, scene.heightfields);
    viewportRef.current = vp;
    vp.frameSelection();
    const offSel = store.selection.subscribe(() => vp.selectionChanged());

    // The history of this scene from an earlier visit, if any.
    const stored = store.stored();
    if (stored) {
      const h = stored.history;
      if (stored.sameFile && !h.dirty) store.restore(h);
      else if (h.dirty) {
        store.dialog.value = {
          id: 'recover',
          title: 'Recover unsaved edits?',
          message: stored.sameFile
            ? `This scene has ${h.position} step(s) of history with edits that were never saved (the tab closed or crashed).`
            : `Unsaved edits were left from an earlier session, but scenes/${store.name}.json has changed on disk since. Recovering them and saving will ask before overwriting.`,
          actions: [
            {
              label: 'Recover',
              primary: true,
              run: () => {
                const hash = store.hash.value;
                store.restore(h);
                // Over a changed file, keep the version the edits started from, so a save conflicts.
                if (!stored.sameFile) store.hash.value = storedHash(store.name) ?? hash;
              },
            },
            { label: 'Discard them', run: () => store.persistNow() },
          ],
        };
      } else {
        store.message.value = { text: 'The file changed outside the editor: history reset', kind: 'info' };
        store.persistNow();
      }
    } else store.persistNow();

    hot?.on('keel:scene-changed', (data) => {
      const changed = (data as { scene?: unknown } | null)?.scene;
      if (changed !== store.name) return;
      void diskHash(store.name).then((hash) => {
        if (hash === null || hash === store.hash.value) return; // our own save
        if (!store.dirty.value) void reloadFromDisk();
        else
          store.dialog.value = {
            id: 'changed',
            title: 'The file changed on disk',
            message: `scenes/${store.name}.json was changed outside this editor, and you have unsaved edits.`,
            actions: [
              { label: 'Reload (lose my edits)', run: () => void reloadFromDisk() },
              { label: 'Keep editing', run: () => {}, primary: true },
            ],
          };
      });
    });

    const onKey = (e: KeyboardEvent) => {
      if (store.dialog.value) {
        if (e.key === 'Escape') store.dialog.value = null;
        return;
      }
      const ctrl = e.ctrlKey || e.metaKey;
      const k = e.key.toLowerCase();
      if (ctrl && k === 's') {
        e.preventDefault();
        void save();
        return;
      }
      if (ctrl && k === 'p') {
        e.preventDefault();
        void togglePlay();
        return;
      }
      if (isTyping(e.target)) return;
      if (ctrl && k === 'z') {
        e.preventDefault();
        if (e.shiftKey) store.redo();
        else store.undo();
      } else if (ctrl && k === 'y') {
        e.preventDefault();
        store.redo();
      } else if (ctrl && k === 'a') {
        e.preventDefault();
        store.select(store.doc.value.entities.map((x) => x.id));
      } else if (ctrl && k === 'd') {
        e.preventDefault();
        duplicateSelection(store);
      } else if (ctrl && k === 'c') void copySelection(store);
      else if (ctrl && k === 'v') void paste(store);
      else if (ctrl) return;
      else if (e.key === 'Delete' || e.key === 'Backspace') deleteSelection(store);
      else if (vp.flying) return;
      else if (k === 'f') vp.frameSelection();
      else if (e.key === 'F2') renameRef.current?.();
      else if (k === 'w') viewportSettings.mode.value = 'translate';
      else if (k === 'e') viewportSettings.mode.value = 'rotate';
      else if (k === 'r') viewportSettings.mode.value = 'scale';
      else if (k === 'q') viewportSettings.space.value = viewportSettings.space.value === 'world' ? 'local' : 'world';
      else if (e.key === 'Escape') store.select([]);
    };
    window.addEventListener('keydown', onKey);
    const onHide = () => store.persistNow();
    window.addEventListener('pagehide', onHide);

    (window as unknown as { keelEditor: unknown }).keelEditor = debugHandle(store, vp);
    const liveView = new LiveView(vp, live);
    (window as unknown as { keelLive: unknown }).keelLive = { state: () => liveView.state() };
    force((n) => n + 1);
    return () => {
      offSel();
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('pagehide', onHide);
      liveView.dispose();
      live.detach();
      vp.dispose();
      store.dispose();
    };
  }, []);

  const playing = store.playing.value;
  return (
    <div class={`editor${playing ? ' playing' : ''}`}>
      <Toolbar store={store} live={live} onSave={() => void save()} onPlay={() => void togglePlay()} onCreate={create} onFrame={() => viewportRef.current?.frameSelection()} />
      <aside class="left">
        <div class="panel hierarchy-panel">
          <h3>Hierarchy</h3>
          <Hierarchy store={store} onRenameRequest={(fn) => (renameRef.current = fn)} />
        </div>
        <div class="panel history-panel">
          <h3>History</h3>
          <HistoryPanel store={store} />
        </div>
      </aside>
      <main class="viewport" ref={viewportEl}>
        {playing && <div class="play-badge">Playing: edits are off, Stop restores the scene</div>}
        <LivePanel live={live} />
      </main>
      <aside class="right panel">
        <h3>Inspector</h3>
        <Inspector store={store} assets={assets} />
      </aside>
      <StatusBar store={store} />
      <DialogView store={store} />
      <LiveDialog live={live} />
    </div>
  );
}

function storedHash(name: string): string | null {
  try {
    return (JSON.parse(localStorage.getItem(`keel-editor:history:${name}`) ?? 'null') as { hash?: string } | null)?.hash ?? null;
  } catch {
    return null;
  }
}

function Toolbar({ store, live, onSave, onPlay, onCreate, onFrame }: { store: EditorStore; live: LiveStore; onSave: () => void; onPlay: () => void; onCreate: (k: CreateKind) => void; onFrame: () => void }) {
  void store.rev.value;
  const playing = store.playing.value;
  const mode = viewportSettings.mode.value;
  const tool = (m: GizmoMode, label: string, key: string) => (
    <button class={`tool${mode === m ? ' active' : ''}`} title={`${label} (${key})`} data-tool={m} onClick={() => (viewportSettings.mode.value = m)}>
      {label}
    </button>
  );
  return (
    <header class="toolbar">
      <a class="brand" href="./" title="All scenes">
        keel
      </a>
      <div class="group">
        <button data-action="save" title={`Save (${SHORTCUTS.save})`} onClick={onSave} disabled={playing}>
          Save
        </button>
        <button data-action="undo" title={`Undo (${SHORTCUTS.undo})`} disabled={!store.history.canUndo || playing} onClick={() => store.undo()}>
          Undo
        </button>
        <button data-action="redo" title={`Redo (${SHORTCUTS.redo})`} disabled={!store.history.canRedo || playing} onClick={() => store.redo()}>
          Redo
        </button>
      </div>
      <div class="group">
        <select
          data-action="create"
          disabled={playing}
          value=""
          title="Create an entity at the view's centre"
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value as CreateKind;
            (e.target as HTMLSelectElement).value = '';
            if (v) onCreate(v);
          }}
        >
          <option value="">Create…</option>
          {CREATE_KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
        </select>
        <button title={`Duplicate (${SHORTCUTS.duplicate})`} disabled={playing || store.selection.value.length === 0} onClick={() => duplicateSelection(store)}>
          Duplicate
        </button>
        <button title={`Delete (${SHORTCUTS.delete})`} disabled={playing || store.selection.value.length === 0} onClick={() => deleteSelection(store)}>
          Delete
        </button>
      </div>
      <div class="group">
        {tool('translate', 'Move', SHORTCUTS.translate)}
        {tool('rotate', 'Rotate', SHORTCUTS.rotate)}
        {tool('scale', 'Scale', SHORTCUTS.scale)}
        <button class="tool" title={`Gizmo space (${SHORTCUTS.space})`} data-action="space" onClick={() => (viewportSettings.space.value = viewportSettings.space.value === 'world' ? 'local' : 'world')}>
          {viewportSettings.space.value === 'world' ? 'World' : 'Local'}
        </button>
      </div>
      <div class="group">
        <label class={`toggle${viewportSettings.snap.value ? ' on' : ''}`} title="Snap to grid and angle steps (hold Ctrl to invert while dragging)">
          <input type="checkbox" checked={viewportSettings.snap.value} onChange={(e) => (viewportSettings.snap.value = (e.target as HTMLInputElement).checked)} />
          Snap
        </label>
        <input class="step" type="number" min={0.01} step={0.05} value={viewportSettings.snapStep.value} title="Grid step, m" onChange={(e) => (viewportSettings.snapStep.value = Math.max(0.01, Number((e.target as HTMLInputElement).value) || 0.5))} />
        <input class="step" type="number" min={1} step={1} value={viewportSettings.angleStep.value} title="Angle step, degrees" onChange={(e) => (viewportSettings.angleStep.value = Math.max(1, Number((e.target as HTMLInputElement).value) || 15))} />
      </div>
      <div class="group">
        <label class={`toggle${viewportSettings.colliders.value ? ' on' : ''}`} title="Show colliders">
          <input type="checkbox" checked={viewportSettings.colliders.value} onChange={(e) => (viewportSettings.colliders.value = (e.target as HTMLInputElement).checked)} />
          Colliders
        </label>
        <label class={`toggle${viewportSettings.spawns.value ? ' on' : ''}`} title="Show spawn points">
          <input type="checkbox" checked={viewportSettings.spawns.value} onChange={(e) => (viewportSettings.spawns.value = (e.target as HTMLInputElement).checked)} />
          Spawns
        </label>
        <label class={`toggle${viewportSettings.grid.value ? ' on' : ''}`} title="Show the grid">
          <input type="checkbox" checked={viewportSettings.grid.value} onChange={(e) => (viewportSettings.grid.value = (e.target as HTMLInputElement).checked)} />
          Grid
        </label>
        <button title={`Frame selected (${SHORTCUTS.frame})`} onClick={onFrame}>
          Frame
        </button>
      </div>
      <div class="spacer" />
      <LiveButton live={live} />
      <button class={`play${playing ? ' stop' : ''}`} data-action="play" title={`${playing ? 'Stop' : 'Play'} (${SHORTCUTS.play})`} onClick={onPlay}>
        {playing ? '■ Stop' : '▶ Play'}
      </button>
    </header>
  );
}

function HistoryPanel({ store }: { store: EditorStore }) {
  void store.rev.value;
  const h = store.history;
  const entries = h.entries;
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => list.current?.querySelector('.current')?.scrollIntoView({ block: 'nearest' }), [store.rev.value]);
  return (
    <ol class="history" ref={list}>
      <li class={`step${h.position === 0 ? ' current' : ''}`} onClick={() => store.goTo(0)} data-step={0}>
        Opened scene
      </li>
      {entries.map((s, i) => (
        <li key={i} data-step={i + 1} class={`step${i + 1 === h.position ? ' current' : ''}${i + 1 > h.position ? ' undone' : ''}`} onClick={() => store.goTo(i + 1)} title={new Date(s.time).toLocaleTimeString()}>
          {s.label}
        </li>
      ))}
    </ol>
  );
}

function StatusBar({ store }: { store: EditorStore }) {
  const problems = store.problems.value.length + store.serverProblems.value.length;
  const saved = store.lastSaved.value;
  const msg = store.message.value;
  return (
    <footer class="status">
      <span class="file" title="The scene file">
        scenes/{store.name}.json
      </span>
      <span class={`dirty${store.dirty.value ? ' on' : ''}`} data-dirty={store.dirty.value ? 'true' : 'false'}>
        {store.dirty.value ? '● unsaved' : 'saved'}
      </span>
      <span class={`validation${problems ? ' bad' : ''}`} data-problems={problems}>
        {problems ? `${problems} problem${problems === 1 ? '' : 's'}` : '✓ valid'}
      </span>
      <span class="saved-at">{store.saving.value ? 'saving…' : saved ? `last save ${new Date(saved).toLocaleTimeString()}` : 'not saved this session'}</span>
      <span class="selection-count">{store.selection.value.length} selected</span>
      <span class={`message ${msg?.kind ?? ''}`}>{msg?.text ?? ''}</span>
    </footer>
  );
}

function DialogView({ store }: { store: EditorStore }) {
  const d: Dialog | null = store.dialog.value;
  if (!d) return null;
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" data-dialog={d.id}>
        <h2>{d.title}</h2>
        <p>{d.message}</p>
        {d.problems && (
          <ul class="problems">
            {d.problems.map((p, i) => (
              <li key={i} data-problem-pointer={p.pointer}>
                <code>{p.pointer || '/'}</code> {p.message}
              </li>
            ))}
          </ul>
        )}
        <div class="actions">
          {d.actions.map((a) => (
            <button
              key={a.label}
              class={a.primary ? 'primary' : ''}
              onClick={() => {
                store.dialog.value = null;
                a.run();
              }}
            >
              {a.label}
            </button>
          ))}
        </div>
      </div>
    </div>
  );
}

/** `window.keelEditor`: a read-mostly handle for the console, tests and benches. */
function debugHandle(store: EditorStore, vp: Viewport) {
  return {
    get ready() {
      return true;
    },
    get doc(): SceneDocument {
      return store.doc.value;
    },
    get selection() {
      return [...store.selection.value];
    },
    get dirty() {
      return store.dirty.value;
    },
    get hash() {
      return store.hash.value;
    },
    get problems() {
      return store.problems.value;
    },
    get history() {
      return { position: store.history.position, length: store.history.entries.length, labels: store.history.entries.map((s) => s.label) };
    },
    get playing() {
      return store.playing.value;
    },
    get playTick() {
      return vp.playTick;
    },
    get dialog() {
      return store.dialog.value?.id ?? null;
    },
    get lastSaved() {
      return store.lastSaved.value;
    },
    get longestFrameMs() {
      return vp.longestFrameMs;
    },
    /** The camera's position and the directions it looks along and holds up, world space. */
    get camera() {
      return vp.cameraPose();
    },
    /**
     * Adaptive interaction quality: the pixel ratio drawn now, the full-quality one, the lowest
     * of the current or last interaction, whether frames are reduced, the last full frame's draw
     * ms; `budgetMs` can be changed (frames over it during an interaction are drawn smaller).
     */
    get quality() {
      const q = vp.quality;
      return {
        ratio: q.ratio,
        fullRatio: q.fullRatio,
        lowestRatio: q.lowestRatio,
        reduced: q.isReduced,
        fullDrawMs: q.fullDrawMs,
        get budgetMs() {
          return q.budgetMs;
        },
        set budgetMs(ms: number) {
          q.budgetMs = ms;
        },
      };
    },
    /** Frames the viewport has drawn since the page opened. */
    get framesDrawn() {
      return vp.framesDrawn;
    },
    /** The last frame's WebGL draw, ms. */
    get lastDrawMs() {
      return vp.lastDrawMs;
    },
    /**
     * Frames drawn by kind: `direct` (the whole scene), `static` (the kept picture of all but
     * the selection drawn anew, then the selection over it), `composite` (the kept picture
     * reused, only the selection drawn).
     */
    get draws() {
      return { ...vp.drawKinds };
    },
    /** Layered drawing (a kept picture under the selection while the camera is still); false draws every frame whole. */
    get layered() {
      return vp.layered;
    },
    set layered(on: boolean) {
      vp.layered = on;
      vp.invalidate();
    },
    /** Draws a frame now, layered or whole, and reads it back (RGBA, bottom row first). */
    capture(layered: boolean) {
      return vp.capture(layered);
    },
    /** Whether frames are drawn (the bench turns drawing off to time the editor's own work). */
    get drawing() {
      return vp.drawing;
    },
    set drawing(on: boolean) {
      vp.drawing = on;
      vp.invalidate();
    },
    /** Where an entity's origin is on the page (client pixels). */
    entityClient(id: string) {
      const e = store.doc.value.entities.find((x) => x.id === id);
      if (!e) return null;
      return vp.toClient(worldPos(store.doc.value, id));
    },
    gizmoHandle(axis: 'X' | 'Y' | 'Z', t?: number) {
      return vp.gizmoHandle(axis, t);
    },
    frame() {
      vp.frameSelection();
    },
  };
}

function worldPos(doc: SceneDocument, id: string): Vec3 {
  const byId = new Map(doc.entities.map((e) => [e.id, e]));
  const p: Vec3 = [0, 0, 0];
  // Positions only (the tests' crates have no rotated parents).
  for (let e = byId.get(id), n = 0; e && n < 1000; e = e.parent ? byId.get(e.parent) : undefined, n++) {
    const t = e.components.transform?.position ?? [0, 0, 0];
    p[0] += t[0];
    p[1] += t[1];
    p[2] += t[2];
  }
  return p;
}
