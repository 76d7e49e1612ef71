/**
 * The headless-server suite: keel's `serve` on the demo scenes against two baselines measured
 * in the same run, a bare Node 60 Hz sleep loop (bare-loop.mjs) and a bare `ws` server
 * (bare-ws.mjs).
 *
 *   - idle CPU (% of one core, all threads, from /proc) and RSS after a settle, median of runs;
 *   - achieved tick rate and tick-start lateness, measured inside the server: tick numbers and
 *     times from /livez (answered by the health thread, so polling it costs the loop nothing),
 *     the lateness histogram from /metrics, both read at the start and end of the window;
 *   - what scrapes cost the loop: lateness with 200 concurrent /metrics scrapes a second against
 *     control windows with as many /livez probes, interleaved;
 *   - time from spawn to the game port accepting a TCP connection, median of repeats;
 *   - physics step time for 100 to 5000 dynamic boxes on each engine, cannon-es and Rapier
 *     (physics.mjs, one child process each), and a ramp to the most awake boxes each engine
 *     steps within a 60 Hz tick.
 *
 * Each figure is shown with its ratio to the baseline and the goal, pass or MISS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect } from 'node:net';
import { fmt, ratio } from '../lib/format.mjs';
import { freePort, HOST, httpGet, keepAliveAgent, waitForPort } from '../lib/net.mjs';
import { cpuPercent, cpuSample, rssKiB, sleep, spawnTracked, threadCount } from '../lib/proc.mjs';
import { counterDelta, histogramWindow, parseProm } from '../lib/prom.mjs';
import { histogramMaxBound, histogramQuantile, median, percentile } from '../lib/stats.mjs';

const HEALTH_OFFSET = 1000; // keel's default health port is the game port + 1000
const TARGET_HZ = 60;

/** Goals from the issue. */
const GOALS = { cpuRatio: 1.5, rssRatio: 1.3, rateErrPct: 0.1, p99LateMs: 1, arenaStartMs: 150, scrapeP99Ms: 1 };

/**
 * terrainSettleMs: the terrain scene's boxes and balls roll down the heightfield for about 25 s of
 * simulated time before they sleep; its idle figures are taken after that (not with --quick).
 */
const settings = (quick) =>
  quick
    ? { settleMs: 1000, terrainSettleMs: 1000, cpuWindowMs: 3000, cpuRuns: 1, tickWindowMs: 5000, startReps: 3, scrapes: { rounds: 3, windowMs: 2000, concurrency: 200 }, physics: { awakeSteps: 120, asleepSteps: 60, settleSteps: 1800, maxMs: 10_000, sizes: [100, 500, 1000, 2000, 5000], rampMs: 20_000 } }
    : { settleMs: 2000, terrainSettleMs: 30_000, cpuWindowMs: 10_000, cpuRuns: 3, tickWindowMs: 30_000, startReps: 7, scrapes: { rounds: 7, windowMs: 2000, concurrency: 200 }, physics: { awakeSteps: 120, asleepSteps: 300, settleSteps: 3600, maxMs: 40_000, sizes: [100, 500, 1000, 2000, 5000], rampMs: 90_000 } };

/**
 * The processes compared. `port` says whether it listens (and so has a start time).
 * @typedef {{ key: string, label: string, kind: 'baseline' | 'keel', args: (port: number) => string[], env?: Record<string, string>, port: boolean, health: boolean, scene?: string }} Subject
 */
/** @param {string} scene @param {boolean} health @param {string} [physics] engine; the scene's when absent @returns {Subject} */
const keel = (scene, health, physics) => ({
  key: `keel-${scene}${health ? '' : '-nohealth'}${physics ? `-${physics}` : ''}`,
  label: `keel ${scene}${health ? '' : ', SERVER_HEALTH_PORT=0'}${physics ? `, ${physics} physics` : ''}`,
  kind: 'keel',
  scene,
  health,
  port: true,
  // --host: loopback only; json logs: what a server writes in production (no colour, no terminal).
  args: (port) => ['dist/keel.mjs', 'serve', `scenes/${scene}.json`, '--port', String(port), '--host', '127.0.0.1', '--log-format', 'json'],
  env: { ...(health ? {} : { SERVER_HEALTH_PORT: '0' }), ...(physics ? { SERVER_PHYSICS: physics } : {}) },
});
/** @type {Subject} */
const BARE_LOOP = { key: 'bare-loop', label: 'bare Node 60 Hz sleep loop', kind: 'baseline', port: false, health: false, args: () => ['bench/server/bare-loop.mjs', '--max-s', '900'] };
/** @type {Subject} */
const BARE_WS = { key: 'bare-ws', label: 'bare ws server', kind: 'baseline', port: true, health: false, args: (port) => ['bench/server/bare-ws.mjs', '--port', String(port), '--host', '127.0.0.1'] };

