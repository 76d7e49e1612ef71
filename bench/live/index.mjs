/**
 * The live-link suite: how fast a saved scene edit reaches a running `keel serve`, and what edits
 * cost a loaded server.
 *
 *   - reload latency: 30 one-entity edits (a crate moved), each written atomically (temporary file
 *     renamed over the scene), on the arena and on a generated 2000-entity scene; the server's own
 *     figure (the `ms` field of its `Scene … reloaded` log line: first file event to the reload
 *     applied), the rename to the time on that line (the server goal is judged on this one), and
 *     the rename to that line arriving on the server's stdout, p50 and p95. Baseline in the same run: today's full reload (a new world, players seated again) on the
 *     same edits, forced by changing settings.tickRate with each one. A connected bot counts the
 *     welcomes it gets: each full reload seats it again, a delta never does; and the client's
 *     figures: rename to the first snapshot in which that bot (a headless protocol client,
 *     runtime/node/bot-client.ts) sees the crate at its new position, and rename to the first
 *     animation frame in which a connected client page in headless Chromium (the real client,
 *     /client/ on a Vite dev server, drawing through its interpolation buffer) has the crate at
 *     its new position in the world it draws (`window.keel.entity(id)`);
 *   - tick lateness p99 (from the server's keel_tick_lateness_seconds histogram) with 50 bots
 *     connected, with an edit every 200 ms against none.
 *
 * Goals (issue 11): delta p50 <= 50 ms and p95 <= 150 ms to the server, p50 <= 150 ms to a
 * client; lateness under edits within 1.5x of none.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { fmt } from '../lib/format.mjs';
import { freePort, waitForPort } from '../lib/net.mjs';
import { sleep, spawnTracked } from '../lib/proc.mjs';
import { histogramWindow, scrapeMetrics } from '../lib/prom.mjs';
import { percentile } from '../lib/stats.mjs';

const CHROMIUM = process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

const GOALS = { p50Ms: 50, p95Ms: 150, clientP50Ms: 150, latenessRatio: 1.5 };
const pass = (ok) => (ok === null ? '—' : ok ? 'pass' : 'MISS');
/** A histogram quantile past the last finite bucket is shown as such, not as Infinity. */
const ms = (v, lastBucketMs) => (v === Infinity ? `> ${lastBucketMs}` : fmt(v, 2));

/**
 * A scene of `n` drawn boxes (transform and mesh, no physics body: the figure is the reload's, not
 * the physics engine's) on a ground; the edits move the first.
 */
function generatedScene(n) {
  const entities = [{ id: 'ground', components: { transform: { position: [0, -0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [400, 1, 400] } } }];
  const side = Math.ceil(Math.sqrt(n));
  for (let i = 0; i < n; i++) {
    entities.push({
      id: `box-${String(i).padStart(4, '0')}`,
      components: {
        transform: { position: [(i % side) * 2 - side, 0.5, Math.floor(i / side) * 2 - side] },
        mesh: { shape: 'box', size: [1, 1, 1] },
      },
    });
  }
  entities.push({ id: 'spawn', components: { transform: { position: [0, 1, 0] }, spawnPoint: {} } });
  return { format: 'keel-scene', version: 1, name: `generated-${n}`, settings: { tickRate: 60, maxPlayers: 64 }, entities };
}

/**
 * Writes `doc` to `file` the way editors save: a temporary file renamed over it. Returns the time
 * of the rename: performance.now(), and the wall clock (epoch ms, what the server's log lines carry).
 */
function saveAtomic(file, doc) {
  const tmp = `${file}.bench-tmp`;
  writeFileSync(tmp, JSON.stringify(doc));
  const epoch = Date.now();
  const at = performance.now();
  renameSync(tmp, file);
  return { at, epoch };
}

/** Log records (JSON lines) the server printed, from a growing output buffer. */
function records(text) {
  const out = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      /* a partial line */
    }
  }
  return out;
}

async function startServer(repo, file, extraEnv = {}) {
  const port = await freePort();
  const health = await freePort();
  // Output is kept whole (the log lines are what this suite reads).
  const proc = spawnTracked(process.execPath, ['dist/keel.mjs', 'serve', file, '--assets', join(repo, 'scenes'), '--port', String(port), '--host', '127.0.0.1', '--health-port', String(health), '--log-format', 'json'], {
    cwd: repo,
    env: { ...process.env, SERVER_WATCH: 'true', ...extraEnv },
    keepOutputBytes: 64 * 1024 * 1024,
  });
  await waitForPort(port, { timeoutMs: 30_000 });
  const end = performance.now() + 20_000;
  while (!records(proc.output()).some((r) => String(r.msg).startsWith('Listening on'))) {
    if (performance.now() > end) {
      const state = await Promise.race([proc.exited.then((x) => `exited: ${JSON.stringify(x)}`), sleep(10).then(() => 'still running')]);
      await proc.stop(2000);
      throw new Error(`no Listening line from keel serve on :${port} in 20 s (${state}); its output:\n${proc.output().slice(-2000)}`);
    }
    await sleep(20);
  }
  return { proc, port, health };
}

