/**
 * The client benchmark (`npm run bench -- --only client`), in headless Chromium (software
 * WebGL) against a Vite dev server and, for prediction, a real `keel serve`:
 *
 *   1. Snapshot apply + interpolation + transform upload for 1000 replicated entities moving
 *      every tick (20 Hz snapshots, 60 Hz frames): main-thread ms per frame around the client's
 *      own update (ConnectedPlay.frame + WorldView.sync), median and p99, and the render call
 *      apart; beside the same work drawn naively (one Mesh and material per entity). Goal: the
 *      update ≤ 1 ms median.
 *   2. Draw calls for the arena + 200 moving bodies (renderer.info.render.calls, shadow pass
 *      included), beside one draw per mesh (two with shadows). Goal ≤ 20.
 *   3. Production bundle of the client entry (`vite build`): gzip bytes of its JavaScript,
 *      three.js included. Goal ≤ 250 KB.
 *   4. Prediction: the own player runs straight, back and forth along x from its spawn point,
 *      through a socket that adds 50 ms each way (100 ms round trip) to the real server; the
 *      position error found at each reconciliation, p50 / p99 / max, beside the error a client
 *      without prediction shows at the same moments (measured in the same run). Goal p99 ≤ 5 cm.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnTracked, stopProcess } from '../lib/proc.mjs';
import { freePort, waitForPort } from '../lib/net.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { fmt } from '../lib/format.mjs';

const CHROMIUM = process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

export async function run({ quick, progress, repo }) {
  const { createServer, build } = await import('vite');
  const { chromium } = await import('playwright-core');
  const tables = [];

  progress('bundle: vite build of the client entry');
  const out = mkdtempSync(join(tmpdir(), 'keel-bench-web-'));
  let bundle;
  try {
    await build({
      configFile: join(repo, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: out, emptyOutDir: true, rollupOptions: { input: { client: join(repo, 'client/index.html') } } },
    });
    // The config's other pages are built too (Vite merges `input`): count what the client page
    // loads, its scripts and module preloads, and nothing of the editor's.
    const html = readFileSync(join(out, 'client', 'index.html'), 'utf8');
    const js = [...html.matchAll(/(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
    if (js.length === 0) throw new Error(`no scripts found in the built client page:\n${html}`);
    const raw = js.reduce((n, f) => n + readFileSync(join(out, f)).length, 0);
    const gz = js.reduce((n, f) => n + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
    bundle = { files: js.length, raw, gz };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }

  const gamePort = await freePort();
  const webPort = await freePort();
  progress(`starting keel serve on :${gamePort} and the dev server on :${webPort}`);
  const server = spawnTracked(process.execPath, [join(repo, 'dist/keel.mjs'), 'serve', 'scenes/arena.json', '--port', String(gamePort), '--host', '127.0.0.1', '--no-watch', '--log-format', 'json'], {
    cwd: repo,
    env: { ...process.env, SERVER_HEALTH_PORT: '0' },
  });
  const vite = await createServer({ configFile: join(repo, 'vite.config.ts'), logLevel: 'warn', server: { port: webPort, host: '127.0.0.1', strictPort: true } });
  await vite.listen();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    await waitForPort(gamePort, { timeoutMs: 20_000, intervalMs: 50 });
    const page = await browser.newPage({ viewport: { width: 320, height: 240 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The dev server may reload the page once after pre-bundling what it found: settle first.
    await page.goto(`http://127.0.0.1:${webPort}/bench/client/bench.html`);
    await page.waitForFunction(() => 'keelBench' in window, null, { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 3000));
    await page.waitForFunction(() => 'keelBench' in window, null, { timeout: 60_000 });

    const frames = quick ? 120 : 400;
    progress(`apply + interpolate + upload: 1000 entities, ${frames} frames each way`);
    const a = await page.evaluate((f) => window.keelBench.applyAndDraw(1000, f), frames);
    const row = (name, s, calls) => [name, fmt(median(s.update), 3), fmt(percentile(s.update, 99), 3), `${fmt(median(s.applying), 3)} (${s.applying.length} of ${s.update.length})`, fmt(median(s.render), 2), String(calls)];
    tables.push({
      title: `Client: snapshot apply + interpolation + transform upload, ${a.entities} replicated entities (headless Chromium, software WebGL, 64×64 canvas)`,
      columns: ['client', 'update ms p50', 'update ms p99', 'frames applying a snapshot: update ms p50', 'render ms p50', 'draw calls'],
      rows: [row('keel (instanced WorldView)', a.sample.instanced, a.calls.instanced), row('naive (one Mesh per entity)', a.sample.naive, a.calls.naive)],
      notes: [
        'update = ConnectedPlay.frame (the snapshots received since the last frame applied, interpolation 100 ms behind, poses into the world) + the view\'s pose copy, measured with performance.now() in the page; goal ≤ 1 ms median',
        'one step per animation frame on a 60 Hz clock of the bench\'s own (one server tick per frame, a snapshot every third: a 60 Hz display with the default 20 Hz send rate), so the figures do not depend on how fast headless Chromium turns frames; the column before render is the median of the frames that applied a snapshot',
        'render = renderer.render, where instance buffers and per-mesh uniforms go to the GPU (SwiftShader on the CPU here)',
      ],
    });

    progress('draw calls: arena + 200 bodies');
    const d = await page.evaluate(() => window.keelBench.drawCalls(200));
    tables.push({
      title: 'Client: draw calls, arena + 200 moving bodies',
      columns: ['client', 'entities', 'meshes', 'draw calls'],
      rows: [
        ['keel (instanced WorldView)', String(d.entities), String(d.meshes), String(d.calls)],
        ['one Mesh per entity (computed)', String(d.entities), String(d.meshes), String(d.naiveCalls)],
      ],
      notes: ['renderer.info.render.calls for one frame, the directional light\'s shadow pass included; goal ≤ 20'],
    });

    const seconds = quick ? 6 : 15;
    const leg = 2.5;
    progress(`prediction: straight runs (${leg} s legs, back and forth) for ${seconds} s with 100 ms added round trip`);
    const p = await page.evaluate(([url, s, l]) => window.keelBench.prediction(url, 50, s, l), [`ws://127.0.0.1:${gamePort}`, seconds, leg]);
    const cm = (xs) => xs.map((e) => e * 100);
    // Straight running: inputs applied at least half a second (30 ticks) after the last change
    // of direction; the turns themselves are reported beside them.
    const SETTLE = 30;
    const straight = p.log.filter((r) => r.sinceTurn !== null && r.sinceTurn >= SETTLE);
    const errs = cm(straight.map((r) => r.error));
    const all = cm(p.log.map((r) => r.error));
    const lags = cm(straight.map((r) => r.lag));
    const rtt = p.pingMs ?? 100;
    const GOAL_CM = 5;
    const p99 = percentile(errs, 99);
    const predRow = (name, xs, goal) => [name, String(xs.length), fmt(median(xs), 2), fmt(percentile(xs, 99), 2), fmt(Math.max(0, ...xs), 2), goal, fmt(rtt, 0)];
    tables.push({
      title: `Client: own-player prediction, straight run, 50 ms added each way (${seconds} s, ${leg} s legs)`,
      columns: ['client', 'reconciliations', 'error cm p50', 'error cm p99', 'error cm max', 'goal cm p99', 'ping ms'],
      rows: [
        predRow('keel (prediction + replay), straight legs', errs, `≤ ${GOAL_CM}`),
        predRow('no prediction (server position drawn), straight legs', lags, '-'),
        predRow('keel, whole run (turns included)', all, '-'),
      ],
      notes: [
        `error = |prediction after input n - server position after input n|, compared when the snapshot acknowledging n arrives (the same tick on both sides); straight legs = inputs ${SETTLE} ticks or more after the last change of direction; p99 ${fmt(p99, 2)} cm: goal ${p99 <= GOAL_CM ? 'met' : 'NOT met'}`,
        'no prediction = at the same reconciliations, the distance from the server\'s position to the newest prediction: how far a client drawing the server\'s state would show the player from where its inputs put it',
        'whole run: every reconciliation from the first key press on, turns included',
        `straight runs along x from the spawn point (-15, 15) towards x = 0 and back, clear of the crates and the moving platform; it ended ${p.ran === null ? '?' : fmt(p.ran, 1)} m from its start`,
      ],
    });
    tables.push({
      title: 'Client: production bundle (vite build, client entry, three.js included)',
      columns: ['entry', 'JS files', 'raw KB', 'gzip KB'],
      rows: [['client', String(bundle.files), fmt(bundle.raw / 1024, 1), fmt(bundle.gz / 1024, 1)]],
      notes: ['gzip level 9 of every JavaScript file the built client page loads (its scripts and module preloads; the editor page is built beside it and not counted); goal ≤ 250 KB'],
    });
    if (errors.length) throw new Error(`bench page errors: ${errors.join('; ')}`);
  } finally {
    await browser.close();
    await vite.close();
    await stopProcess(server);
  }
  return tables;
}