/**
 * Starts a subject on a free port (game port and, for keel, its default health port), waits
 * until it accepts connections. Retries on another port if the process exits while starting
 * (another program may have taken the port in between).
 * @param {Subject} s @param {string} repo
 */
async function launch(s, repo) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort({ offsets: s.kind === 'keel' ? [0, HEALTH_OFFSET] : [0] });
    const h = spawnTracked(process.execPath, s.args(port), { cwd: repo, env: { ...process.env, ...s.env } });
    try {
      const startMs = s.port ? await waitForPort(port, { since: h.startedAt, exited: h.exited, timeoutMs: 15_000 }) : null;
      return { h, port, healthPort: s.health ? port + HEALTH_OFFSET : null, startMs };
    } catch (err) {
      await h.stop(1000);
      lastErr = new Error(`${s.label}: ${err.message}\n${h.output().slice(-2000)}`);
    }
  }
  throw lastErr;
}

/** @param {AbortSignal | undefined} signal */
const checkAbort = (signal) => {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
};

// ---------------------------------------------------------------------------------------------
// Idle CPU and RSS

/** @param {Subject[]} subjects @param {ReturnType<typeof settings>} cfg @param {{ repo: string, progress: (m: string) => void, signal?: AbortSignal }} ctx */
async function measureIdle(subjects, cfg, ctx) {
  /** @type {Record<string, { cpu: number[], cpuTicks: number[], rss: number[], threads: number[], errors: string[] }>} */
  const out = Object.fromEntries(subjects.map((s) => [s.key, { cpu: [], cpuTicks: [], rss: [], threads: [], errors: [] }]));
  let source = 'schedstat';
  for (let run = 0; run < cfg.cpuRuns; run++) {
    // Rounds interleave the subjects (rotated each round) so slow drifts in machine load hit all alike.
    const order = subjects.map((_, i) => subjects[(i + run) % subjects.length]);
    for (const s of order) {
      checkAbort(ctx.signal);
      ctx.progress(`idle CPU/RSS, run ${run + 1}/${cfg.cpuRuns}: ${s.label}`);
      let l;
      try {
        l = await launch(s, ctx.repo);
        await sleep(s.scene === 'terrain' ? cfg.terrainSettleMs : cfg.settleMs);
        const rss = rssKiB(l.h.pid);
        const a = cpuSample(l.h.pid);
        await sleep(cfg.cpuWindowMs);
        const b = cpuSample(l.h.pid);
        if (l.h.exitInfo) throw new Error(`${s.label} exited during the window: ${l.h.output().slice(-500)}`);
        const c = cpuPercent(a, b);
        source = c.source;
        out[s.key].cpu.push(c.pct);
        out[s.key].cpuTicks.push(c.pctTicks);
        if (rss !== null) out[s.key].rss.push(rss / 1024);
        out[s.key].threads.push(threadCount(l.h.pid) ?? NaN);
      } catch (err) {
        out[s.key].errors.push(String(err.message ?? err).split('\n')[0]);
      } finally {
        await l?.h.stop();
      }
    }
  }
  return { out, source };
}

// ---------------------------------------------------------------------------------------------
// Tick rate and lateness


/** Cumulative buckets of a histogram, sorted by le. */
const buckets = (samples, name) =>
  samples
    .filter((x) => x.name === `${name}_bucket`)
    .map((x) => ({ le: x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), count: x.value }))
    .sort((a, b) => a.le - b.le);

const value = (samples, name) => samples.find((x) => x.name === name)?.value;

/**
 * Where the loop's schedule stands: the moments `count` successive ticks complete, as closely as
 * the health thread can say. Polls /livez (over one kept-alive connection) until its tick number
 * changes, and takes the time of that answer less the age of the tick it reports (whole ms),
 * kept within the interval the change must lie in. Each edge gives a phase, time − tick · step;
 * the median phase over the edges is robust to one tick that ended late.
 * @param {number} healthPort @param {number} count
 */
