/**
 * Editor bench: the editor page in headless chromium (software WebGL) against the Vite dev
 * server over a temp copy of the scenes folder plus a generated 2000-entity scene.
 *   open     open-to-interactive (page load to the editor's debug handle being ready, the
 *            first frame drawn): cold (first load, the dev server transforms modules) and warm
 *            (median of the next loads), for the arena and the 2000-entity scene
 *   drag     a gizmo drag on the 2000-entity scene (40 real mouse moves): the longest
 *            main-thread task seen by a PerformanceObserver('longtask'), and how many tasks
 *            were over 50 ms; once drawn, once with the WebGL draw off (the editor's own
 *            work); the selection's own frame, the drag's frames and the frame after release
 *            apart, with how the drag's frames were drawn (layered or whole), and the draw of
 *            one whole frame with nothing selected (what a frame costs without layered drawing)
 *   save     Ctrl+S to the save being acknowledged (PUT, validation, canonical write, rename),
 *            both scenes, p50 of 15 saves (5 with --quick), with the save's marked stages
 *            (keel:save:*), a bare fetch PUT of the same document and frames drawn meanwhile
 *   bundle   `vite build` of the editor page: JS the page loads, raw and gzip
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { freePort } from '../lib/net.mjs';
import { median } from '../lib/stats.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

/** A scene of `n` entities: crates in a grid, a tenth of them children of a row holder. */
export function bigScene(n, name = 'big') {
  const entities = [
    { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, mesh: { shape: 'box', size: [200, 1, 200] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [200, 1, 200] } } },
    { id: 'sun', components: { transform: { position: [10, 30, 10], rotation: [-50, 30, 0] }, light: { kind: 'directional' } } },
    { id: 'sky', components: { light: { kind: 'hemisphere', intensity: 0.6 } } },
  ];
  const side = Math.ceil(Math.sqrt(n));
  for (let i = entities.length; i < n; i++) {
    const x = (i % side) * 2 - side;
    const z = Math.floor(i / side) * 2 - side;
    const holder = i % 10 === 0;
    entities.push({
      id: `e-${i}`,
      ...(holder || i < 13 ? {} : { parent: `e-${i - (i % 10)}` }),
      components: {
        transform: { position: holder || i < 13 ? [x, 0.5, z] : [(i % 10) * 0.1, 0, 0] },
        mesh: { shape: i % 3 === 0 ? 'sphere' : 'box' },
        material: { color: `#${((i * 2654435761) >>> 8).toString(16).padStart(6, '0').slice(0, 6)}` },
        rigidBody: { type: 'static' },
        collider: { shape: 'box' },
      },
    });
  }
  return { $schema: './keel-scene.schema.json', format: 'keel-scene', version: 1, name, entities };
}

/**
 * Waits in the page until `n` animation frames in a row come within 50 ms of the one before
 * (the frames asked for have been drawn), at most `timeoutMs`.
 * @param {import('playwright-core').Page} page
 */
function calmFrames(page, n, timeoutMs) {
  return page.evaluate(
    async ([n, timeoutMs]) => {
      const end = performance.now() + timeoutMs;
      let last = await new Promise((r) => requestAnimationFrame(r));
      for (let calm = 0; calm < n && performance.now() < end; ) {
        const t = await new Promise((r) => requestAnimationFrame(r));
        calm = t - last < 50 ? calm + 1 : 0;
        last = t;
      }
    },
    [n, timeoutMs],
  );
}