/** Runs `edits` edits of `base` (moving `entityId`), each as a delta or a full reload; returns the latencies and the bot's welcomes. */
async function measureReloads(repo, Bot, web, name, base, entityId, mode, edits, progress) {
  const file = join(web.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(base));
  const server = await startServer(repo, file);
  const bot = new Bot({ url: `ws://127.0.0.1:${server.port}`, name: 'watcher', inputRate: 10 });
  const page = await web.browser.newPage({ viewport: { width: 320, height: 240 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const serverMs = [];
  const appliedMs = [];
  const benchMs = [];
  const clientMs = [];
  const browserMs = [];
  let errors = 0;
  let unseen = 0;
  let unseenInBrowser = 0;
  // When things arrive, timed as they do, not when the loop below gets round to looking (it
  // waits on the page now and then): reload log lines on the server's stdout, and the bot's
  // snapshots in which the crate is at the target.
  const reloadLinesAt = [];
  server.proc.child.stdout.on('data', (chunk) => {
    if (chunk.includes(' reloaded (')) reloadLinesAt.push(performance.now());
  });
  let botTarget = NaN;
  let botSeenAt = 0;
  const apply = bot.mirror.apply.bind(bot.mirror);
  bot.mirror.apply = (msg) => {
    const r = apply(msg);
    const p = bot.mirror.byId(entityId)?.position;
    if (!botSeenAt && p !== undefined && Math.abs(p[0] - botTarget) < 0.004) botSeenAt = performance.now();
    return r;
  };
  try {
    await bot.start();
    await page.goto(`http://127.0.0.1:${web.port}/client/?scene=${encodeURIComponent(name)}&server=${encodeURIComponent(`ws://127.0.0.1:${server.port}`)}`);
    await page.waitForFunction((id) => window.keel?.connected && window.keel.entity(id) !== null, entityId, { timeout: 60_000, polling: 50 });
    // Checked every animation frame in the page: the time (epoch ms) of the first frame whose drawn world has the crate at the target.
    await page.evaluate((id) => {
      const s = (window.__liveBench = { id, x: NaN, seenAt: 0 });
      const check = () => {
        if (!s.seenAt && Number.isFinite(s.x)) {
          const e = window.keel.entity(s.id);
          if (e && Math.abs(e.position[0] - s.x) < 0.004) s.seenAt = performance.timeOrigin + performance.now();
        }
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    }, entityId);
    const index = base.entities.findIndex((e) => e.id === entityId);
    for (let i = 0; i < edits; i++) {
      const doc = structuredClone(base);
      const t = doc.entities[index].components.transform;
      t.position = [t.position[0] + 0.01 * (i + 1), t.position[1], t.position[2]];
      // The baseline: a tick-rate change cannot apply live, so the server rebuilds the world.
      if (mode === 'full') doc.settings = { ...doc.settings, tickRate: i % 2 === 0 ? 59 : 60 };
      const seen = records(server.proc.output()).length;
      const linesBefore = reloadLinesAt.length;
      const x = t.position[0];
      // Snapshots carry positions at millimetre precision or better; the edits are 1 cm apart.
      botTarget = x;
      botSeenAt = 0;
      await page.evaluate((target) => Object.assign(window.__liveBench, { x: target, seenAt: 0 }), x);
      const t0 = saveAtomic(file, doc);
      const end = t0.at + 10_000;
      let hit = null;
      let drawnAt = 0;
      let lastAsked = 0;
      while ((!hit || !botSeenAt || !drawnAt) && performance.now() < end) {
        hit ??= records(server.proc.output()).slice(seen).find((r) => / reloaded \(/.test(String(r.msg))) ?? null;
        // The page keeps its own time of the frame; asking every 20 ms costs the measurement nothing.
        if (!drawnAt && performance.now() - lastAsked >= 20) {
          lastAsked = performance.now();
          const at = await page.evaluate(() => window.__liveBench.seenAt);
          if (at) drawnAt = at - performance.timeOrigin;
        }
        if (!hit || !botSeenAt || !drawnAt) await sleep(1);
      }
      if (!hit) {
        errors++;
        continue;
      }
      serverMs.push(Number(hit.ms));
      // The log line's own time (the wall clock, to the millisecond) against the rename's.
      appliedMs.push(Date.parse(hit.time) - t0.epoch);
      benchMs.push(reloadLinesAt[linesBefore] - t0.at);
      if (botSeenAt) clientMs.push(botSeenAt - t0.at);
      else unseen++;
      if (drawnAt) browserMs.push(drawnAt - t0.at);
      else unseenInBrowser++;
      if (hit.result !== mode) errors++;
      progress(`${name} ${mode}: edit ${i + 1}/${edits} applied in ${fmt(Number(hit.ms), 1)} ms`);
      await sleep(100);
    }
    await sleep(300);
    if (pageErrors.length) throw new Error(`client page errors: ${pageErrors.join('; ')}`);
    return { serverMs, appliedMs, benchMs, clientMs, browserMs, unseen, unseenInBrowser, welcomes: bot.stats.welcomes, errors, stillConnected: bot.stats.closeCode === null };
  } finally {
    await page.close();
    await bot.close();
    await server.proc.stop(5000);
    rmSync(file, { force: true });
  }
}

/** Tick lateness p99 of a server with 50 bots, with an edit every 200 ms or none. */
async function measureLateness(repo, Bot, withEdits, windowMs, progress) {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-live-'));
  const base = JSON.parse(readFileSync(join(repo, 'scenes/arena.json'), 'utf8'));
  const file = join(dir, 'arena.json');
  writeFileSync(file, JSON.stringify(base));
  const server = await startServer(repo, file);
  const bots = [];
  try {
    for (let i = 0; i < 50; i++) {
      const b = new Bot({ url: `ws://127.0.0.1:${server.port}`, name: `bot-${i + 1}`, inputRate: 20 });
      bots.push(b);
      await b.start();
    }
    await sleep(1000);
    const before = await scrapeMetrics(server.health);
    const t0 = performance.now();
    let n = 0;
    const index = base.entities.findIndex((e) => e.id === 'crate-01');
    while (performance.now() - t0 < windowMs) {
      if (withEdits) {
        const doc = structuredClone(base);
        const t = doc.entities[index].components.transform;
        t.position = [t.position[0] + 0.01 * (++n % 50), t.position[1], t.position[2]];
        saveAtomic(file, doc);
      }
      await sleep(200);
    }
    // Past the half-second /metrics snapshot, so the window's last ticks are in it.
    await sleep(600);
    const after = await scrapeMetrics(server.health);
    const w = histogramWindow(before, after, 'keel_tick_lateness_seconds');
    const reloads = records(server.proc.output()).filter((r) => / reloaded \(/.test(String(r.msg))).length;
    progress(`lateness ${withEdits ? 'with edits' : 'no edits'}: p99 ${w?.p99 ?? NaN} ms over ${w?.n ?? 0} ticks, ${reloads} reloads`);
    const last = Math.max(...after.filter((x) => x.name === 'keel_tick_lateness_seconds_bucket' && x.labels.le !== '+Inf').map((x) => Number(x.labels.le) * 1000));
    return { p99: w?.p99 ?? NaN, last, ticks: w?.n ?? 0, reloads, connected: bots.filter((b) => b.stats.closeCode === null).length };
  } finally {
    await Promise.all(bots.map((b) => b.close()));
    await server.proc.stop(5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts) {
  const { quick, repo, progress } = opts;
  const edits = 30;
  const windowMs = quick ? 5000 : 15_000;
  const { Bot } = await import(pathToFileURL(join(repo, 'dist/runtime/node/bot-client.js')).href);
  const arena = JSON.parse(readFileSync(join(repo, 'scenes/arena.json'), 'utf8'));
  const big = generatedScene(2000);
  const cases = [
    ['arena', arena, 'crate-01'],
    ['generated 2000', big, 'box-0000'],
  ];
  const rows = [];
  const notes = [];
  // The client pages load their scene and assets from a copy of scenes/ (less the large
  // heightfield), which is where the edited scene files go too.
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-live-'));
  cpSync(join(repo, 'scenes'), dir, { recursive: true, filter: (src) => !src.endsWith('.khf') });
  const webPort = await freePort();
  // The config reads its scenes folder from the environment; put it back for suites after this one.
  const scenesDirBefore = process.env.KEEL_SCENES_DIR;
  process.env.KEEL_SCENES_DIR = dir;
  const { createServer } = await import('vite');
  const { chromium } = await import('playwright-core');
  progress(`starting the dev server on :${webPort} and headless Chromium`);
  const vite = await createServer({ configFile: join(repo, 'vite.config.ts'), logLevel: 'warn', server: { port: webPort, host: '127.0.0.1', strictPort: true } });
  await vite.listen();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const web = { dir, port: webPort, browser };
  try {
    for (const [name, doc, id] of cases) {
      for (const mode of ['delta', 'full']) {
        const r = await measureReloads(repo, Bot, web, name.replace(/\s/g, '-'), doc, id, mode, edits, progress);
        // The server goal is judged from the rename, on the server's own log time.
        const p50 = percentile(r.appliedMs, 50);
        const p95 = percentile(r.appliedMs, 95);
        rows.push([
          name,
          mode === 'delta' ? 'delta' : 'full (baseline)',
          `${r.serverMs.length}/${edits}`,
          fmt(percentile(r.serverMs, 50), 1),
          fmt(percentile(r.serverMs, 95), 1),
          fmt(p50, 0),
          fmt(p95, 0),
          fmt(percentile(r.benchMs, 50), 1),
          fmt(percentile(r.clientMs, 50), 1),
          fmt(percentile(r.clientMs, 95), 1),
          fmt(percentile(r.browserMs, 50), 1),
          fmt(percentile(r.browserMs, 95), 1),
          String(r.welcomes - 1),
          mode === 'delta' ? pass(r.serverMs.length === edits ? p50 <= GOALS.p50Ms && p95 <= GOALS.p95Ms : null) : '—',
          mode === 'delta' ? pass(r.browserMs.length === edits ? percentile(r.browserMs, 50) <= GOALS.clientP50Ms : null) : '—',
        ]);
        if (mode === 'delta' && r.appliedMs.length) notes.push(`${name} delta: the first edit after the server started, rename→applied ${fmt(r.appliedMs[0], 0)} ms (the ${edits} edits' p50 ${fmt(p50, 0)} ms)`);
        if (r.unseen > 0) notes.push(`${name} ${mode}: the bot did not see ${r.unseen} edits within 10 s`);
        if (r.unseenInBrowser > 0) notes.push(`${name} ${mode}: the client page did not draw ${r.unseenInBrowser} edits within 10 s`);
        if (r.errors > 0) notes.push(`${name} ${mode}: ${r.errors} edits not applied as ${mode} within 10 s`);
        if (!r.stillConnected) notes.push(`${name} ${mode}: the bot was disconnected`);
      }
    }
  } finally {
    await browser.close();
    await vite.close();
    if (scenesDirBefore === undefined) delete process.env.KEEL_SCENES_DIR;
    else process.env.KEEL_SCENES_DIR = scenesDirBefore;
    rmSync(dir, { recursive: true, force: true });
  }
  const none = await measureLateness(repo, Bot, false, windowMs, progress);
  const withEdits = await measureLateness(repo, Bot, true, windowMs, progress);
  const latenessRows = [
    ['50 bots, no edits', ms(none.p99, none.last), String(none.ticks), String(none.reloads), `${none.connected}/50`, 'baseline'],
    ['50 bots, an edit every 200 ms', ms(withEdits.p99, withEdits.last), String(withEdits.ticks), String(withEdits.reloads), `${withEdits.connected}/50`, pass(Number.isFinite(withEdits.p99) && Number.isFinite(none.p99) ? withEdits.p99 <= GOALS.latenessRatio * Math.max(none.p99, 1) : null)],
  ];
  return [
    {
      title: `Scene edit to the running server: ${edits} one-entity edits, atomic saves (ms)`,
      columns: ['scene', 'reload', 'applied', 'event→applied p50', 'event→applied p95', 'rename→applied p50', 'rename→applied p95', 'rename→log p50', 'rename→bot p50', 'rename→bot p95', 'rename→page p50', 'rename→page p95', 'bot re-seated', `server goal p50≤${GOALS.p50Ms}, p95≤${GOALS.p95Ms}`, `client goal p50≤${GOALS.clientP50Ms}`],
      rows,
      notes: [
        'event→applied: the `ms` field of the server\'s reload log line, from the first file event its watcher saw to the reload applied to the running world',
        'rename→applied: from the rename to the time on that log line (the wall clock, to the millisecond); the server goal is judged on this one',
        'rename→log: from the rename to that line arriving on the server\'s stdout',
        'rename→bot: from the rename to the first snapshot in which a connected headless protocol client (the bot) has the crate at its new position',
        'rename→page: from the rename to the first animation frame in which the client page (headless Chromium, /client/, 100 ms interpolation buffer) draws the crate at its new position; the client goal is judged on this one',
        'bot re-seated: welcomes a connected bot got after its first (a full reload seats every player again)',
        ...notes,
      ],
    },
    {
      title: 'Tick lateness p99 under 50 bots, with and without edits',
      columns: ['load', 'lateness p99 ms', 'ticks', 'reloads', 'bots connected', `goal ≤${GOALS.latenessRatio}× (of max(none, 1 ms))`],
      rows: latenessRows,
    },
  ];
}