async function tickPhase(healthPort, count) {
  const step = 1000 / TARGET_HZ;
  const agent = keepAliveAgent();
  try {
    const edges = [];
    let last = JSON.parse((await httpGet(healthPort, '/livez', 2000, agent)).body).tick;
    let prevStart = performance.now();
    for (let i = 0; i < 200 * count && edges.length < count; i++) {
      const r = await httpGet(healthPort, '/livez', 2000, agent);
      const body = JSON.parse(r.body);
      if (body.tick !== last) {
        // The tick ended after the previous answer was asked for and before this one came back.
        const estimate = (r.startedAt + r.endedAt) / 2 - (body.lastTickAgeMs ?? 0);
        const at = Math.min(r.endedAt, Math.max(prevStart, estimate));
        edges.push({ tick: body.tick, at, rtt: r.endedAt - r.startedAt });
        last = body.tick;
      }
      prevStart = r.startedAt;
    }
    if (edges.length < count) throw new Error('the tick number on /livez did not change');
    const phases = edges.map((e) => e.at - e.tick * step);
    const phase = median(phases);
    return {
      tick: edges[0].tick,
      at: edges[0].tick * step + phase,
      // Spread of the phases (median absolute deviation) plus the rounding of the age.
      uncertaintyMs: median(phases.map((p) => Math.abs(p - phase))) + 0.5,
    };
  } finally {
    agent.destroy();
  }
}

/** @param {Subject} s @param {ReturnType<typeof settings>} cfg @param {{ repo: string, progress: (m: string) => void, signal?: AbortSignal }} ctx */
async function measureTicks(s, cfg, ctx) {
  ctx.progress(`tick rate and lateness over ${cfg.tickWindowMs / 1000} s: ${s.label}`);
  const l = await launch(s, ctx.repo);
  try {
    await sleep(cfg.settleMs);
    const a = await tickPhase(l.healthPort, 7);
    const ma = parseProm((await httpGet(l.healthPort, '/metrics')).body);
    const cpuA = cpuSample(l.h.pid);
    const until = a.at + cfg.tickWindowMs;
    while (performance.now() < until - 50) {
      checkAbort(ctx.signal);
      const left = until - performance.now();
      ctx.progress(`tick rate and lateness: ${s.label}, ${Math.ceil(left / 1000)} s left`);
      await sleep(Math.min(1000, left - 40));
    }
    const mb = parseProm((await httpGet(l.healthPort, '/metrics')).body);
    const cpuB = cpuSample(l.h.pid);
    const b = await tickPhase(l.healthPort, 7);
    const ticks = (b.tick - a.tick + 2 ** 31) % 2 ** 31;
    const seconds = (b.at - a.at) / 1000;
    const hz = ticks / seconds;
    // Lateness from the histogram's counts in the window.
    const name = 'keel_tick_lateness_seconds';
    const ba = buckets(ma, name);
    const bb = buckets(mb, name);
    let late = null;
    if (bb.length && bb.length === ba.length) {
      const d = bb.map((x, i) => ({ le: x.le, count: x.count - ba[i].count }));
      const over1ms = d[d.length - 1].count - (d.find((x) => x.le >= 0.001)?.count ?? 0);
      late = {
        n: d[d.length - 1].count,
        p50: histogramQuantile(d, 0.5) * 1000,
        p99: histogramQuantile(d, 0.99) * 1000,
        maxBound: histogramMaxBound(d) * 1000,
        over1ms,
        source: 'histogram',
      };
    } else {
      // Without the histogram: the p99 gauge over the loop's last minute (includes the settle).
      const g = value(mb, 'keel_tick_lateness_p99_seconds');
      late = { n: null, p50: null, p99: g !== undefined ? g * 1000 : null, maxBound: null, over1ms: null, source: 'p99 gauge, last minute' };
    }
    const delta = (metric) => {
      const x = value(mb, metric);
      const y = value(ma, metric);
      return x !== undefined && y !== undefined ? x - y : null;
    };
    return {
      ticks,
      seconds,
      hz,
      rateErrPct: (hz / TARGET_HZ - 1) * 100,
      edgeUncertaintyMs: Math.max(a.uncertaintyMs, b.uncertaintyMs),
      late,
      overruns: delta('keel_tick_overruns_total'),
      dropped: delta('keel_ticks_dropped_total'),
      cpuPct: cpuPercent(cpuA, cpuB).pct,
    };
  } finally {
    await l.h.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// What scrapes cost the loop

/**
 * GET over a raw socket, the answer kept as bytes: the scraper's own work per request stays
 * small, so on a small machine it steals as little CPU from the server as it can.
 * @param {number} port @param {string} path @returns {Promise<Buffer | null>}
 */
function rawGet(port, path, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = connect(port, HOST, () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(chunks.length ? Buffer.concat(chunks) : null);
    });
  });
}