/** @param {{ quick: boolean, progress: (msg: string) => void, repo: string, signal?: AbortSignal }} opts */
export async function run({ quick, progress, repo }) {
  const { createServer, build } = await import('vite');
  const { chromium } = await import('playwright-core');
  const dir = await mkdtemp(join(tmpdir(), 'keel-bench-editor-'));
  const scenesDir = join(dir, 'scenes');
  await cp(join(repo, 'scenes'), scenesDir, { recursive: true });
  await writeFile(join(scenesDir, 'big.json'), JSON.stringify(bigScene(2000), null, 2));
  // The size the save goal is set for: about 1 MiB in canonical form.
  await writeFile(join(scenesDir, 'mib.json'), JSON.stringify(bigScene(1220, 'mib'), null, 2));
  const port = await freePort();
  process.env.KEEL_SCENES_DIR = scenesDir;
  const server = await createServer({ configFile: join(repo, 'vite.config.ts'), root: repo, logLevel: 'error', server: { port, host: '127.0.0.1', strictPort: true } });
  delete process.env.KEEL_SCENES_DIR;
  await server.listen();
  const browser = await chromium.launch({ executablePath: process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const url = `http://127.0.0.1:${port}`;
  const warmRuns = quick ? 1 : 3;
  const tables = [];
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    const ready = () => page.waitForFunction(() => window.keelEditor?.ready === true, null, { timeout: 120_000 });
    const open = async (scene) => {
      // No stored history: every open is a first open (no recovery question).
      await page.evaluate(() => localStorage.clear()).catch(() => undefined);
      const t0 = performance.now();
      await page.goto(`${url}/editor/?scene=${scene}`);
      await ready();
      // The first frame after the handle is up.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      return performance.now() - t0;
    };
    const openRows = [];
    for (const scene of ['arena', 'big']) {
      progress(`opening ${scene}`);
      const cold = await open(scene);
      const warm = [];
      for (let i = 0; i < warmRuns; i++) warm.push(await open(scene));
      const entities = await page.evaluate(() => window.keelEditor.doc.entities.length);
      openRows.push([scene, String(entities), cold.toFixed(0), median(warm).toFixed(0)]);
    }
    tables.push({ title: 'Editor: open to interactive (ms, headless chromium, software WebGL)', columns: ['scene', 'entities', 'cold', `warm (median of ${warmRuns})`], rows: openRows });

    progress('dragging in the 2000-entity scene');
    await open('big');
    // The floor: the main-thread task of drawing one frame of the whole scene in software WebGL
    // (the GPU process's work shows up as the page waiting on it), with nothing else going on.
    const draws = await page.evaluate(async () => {
      const k = window.keelEditor;
      const out = [];
      // Full quality: no interaction is going on, so every frame here is drawn at the full pixel
      // ratio with its shadow pass.
      for (let i = 0; i < 5; i++) {
        const seen = [];
        const obs = new PerformanceObserver((list) => seen.push(...list.getEntries().map((e) => e.duration)));
        obs.observe({ type: 'longtask' });
        k.drawing = true; // asks for a frame
        for (let f = 0; f < 3; f++) await new Promise((r) => requestAnimationFrame(r));
        await new Promise((r) => setTimeout(r, 50));
        obs.disconnect();
        out.push(seen.length ? Math.max(...seen) : 0);
      }
      return out;
    });
    /**
     * Selects `id`, waits until the selection's own frame is drawn and finished (its longest task
     * is reported apart), then drags it with the gizmo in 40 moves; the long tasks seen from the
     * drag's start to 200 ms after it.
     */
    const drag = async (id, drawing) => {
      await page.evaluate((on) => {
        window.keelEditor.drawing = on;
        window.__selectTasks = [];
        window.__selectObserver?.disconnect();
        window.__selectObserver = new PerformanceObserver((list) => window.__selectTasks.push(...list.getEntries().map((e) => e.duration)));
        window.__selectObserver.observe({ type: 'longtask' });
      }, drawing);
      await page.click(`[data-entity-id="${id}"]`);
      // The selection's frame (in software WebGL the GPU process may still be drawing it after
      // the page's frames have gone calm): calm frames, then a read of one pixel, which waits
      // until everything asked of WebGL is done.
      await calmFrames(page, 3, 15_000);
      await page.evaluate(async () => {
        const gl = document.querySelector('canvas.viewport-canvas').getContext('webgl2');
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
        await new Promise((r) => setTimeout(r, 100));
        window.__selectObserver.disconnect();
      });
      const selectTasks = await page.evaluate(() => window.__selectTasks);
      const draws0 = await page.evaluate(() => window.keelEditor.draws);
      await page.evaluate((on) => {
        window.keelEditor.drawing = on;
        window.__longTasks = [];
        window.__longObserver?.disconnect();
        window.__longObserver = new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => [e.startTime, e.duration])));
        window.__longObserver.observe({ type: 'longtask' });
      }, drawing);
      const at = await page.evaluate(() => window.keelEditor.gizmoHandle('X'));
      const moves = 40;
      const t0 = performance.now();
      await page.mouse.move(at.x, at.y);
      await page.mouse.down();
      for (let i = 1; i <= moves; i++) await page.mouse.move(at.x + i * 3, at.y);
      // Tasks that began before the release: the drag itself; after it, the full-quality frame.
      const upAt = await page.evaluate(() => performance.now());
      await page.mouse.up();
      const dragMs = performance.now() - t0;
      await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
      const all = await page.evaluate(() => window.__longTasks);
      const draws1 = await page.evaluate(() => window.keelEditor.draws);
      const drawnAs = ['composite', 'static', 'direct'].map((k) => `${draws1[k] - draws0[k]} ${k}`).join(', ');
      const long = all.filter(([start]) => start < upAt).map(([, d]) => d);
      const settle = all.filter(([start]) => start >= upAt).map(([, d]) => d);
      const steps = await page.evaluate(() => window.keelEditor.history.labels.at(-1));
      await page.evaluate(() => (window.keelEditor.drawing = true));
      const q = await page.evaluate(() => window.keelEditor.quality);
      return [
        `${drawing ? 'drawn (as a user sees it)' : 'not drawn (editor work alone)'}, ${id}`,
        selectTasks.length ? Math.max(...selectTasks).toFixed(0) : '< 50',
        String(moves),
        drawing ? drawnAs : '-',
        dragMs.toFixed(0),
        long.length ? Math.max(...long).toFixed(0) : '< 50',
        long.length ? median(long).toFixed(0) : '-',
        String(long.length),
        settle.length ? Math.max(...settle).toFixed(0) : '< 50',
        drawing ? `${q.lowestRatio} of ${q.fullRatio}` : '-',
        String(steps),
        long.length ? Math.max(...long) : 0,
      ];
    };
    // Three drawn drags, each of its own selection (the machine is noisy: the goal is judged on
    // their median), and one not drawn.
    const drawnDrags = [];
    for (const id of ['e-20', 'e-40', 'e-60']) drawnDrags.push(await drag(id, true));
    const longest = drawnDrags.map((r) => r.pop());
    const undrawn = await drag('e-30', false);
    undrawn.pop();
    const dragMedian = median(longest);
    const dragRows = [...drawnDrags, undrawn];
    tables.push({
      title: 'Editor: gizmo drag in the 2000-entity scene',
      columns: ['frames', 'select: longest task ms', 'mouse moves', 'frames drawn as', 'drag wall ms', 'longest main-thread task ms', 'median task > 50 ms', 'tasks > 50 ms', 'after release (full-quality frame) ms', 'lowest pixel ratio', 'undo step'],
      rows: dragRows,
      notes: [
        `goal (issue 10): longest task < 50 ms while dragging, judged on the median over the three drawn drags of each drag's longest task: ${dragMedian < 50 ? '< 50 ms, pass' : `${dragMedian.toFixed(0)} ms, MISS`}; the longest of all: ${Math.max(...longest) < 50 ? '< 50' : Math.max(...longest).toFixed(0)} ms (a PerformanceObserver sees only tasks over 50 ms). Drawn whole, one frame of the scene (full pixel ratio, nothing selected) takes, longest task per redraw: ${draws.map((d) => (d ? d.toFixed(0) : '< 50')).join(', ')} ms (headless chromium, SwiftShader)`,
        'layered drawing: with a selection and a still camera, the rest of the scene is drawn once into a kept picture (colour and depth) when the selection changes ("select" column, one frame of the whole scene); each drag frame copies the picture and draws only the selection and the gizmo ("composite"); "static" counts frames that drew the picture anew, "direct" frames drawn whole',
        'adaptive quality: while an orbit or flight lasts (the camera moves, so the whole scene is drawn), frames over 33 ms are drawn at a lower pixel ratio (down to 0.25) with the shadow map frozen; one full-quality frame follows 150 ms after it ends',
        'not drawn: the same drag with the WebGL draw switched off (window.keelEditor.drawing = false), every other part of each frame still running',
      ],
    });

    const saveRows = [];
    const saves = quick ? 5 : 15;
    for (const scene of ['arena', 'mib', 'big']) {
      progress(`saving ${scene}`);
      await open(scene);
      const times = [];
      /** @type {Record<string, number[]>} */
      const stages = {};
      for (let i = 0; i < saves; i++) {
        const first = await page.evaluate(() => window.keelEditor.doc.entities.find((e) => e.components.transform)?.id);
        await page.click(`[data-entity-id="${first}"]`);
        const idx = await page.evaluate((id) => window.keelEditor.doc.entities.findIndex((e) => e.id === id), first);
        await page.fill(`[data-pointer="/entities/${idx}/components/transform/position/0"]`, String(100 + i));
        await page.evaluate(() => document.activeElement?.blur());
        // The edit's own frame is drawn (in software, about a second for the big scene) before the
        // save starts: waited for until two animation frames in a row come within 50 ms (at most 10 s).
        await calmFrames(page, 2, 10_000);
        await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
        await page.evaluate(() => performance.clearMeasures());
        const f0 = await page.evaluate(() => window.keelEditor.framesDrawn);
        const s0 = performance.now();
        await page.keyboard.press('Control+s');
        // Polled on a timer, not per animation frame: the acknowledgement does not wait for a frame.
        // The server answers after the temp file is renamed over the scene: acknowledged = renamed.
        await page.waitForFunction(() => window.keelEditor.dirty === false, null, { timeout: 60_000, polling: 5 });
        times.push(performance.now() - s0);
        (stages.frames ??= []).push((await page.evaluate(() => window.keelEditor.framesDrawn)) - f0);
        const marks = await page.evaluate(() => performance.getEntriesByType('measure').filter((m) => m.name.startsWith('keel:save')).map((m) => [m.name, m.duration]));
        for (const [name, ms] of marks) (stages[name] ??= []).push(ms);
      }
      // The same PUT from the page with nothing of the editor around it (fetch alone), for comparison.
      const raw = await page.evaluate(async ({ scene, n }) => {
        const body = JSON.stringify(window.keelEditor.doc);
        const token = document.querySelector('meta[name="keel-token"]')?.content ?? '';
        const out = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          const res = await fetch(`/__keel/scenes/${scene}.json`, { method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': '*', 'X-Keel-Token': token }, body });
          await res.json();
          out.push(performance.now() - t0);
        }
        return out;
      }, { scene, n: saves });
      stages['raw PUT'] = raw;
      const bytes = (await readFile(join(scenesDir, `${scene}.json`))).length;
      const st = (name) => (stages[name]?.length ? median(stages[name]).toFixed(1) : '-');
      const goal = scene === 'mib' && stages['keel:save']?.length ? (median(stages['keel:save']) < 30 ? 'pass' : 'MISS') : '—';
      saveRows.push([scene, String(bytes), median(times).toFixed(0), st('keel:save'), st('keel:save:serialise'), st('keel:save:request'), st('keel:save:answer'), st('keel:save:bookkeeping'), st('raw PUT'), String(Math.max(...stages.frames)), goal]);
    }
    tables.push({
      title: `Editor: save round trip in the browser, Ctrl+S to acknowledged (file renamed) (ms, p50 of ${saves} saves)`,
      columns: ['scene', 'file bytes', 'key press to acknowledged', 'save handler', 'serialise', 'PUT to response', 'answer read', 'after-save bookkeeping', 'bare fetch PUT of the whole scene from the page', 'frames drawn during a save (most)', 'goal < 30 ms'],
      rows: saveRows,
      notes: [
        'goal (issue 10): < 30 ms p50 for a 1 MiB scene (mib, 1220 entities), judged on the save handler; big (2000 entities, 1.7 MB) for scale; the dev server alone is bench editor-core',
        'a save sends the edits since the version on disk (a few hundred bytes), which the dev server applies and writes in canonical form; the bare fetch column sends the whole scene',
        'save handler: the editor\'s save function from its start to the acknowledgement shown (performance.measure keel:save*); key press to acknowledged adds the key event reaching the page and the poll',
      ],
    });
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
  }

  progress('building the editor page');
  const out = join(dir, 'web');
  await build({ configFile: join(repo, 'vite.config.ts'), root: repo, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  const html = await readFile(join(out, 'editor', 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  let raw = 0;
  let gz = 0;
  for (const ref of refs) {
    const bytes = await readFile(join(out, ref));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  const css = (await readdir(join(out, 'assets'))).filter((f) => f.startsWith('editor') && f.endsWith('.css'));
  tables.push({
    title: 'Editor: production bundle of the page (vite build)',
    columns: ['JS files loaded', 'raw KiB', 'gzip KiB', 'CSS files'],
    rows: [[String(refs.length), (raw / 1024).toFixed(0), (gz / 1024).toFixed(0), String(css.length)]],
  });
  await rm(dir, { recursive: true, force: true });
  return tables;
}