/**
 * Tick lateness with `concurrency` concurrent scrapes of /metrics once a second, against control
 * windows carrying as many /livez probes (answered by the health thread alone), interleaved in
 * the same process so the machine's background noise lands on both. Each window is read from a
 * /metrics render of its own (past the shared snapshot's life), so windows do not overlap.
 * @param {ReturnType<typeof settings>} cfg @param {{ repo: string, progress: (m: string) => void, signal?: AbortSignal }} ctx
 */
async function measureScrapes(cfg, ctx) {
  const { rounds, windowMs, concurrency } = cfg.scrapes;
  const { METRICS_REFRESH_MS } = await import(pathToFileURL(join(ctx.repo, 'dist', 'runtime', 'node', 'health', 'health-endpoint.js')).href);
  const l = await launch(keel('arena', true), ctx.repo);
  const OK = Buffer.from('HTTP/1.1 200 ');
  const fresh = async () => {
    await sleep(METRICS_REFRESH_MS + 100);
    return parseProm((await httpGet(l.healthPort, '/metrics', 5000)).body);
  };
  /** One burst of `concurrency` GETs per second of the window; how many were not answered in full. */
  const bursts = async (path, needle) => {
    let failed = 0;
    for (let i = 0; i < windowMs / 1000; i++) {
      const t = performance.now();
      const answers = await Promise.all(Array.from({ length: concurrency }, () => rawGet(l.healthPort, path)));
      failed += answers.filter((r) => !r || r.indexOf(OK) !== 0 || r.indexOf(needle) < 0).length;
      await sleep(Math.max(0, 1000 - (performance.now() - t)));
    }
    return failed;
  };
  const out = { control: [], loaded: [], failed: 0, requests: 0, renders: [] };
  try {
    await sleep(cfg.settleMs);
    let a = await fresh();
    for (let round = 0; round < rounds; round++) {
      checkAbort(ctx.signal);
      ctx.progress(`scrape cost, round ${round + 1}/${rounds}`);
      out.failed += await bursts('/livez', '"state":"ready"');
      let b = await fresh();
      out.control.push(histogramWindow(a, b, 'keel_tick_lateness_seconds'));
      a = b;
      const t = performance.now();
      out.failed += await bursts('/metrics', 'keel_ticks_total');
      b = await fresh();
      out.loaded.push(histogramWindow(a, b, 'keel_tick_lateness_seconds'));
      // Renders on the game thread for the window's scrapes, less the closing read's own.
      out.renders.push({ n: (counterDelta(a, b, 'keel_metrics_renders_total') ?? NaN) - 1, allowed: Math.ceil((performance.now() - t) / METRICS_REFRESH_MS) + 1 });
      out.requests += 2 * concurrency * (windowMs / 1000);
      a = b;
    }
    return out;
  } finally {
    await l.h.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Start to accepting

/** @param {Subject[]} subjects @param {ReturnType<typeof settings>} cfg @param {{ repo: string, progress: (m: string) => void, signal?: AbortSignal }} ctx */
async function measureStart(subjects, cfg, ctx) {
  /** @type {Record<string, { ms: number[], errors: string[] }>} */
  const out = Object.fromEntries(subjects.map((s) => [s.key, { ms: [], readyMs: [], welcomeMs: [], errors: [] }]));
  const { Bot } = await import(pathToFileURL(join(ctx.repo, 'dist', 'runtime', 'node', 'bot-client.js')).href);
  for (let rep = 0; rep < cfg.startReps; rep++) {
    for (const s of subjects) {
      checkAbort(ctx.signal);
      ctx.progress(`start to accepting, ${rep + 1}/${cfg.startReps}: ${s.label}`);
      try {
        const l = await launch(s, ctx.repo);
        out[s.key].ms.push(l.startMs);
        if (s.kind === 'keel') {
          // From the same spawn time: /readyz 200 (polled every 2 ms), and a joining client's
          // welcome (a client that connects the moment the port accepts).
          const bot = new Bot({ url: `ws://127.0.0.1:${l.port}`, name: 'start-probe', inputRate: 1 });
          const welcome = bot.start().then(() => (bot.stats.joined ? performance.now() - l.h.startedAt : null));
          if (l.healthPort) {
            const end = performance.now() + 15_000;
            for (let i = 0; i < 7500 && performance.now() < end; i++) {
              const r = await httpGet(l.healthPort, '/readyz', 1000).catch(() => null);
              if (r?.status === 200) {
                out[s.key].readyMs.push(performance.now() - l.h.startedAt);
                break;
              }
              await sleep(2);
            }
          }
          const w = await Promise.race([welcome, sleep(15_000).then(() => null)]);
          if (w !== null) out[s.key].welcomeMs.push(w);
          await bot.close();
        }
        await l.h.stop();
      } catch (err) {
        out[s.key].errors.push(String(err.message ?? err).split('\n')[0]);
      }
      await sleep(100); // let the previous process's exit settle
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Physics

/** @param {number | 'ramp'} n @param {string} backend @param {ReturnType<typeof settings>} cfg @param {{ repo: string, progress: (m: string) => void, signal?: AbortSignal }} ctx */
async function measurePhysics(n, backend, cfg, ctx) {
  checkAbort(ctx.signal);
  ctx.progress(n === 'ramp' ? `physics ramp, ${backend}` : `physics step, ${n} dynamic bodies, ${backend}`);
  const p = cfg.physics;
  const maxMs = n === 'ramp' ? p.rampMs : p.maxMs;
  const args =
    n === 'ramp'
      ? ['--ramp']
      : ['--bodies', String(n), '--awake-steps', String(p.awakeSteps), '--asleep-steps', String(p.asleepSteps), '--settle-steps', String(p.settleSteps)];
  const h = spawnTracked(process.execPath, ['bench/server/physics.mjs', '--repo', ctx.repo, '--backend', backend, ...args, '--max-ms', String(maxMs)], {
    cwd: ctx.repo,
    keepOutputBytes: 4 << 20,
  });
  // One step of a big cannon pile can take seconds on a busy machine: the bound is checked between steps.
  const timer = setTimeout(() => void h.stop(1000), maxMs + 60_000);
  const exit = await h.exited;
  clearTimeout(timer);
  const line = h.output().split('\n').find((x) => x.startsWith('{'));
  if (exit.code !== 0 || !line) throw new Error(`physics bench for ${n} bodies failed (exit ${exit.code ?? exit.signal}): ${h.output().slice(-1000)}`);
  return JSON.parse(line);
}

// ---------------------------------------------------------------------------------------------

/** Lateness in ms for the table; beyond the histogram's last finite bucket (33 ms) shows as >33. */
const lateMs = (ms) => (ms === null || ms === undefined ? '—' : Number.isFinite(ms) ? fmt(ms, 3) : '>33');

const pass = (ok) => (ok === null || ok === undefined ? '—' : ok ? 'pass' : 'MISS');

/** @param {{ quick: boolean, progress: (msg: string) => void, repo: string, signal?: AbortSignal }} opts */
export async function run(opts) {
  const { quick, repo } = opts;
  const cfg = settings(quick);
  const ctx = { repo, progress: opts.progress, signal: opts.signal };
  if (!existsSync(join(repo, 'dist/keel.mjs'))) throw new Error('dist/keel.mjs is missing: run npm run build (npm run bench does)');
  const loadStart = loadavg();
  const tables = [];

  const keelSubjects = [keel('arena', true), keel('arena', true, 'rapier'), keel('arena', false), keel('terrain', true), keel('terrain', true, 'rapier'), keel('terrain', false)];

  // 1. Idle CPU and RSS.
  const idle = await measureIdle([BARE_LOOP, BARE_WS, ...keelSubjects], cfg, ctx);
  const med = (key, field) => median(idle.out[key][field]);
  const baseCpu = med('bare-loop', 'cpu');
  const baseRss = med('bare-ws', 'rss');
  const idleRow = (s) => {
    const cpu = med(s.key, 'cpu');
    const rss = med(s.key, 'rss');
    const isKeel = s.kind === 'keel';
    return [
      s.label,
      fmt(cpu, 2),
      s.key === 'bare-ws' ? '—' : ratio(cpu, baseCpu),
      isKeel ? pass(Number.isFinite(cpu) ? cpu <= GOALS.cpuRatio * baseCpu : null) : s.key === 'bare-loop' ? 'baseline' : '—',
      fmt(rss, 1),
      s.key === 'bare-loop' ? '—' : ratio(rss, baseRss),
      isKeel ? pass(Number.isFinite(rss) ? rss <= GOALS.rssRatio * baseRss : null) : s.key === 'bare-ws' ? 'baseline' : '—',
      fmt(median(idle.out[s.key].threads), 0),
    ];
  };
  const idleErrors = Object.entries(idle.out).flatMap(([k, v]) => v.errors.map((e) => `${k}: ${e}`));
  tables.push({
    title: `Headless server at idle, 60 Hz, no clients (median of ${cfg.cpuRuns} run${cfg.cpuRuns > 1 ? 's' : ''}; CPU over ${cfg.cpuWindowMs / 1000} s after a ${cfg.settleMs / 1000} s settle${cfg.terrainSettleMs !== cfg.settleMs ? `, ${cfg.terrainSettleMs / 1000} s for terrain` : ''})`,
    columns: ['process', 'CPU % of a core', 'vs bare loop', `goal ≤${GOALS.cpuRatio}×`, 'RSS MiB', 'vs bare ws', `goal ≤${GOALS.rssRatio}×`, 'threads'],
    rows: [BARE_LOOP, BARE_WS, ...keelSubjects].map(idleRow),
    notes: [
      `CPU: on-CPU time of all threads (${idle.source === 'schedstat' ? '/proc/PID/task/*/schedstat, ns' : '/proc/PID/stat utime+stime, ticks'}) over wall time; RSS: VmRSS after the settle.`,
      'Ratios are to baselines measured in this run: bench/server/bare-loop.mjs (empty 60 Hz setTimeout loop on absolute deadlines), bench/server/bare-ws.mjs (a ws server, nothing else).',
      'arena keeps stepping physics at rest (a scripted kinematic platform never sleeps); terrain\'s bodies roll down the heightfield for ~25 s before they sleep' +
        (cfg.terrainSettleMs < 25_000 ? ', so with this settle its rows include that physics and are not idle.' : ', hence its longer settle.'),
      ...idleErrors.map((e) => `error: ${e}`),
    ],
  });

  // 2. Tick rate and lateness (needs the health port: /livez and /metrics).
  const tickRows = [];
  const tickNotes = [];
  for (const s of keelSubjects.filter((x) => x.health)) {
    try {
      const t = await measureTicks(s, cfg, ctx);
      const p99 = t.late.p99;
      tickRows.push([
        s.label,
        t.ticks,
        fmt(t.hz, 3),
        `${t.rateErrPct >= 0 ? '+' : ''}${t.rateErrPct.toFixed(3)} %`,
        pass(Math.abs(t.rateErrPct) <= GOALS.rateErrPct),
        lateMs(t.late.p50),
        lateMs(p99),
        t.late.maxBound === null ? '—' : Number.isFinite(t.late.maxBound) ? `≤${fmt(t.late.maxBound, 2)}` : '>33',
        pass(p99 === null ? null : p99 < GOALS.p99LateMs),
        t.late.over1ms ?? '—',
        t.overruns ?? '—',
        t.dropped ?? '—',
        fmt(t.cpuPct, 2),
      ]);
      if (t.late.source !== 'histogram') tickNotes.push(`${s.label}: no keel_tick_lateness_seconds histogram; p99 is the server's gauge over its last minute.`);
      tickNotes.push(`${s.label}: ${t.ticks} ticks in ${t.seconds.toFixed(3)} s, the schedule located within ±${t.edgeUncertaintyMs.toFixed(1)} ms at each end (±${(((2 * t.edgeUncertaintyMs) / 1000 / t.seconds) * 100).toFixed(3)} % on the rate).`);
    } catch (err) {
      tickRows.push([s.label, '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—']);
      tickNotes.push(`error: ${s.label}: ${String(err.message ?? err).split('\n')[0]}`);
    }
  }
  tables.push({
    title: `Tick rate and tick-start lateness over ${cfg.tickWindowMs / 1000} s, measured in the server (target ${TARGET_HZ} Hz, idle, no clients)`,
    columns: ['process', 'ticks', 'rate Hz', 'vs target', `goal ±${GOALS.rateErrPct} %`, 'late p50 ms', 'late p99 ms', 'late max ms', `goal p99 <${GOALS.p99LateMs} ms`, 'ticks >1 ms late', 'overruns', 'dropped', 'CPU %'],
    rows: tickRows,
    notes: [
      'Rate: tick numbers and times from /livez at the start and end of the window (median phase of 7 successive ticks at each end), ticks between over time between. Lateness: the keel_tick_lateness_seconds histogram on /metrics, counts in the window; p50/p99 interpolated within buckets, max is the upper bound of the highest non-empty bucket.',
      'Rows with SERVER_HEALTH_PORT=0 have no /livez or /metrics, so they are not in this table. The terrain window starts while its bodies still roll down the heightfield (physics every tick).',
      ...tickNotes,
    ],
  });

  // 2b. What concurrent scrapes cost the loop.
  try {
    const r = await measureScrapes(cfg, ctx);
    const { rounds, windowMs, concurrency } = cfg.scrapes;
    const diffs = r.loaded.map((x, i) => x.p99 - r.control[i].p99);
    const med = median(diffs);
    const rendersOk = r.renders.every((x) => x.n <= x.allowed);
    const row = (label, ws, goal) => {
      const n = ws.reduce((t, w) => t + w.n, 0);
      return [label, ws.length, n, fmt(median(ws.map((w) => w.p99)), 3), lateMs(Math.max(...ws.map((w) => w.maxBound))), ws.reduce((t, w) => t + w.over1ms, 0), goal];
    };
    tables.push({
      title: `What scrapes cost the loop: tick lateness with ${concurrency} concurrent /metrics scrapes a second against as many /livez probes (keel arena, ${rounds} interleaved rounds of ${windowMs / 1000} s windows)`,
      columns: ['windows', 'rounds', 'ticks', 'late p99 ms, median window', 'late max ms', 'ticks >1 ms late', `goal: median round ≤${GOALS.scrapeP99Ms} ms more`],
      rows: [
        row(`/livez probes (baseline)`, r.control, 'baseline'),
        row(`/metrics scrapes`, r.loaded, `${fmt(med, 3)} ms more: ${pass(med <= GOALS.scrapeP99Ms)}`),
      ],
      notes: [
        'Each round is a control window of /livez bursts, which the health thread answers without the game thread, then a window of /metrics bursts; a window\'s lateness comes from the keel_tick_lateness_seconds histogram read at its ends. The goal is judged on the median over rounds of each round\'s loaded p99 less its control p99, so one noisy window does not decide it.',
        `Per round, loaded/control p99 ms: ${r.loaded.map((x, i) => `${fmt(x.p99, 2)}/${fmt(r.control[i].p99, 2)}`).join(', ')}.`,
        `Renders of the metrics text on the game thread per loaded window: ${r.renders.map((x) => `${x.n} (at most ${x.allowed})`).join(', ')}: ${rendersOk ? 'one per refresh interval at most, however many scrapers' : 'MORE than one per refresh interval'}.`,
        `${r.requests} requests, ${r.failed} not answered in full.`,
      ],
    });
  } catch (err) {
    tables.push({ title: 'What scrapes cost the loop', columns: ['error'], rows: [[String(err.message ?? err).split('\n')[0]]] });
  }

  // 3. Start to accepting connections.
  const startSubjects = [BARE_WS, ...keelSubjects];
  const starts = await measureStart(startSubjects, cfg, ctx);
  const baseStart = median(starts['bare-ws'].ms);
  tables.push({
    title: `Start to accepting: spawn to the first TCP connect on the game port, to /readyz 200 and to a joining client's welcome (median of ${cfg.startReps}; polled every 2 ms)`,
    columns: ['process', 'accept median ms', 'min ms', 'max ms', 'vs bare ws', `goal <${GOALS.arenaStartMs} ms`, '/readyz 200 ms', 'first welcome ms'],
    rows: startSubjects.map((s) => {
      const { ms, readyMs, welcomeMs } = starts[s.key];
      const m = median(ms);
      const med = (xs) => (xs.length ? fmt(median(xs), 1) : '—');
      return [
        s.label,
        fmt(m, 1),
        ms.length ? fmt(Math.min(...ms), 1) : '—',
        ms.length ? fmt(Math.max(...ms), 1) : '—',
        s.key === 'bare-ws' ? 'baseline' : ratio(m, baseStart),
        s.scene === 'arena' ? pass(Number.isFinite(m) ? m < GOALS.arenaStartMs : null) : '—',
        med(readyMs),
        med(welcomeMs),
      ];
    }),
    notes: [
      'The goal is for the arena; a Colyseus server takes about 250 ms on the reference machine. The health thread boots while the scene loads; the game port does not wait for it.',
      '/readyz 200: spawn to the first 200 from the health port (rows without a health port show —). First welcome: spawn to the Welcome message of a client that connects as soon as the port accepts and says hello at once; what a player waits for.',
      ...Object.entries(starts).flatMap(([k, v]) => v.errors.map((e) => `error: ${k}: ${e}`)),
    ],
  });

  // 4. Physics step time, each engine in turn for each size, so both see the same machine load.
  const physRows = [];
  const physNotes = [];
  const cannonP50 = new Map();
  for (const n of cfg.physics.sizes) for (const backend of ['cannon', 'rapier']) {
    try {
      const r = await measurePhysics(n, backend, cfg, ctx);
      const aw = r.awake;
      const as = r.asleep;
      const settled = r.settledAtStep !== null;
      if (backend === 'cannon') cannonP50.set(n, median(aw));
      physRows.push([
        n,
        backend,
        backend === 'cannon' ? '—' : ratio(median(aw), cannonP50.get(n)),
        aw.length,
        fmt(median(aw), 3),
        fmt(percentile(aw, 99), 3),
        `${fmt((percentile(aw, 99) / (1000 / TARGET_HZ)) * 100, 0)} %`,
        settled ? `${fmt(r.settledAtStep / TARGET_HZ, 1)} s` : `no (${r.stillAwake} awake)`,
        as.length,
        fmt(median(as), 3),
        fmt(percentile(as, 99), 3),
      ]);
      if (r.timedOut) physNotes.push(`${n} bodies: stopped at the ${(cfg.physics.maxMs / 1000).toFixed(0)} s time bound.`);
    } catch (err) {
      physRows.push([n, backend, '—', '—', '—', '—', '—', '—', '—', '—', '—']);
      physNotes.push(`error: ${String(err.message ?? err).split('\n')[0]}`);
    }
  }
  tables.push({
    title: 'Physics step per tick, 1/60 s, N dynamic unit boxes dropped in two layers onto a ground plane (keel physics: cannon-es and Rapier)',
    columns: ['bodies', 'engine', 'awake p50 vs cannon', 'awake steps', 'awake p50 ms', 'awake p99 ms', 'p99 of 16.7 ms tick', 'all asleep at (sim)', 'asleep steps', 'asleep p50 ms', 'asleep p99 ms'],
    rows: physRows,
    notes: [
      `Awake: the first steps (at most ${cfg.physics.awakeSteps}, after a JIT warm-up on a separate world) while any body is awake. Asleep: ${cfg.physics.asleepSteps} steps once every body sleeps; if some never do within ${cfg.physics.settleSteps} steps (and the time bound), those steps are taken anyway, and one awake body keeps the whole world stepping.`,
      'Rapier (WASM) compiles its hot code in the background during the first seconds; cannon (JS) is JIT-compiled the same way. Both warm up on a separate world first.',
      ...physNotes,
    ],
  });

  // 5. Ramp: the most awake boxes each engine steps within one 60 Hz tick at p99.
  const rampRows = [];
  const rampNotes = [];
  for (const backend of ['cannon', 'rapier']) {
    try {
      const r = await measurePhysics('ramp', backend, cfg, ctx);
      const last = r.trials.find((t) => t.n === r.holds);
      rampRows.push([backend, r.holds, r.failsAt ?? '—', last ? fmt(last.p50, 3) : '—', last ? fmt(last.p99, 3) : '—', r.trials.length]);
      if (r.timedOut) rampNotes.push(`${backend}: stopped at the ${(cfg.physics.rampMs / 1000).toFixed(0)} s time bound; the figure is a lower bound.`);
    } catch (err) {
      rampRows.push([backend, '—', '—', '—', '—', '—']);
      rampNotes.push(`error: ${String(err.message ?? err).split('\n')[0]}`);
    }
  }
  tables.push({
    title: 'Most awake boxes stepped within a 60 Hz tick: physics step p99 < 16.7 ms over 120 steps of a falling, landing pile',
    columns: ['engine', 'holds (boxes)', 'fails at', 'p50 ms at holds', 'p99 ms at holds', 'trials'],
    rows: rampRows,
    notes: [
      'Grows the pile by 1.25x from 100 boxes until a pile fails (more than 1 % of its steps over 16.7 ms), then bisects to within 2 %. Physics step only: a tick adds scripts and replication.',
      ...rampNotes,
    ],
  });

  const loadEnd = loadavg();
  for (const t of tables) t.notes = [...(t.notes ?? [])];
  tables[tables.length - 1].notes.push(`Load average during the suite: ${loadStart.map((x) => x.toFixed(2)).join(' / ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' / ')} at end (1 / 5 / 15 min).`);
  return tables;
}
