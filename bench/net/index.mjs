/**
 * The network benchmark: keel's server against two baselines on one scenario, in one run.
 *
 * Scenario: the arena scene with 200 extra dynamic bodies kept moving (scene.mjs, mover.js),
 * 50 bots, 60 Hz tick, 20 Hz send rate; three interleaved rounds of every server in turn, each a
 * 20 s window (3 s with --quick) after a warm-up; tables show medians over the rounds and the
 * CPU ratio is paired per round (median and spread).
 *
 *   keel            `node dist/keel.mjs serve` with its binary delta snapshots.
 *   JSON broadcast  json-server.mjs: every entity transform as JSON to every client at 20 Hz.
 *   Colyseus        colyseus-server.mjs: a Room with a MapSchema of float32 transforms, 20 Hz patches.
 *   Colyseus int32/int16  the same with --quantised: keel's precision in Colyseus schema types.
 *
 * Both baselines run keel's own compiled simulation (physics, scene scripts, player movement),
 * so the three servers do the same simulation work and differ only in networking. Each server
 * runs in its own process, the 50 bots in another (bots.mjs), so a process's CPU time is its own.
 *
 * Measured over the window, for each server:
 *   - bytes per client per second: WebSocket payload bytes the bots received, mean over bots;
 *   - state messages (snapshots, broadcasts, patches) per client per second;
 *   - server CPU %: utime + stime of the server process (all threads) over the window, as % of
 *     one core (bench/lib/proc.mjs; from per-thread schedstat where available);
 *   - tick duration p50 / p99: keel from the keel_tick_duration_seconds histogram of its
 *     /metrics (window = difference of two scrapes; quantiles interpolated inside the buckets,
 *     so they are estimates); the baselines time each simulation step themselves;
 *   - RSS: VmRSS of the server process, peak of samples taken every second.
 *
 * Then what a client that never reads costs the tick (slow-reader.mjs).
 *
 * Exports run({ quick, progress, repo, signal? }) -> tables, for bench/run.mjs; standalone.mjs
 * runs it alone.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { cpuPercent, cpuSample, rssKiB, sleep, spawnTracked, stopProcess } from '../lib/proc.mjs';
import { freePort, httpGet, waitForPort } from '../lib/net.mjs';
import { histogramQuantile, mean } from '../lib/stats.mjs';
import { fmt } from '../lib/format.mjs';
import { MOVERS, writeScenario } from './scene.mjs';
import { measureSlowReader } from './slow-reader.mjs';

/** A client that never reads may cost the tick this much at most: its mean ≤ 3× the control window's + 1 ms. */
const SLOW_READER_GOAL = { ratio: 3, plusMs: 1 };

/** @param {Awaited<ReturnType<typeof measureSlowReader>>} r */
function slowReaderTable(r) {
  const rows = r.rounds.map((x) => {
    const ok = x.sleeperMs < SLOW_READER_GOAL.ratio * x.controlMs + SLOW_READER_GOAL.plusMs;
    return [x.round, `${fmt(x.controlMs, 3)} (${x.controlTicks})`, `${fmt(x.sleeperMs, 3)} (${x.sleeperTicks})`, `${fmt(x.sleeperMs / x.controlMs, 2)}×`, x.dropS === null ? 'not dropped' : fmt(x.dropS, 2), x.goodSnapshots, pass(x.dropS !== null && ok)];
  });
  return {
    title: `A client that never reads: keel serve, arena + 600 pillars (${r.entities} entities), one good bot, then a client that stops reading until it is dropped (4005)`,
    columns: ['round', 'mean tick ms, control (ticks)', 'mean tick ms, with the sleeper (ticks)', 'vs control', 'dropped after s', 'good bot snapshots meanwhile', `goal: dropped, ≤${SLOW_READER_GOAL.ratio}× + ${SLOW_READER_GOAL.plusMs} ms`],
    rows,
    notes: [
      'Mean tick from keel_tick_duration_seconds _sum/_count: a 2 s control window with the good bot only, then from the sleeper\'s hello to its drop. Each round on a fresh server. Sends go to each socket\'s buffer and the tick never waits on them: the sleeper costs what copying its full snapshots costs.',
      ...r.errors.map((e) => `error: ${e}`),
    ],
  };
}

const BOTS = 50;
const TICK_RATE = 60;
const SEND_RATE = 20;
const MAX_PLAYERS = 64;

/** Bounds on every wait, ms. */
const START_TIMEOUT_MS = 30_000;
const JOIN_TIMEOUT_MS = 60_000;
const SAMPLE_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** `bots`: which client the bots speak (bots.mjs --system). */
const SYSTEMS = [
  { key: 'keel', label: 'keel', bots: 'keel' },
  { key: 'json', label: 'JSON broadcast', bots: 'json' },
  { key: 'colyseus', label: 'Colyseus', bots: 'colyseus' },
  { key: 'colyseus-q', label: 'Colyseus int32/int16', bots: 'colyseus' },
  // keel again with the other physics engine (the scene's is cannon-es): the backend column.
  { key: 'keel', label: 'keel, rapier physics', bots: 'keel', physics: 'rapier' },
];
/**
 * Rounds of all systems, interleaved (keel, JSON, Colyseus, Colyseus quantised, keel, ...), so
 * drift in the machine's load falls on all; --quick runs one, a smoke run.
 */
const ROUNDS = 3;
const QUICK_ROUNDS = 1;

/**
 * @param {{ quick: boolean, progress: (msg: string) => void, repo: string, signal?: AbortSignal }} opts
 */
export async function run(opts) {
  const { quick, progress, repo } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  for (const f of ['dist/keel.mjs', 'dist/runtime/core/index.js', 'dist/runtime/node/bot-client.js', 'dist/runtime/node/scene-loader.js']) {
    if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  for (const pkg of ['@colyseus/core', '@colyseus/ws-transport', '@colyseus/schema', 'colyseus.js']) {
    if (!existsSync(join(repo, 'node_modules', pkg))) throw new Error(`${pkg} is not installed: run \`npm install\` (it is a dev dependency of the benchmarks)`);
  }
  const warmupS = quick ? 2 : 5;
  const windowS = quick ? 3 : 20;
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-net-'));
  try {
    const scenario = writeScenario(repo, dir);
    progress(`scenario: ${scenario.entities} entities (${scenario.movers} movers), ${BOTS} bots, ${quick ? QUICK_ROUNDS : ROUNDS} rounds of ${windowS} s windows after ${warmupS} s warm-up`);
    /** @type {any[][]} rounds[r][i]: system i in round r */
    const rounds = [];
    const nRounds = quick ? QUICK_ROUNDS : ROUNDS;
    for (let r = 0; r < nRounds; r++) {
      const round = [];
      for (const system of SYSTEMS) {
        signal.throwIfAborted();
        round.push(await measure(system, { repo, scene: scenario.file, warmupS, windowS, progress: (m) => progress(`round ${r + 1}/${nRounds}: ${m}`), signal }));
      }
      rounds.push(round);
    }
    const out = tables(mergeRounds(rounds), { quick, warmupS, windowS, entities: scenario.entities, rounds });
    out.push(slowReaderTable(await measureSlowReader({ repo, rounds: quick ? 1 : 3, progress, signal })));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Lines of a tracked child's stdout, to wait for one that matches.
 * @param {ReturnType<typeof spawnTracked>} handle
 */
function lineReader(handle) {
  let buf = '';
  /** @type {{ test: (line: string) => boolean, resolve: (line: string) => void }[]} */
  let waiters = [];
  const backlog = [];
  handle.child.stdout.on('data', (chunk) => {
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.find((x) => x.test(line));
      if (w) {
        waiters = waiters.filter((x) => x !== w);
        w.resolve(line);
      } else if (backlog.length < 1000) backlog.push(line);
    }
  });
  return {
    /**
     * Resolves with the first line (already seen or still to come) that passes `test`.
     * @param {(line: string) => boolean} test @param {number} timeoutMs @param {string} what
     */
    wait(test, timeoutMs, what) {
      const seen = backlog.findIndex(test);
      if (seen >= 0) return Promise.resolve(backlog.splice(seen, 1)[0]);
      return new Promise((resolve, reject) => {
        const waiter = { test, resolve: (line) => (clearTimeout(timer), resolve(line)) };
        const timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== waiter);
          reject(new Error(`${what}: nothing within ${timeoutMs} ms${handle.exitInfo ? ` (exited with ${handle.exitInfo.code ?? handle.exitInfo.signal})` : ''}\n${tail(handle)}`));
        }, timeoutMs);
        waiters.push(waiter);
        handle.exited.then(() => {
          if (!waiters.includes(waiter)) return;
          setTimeout(() => {
            if (!waiters.includes(waiter)) return;
            waiters = waiters.filter((x) => x !== waiter);
            clearTimeout(timer);
            reject(new Error(`${what}: the process exited (${handle.exitInfo?.code ?? handle.exitInfo?.signal})\n${tail(handle)}`));
          }, 50); // lines still in the pipe come first
        });
      });
    },
  };
}

const tail = (handle) =>
  handle
    .output()
    .split('\n')
    .slice(-15)
    .map((l) => `    ${l}`)
    .join('\n');

/** JSON line with `event` equal to `name`. */
const isEvent = (name) => (line) => {
  if (!line.startsWith('{')) return false;
  try {
    return JSON.parse(line).event === name;
  } catch {
    return false;
  }
};

/** @param {number} ms @param {AbortSignal} signal */
async function wait(ms, signal) {
  signal.throwIfAborted();
  await new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve(undefined);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(undefined);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  signal.throwIfAborted();
}

/** keel's tick histogram and counters from one /metrics scrape. */
async function scrapeKeel(healthPort) {
  const res = await httpGet(healthPort, '/metrics', 5000);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const buckets = [];
  const counters = {};
  for (const line of res.body.split('\n')) {
    const b = /^keel_tick_duration_seconds_bucket\{(.*)\}\s+(\S+)$/.exec(line);
    if (b) {
      const le = /le="([^"]+)"/.exec(b[1])[1];
      buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: Number(b[2]) });
      continue;
    }
    const c = /^(keel_[a-z_]+_total|keel_tick_duration_seconds_(?:sum|count))(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (c) counters[c[1]] = (counters[c[1]] ?? 0) + Number(c[2]);
  }
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, counters };
}

/**
 * Starts one server and the bots, measures the window, stops both.
 * @param {{ key: string, label: string, physics?: string }} system
 */
async function measure(system, { repo, scene, warmupS, windowS, progress, signal }) {
  const node = process.execPath;
  const port = await freePort();
  let healthPort = 0;
  for (let i = 0; i < 20 && system.key === 'keel' && (healthPort === 0 || healthPort === port); i++) healthPort = await freePort();
  const common = ['--tick-rate', String(TICK_RATE), '--send-rate', String(SEND_RATE), '--max-players', String(MAX_PLAYERS)];
  const serverArgs = {
    keel: [
      join(repo, 'dist', 'keel.mjs'), 'serve', scene, '--port', String(port), '--host', '127.0.0.1',
      '--health-port', String(healthPort), '--health-host', '127.0.0.1', ...common,
      '--no-watch', '--log-format', 'json', '--log-level', 'warn', ...(system.physics ? ['--physics', system.physics] : []),
    ],
    json: [join(repo, 'bench', 'net', 'json-server.mjs'), '--scene', scene, '--port', String(port), ...common],
    colyseus: [join(repo, 'bench', 'net', 'colyseus-server.mjs'), '--scene', scene, '--port', String(port), ...common],
    'colyseus-q': [join(repo, 'bench', 'net', 'colyseus-server.mjs'), '--scene', scene, '--port', String(port), ...common, '--quantised'],
  }[system.key];

  progress(`${system.label}: starting the server`);
  const server = spawnTracked(node, serverArgs, { cwd: repo, env: { ...process.env, NODE_ENV: 'production' } });
  const serverLines = lineReader(server);
  let bots = null;
  try {
    if (system.key === 'keel') {
      await waitForPort(port, { timeoutMs: START_TIMEOUT_MS, intervalMs: 20, exited: server.exited });
      for (let i = 0; ; i++) {
        const r = await httpGet(healthPort, '/readyz', 2000).catch(() => null);
        if (r?.status === 200) break;
        if (i >= START_TIMEOUT_MS / 50 || server.exitInfo) throw new Error(`keel did not become ready\n${tail(server)}`);
        await sleep(50);
      }
    } else {
      await serverLines.wait((l) => l.startsWith('listening '), START_TIMEOUT_MS, `${system.label}: start`);
    }

    progress(`${system.label}: ${BOTS} bots joining`);
    const maxSeconds = warmupS + windowS + 120;
    bots = spawnTracked(node, [join(repo, 'bench', 'net', 'bots.mjs'), '--system', system.bots, '--port', String(port), '--count', String(BOTS), '--max-seconds', String(maxSeconds)], { cwd: repo });
    const botLines = lineReader(bots);
    const joined = JSON.parse(await botLines.wait(isEvent('joined'), JOIN_TIMEOUT_MS, `${system.label}: bots joining`));
    if (joined.joined === 0) throw new Error(`${system.label}: no bot joined (${joined.refused.join('; ')})\n${tail(server)}`);

    progress(`${system.label}: ${joined.joined}/${BOTS} joined; warming up ${warmupS} s`);
    await wait(warmupS * 1000, signal);

    /** One sample of everything, as close together in time as possible. */
    const sample = async () => {
      const cpu = cpuSample(server.pid);
      const botCpu = cpuSample(bots.pid);
      const botReply = botLines.wait(isEvent('sample'), SAMPLE_TIMEOUT_MS, `${system.label}: bots sample`);
      process.kill(bots.pid, 'SIGUSR2');
      let ticks = null;
      let metrics = null;
      if (system.key === 'keel') metrics = await scrapeKeel(healthPort);
      else {
        const reply = serverLines.wait(isEvent('ticks'), SAMPLE_TIMEOUT_MS, `${system.label}: tick report`);
        process.kill(server.pid, 'SIGUSR2');
        ticks = JSON.parse(await reply);
      }
      return { cpu, botCpu, bots: JSON.parse(await botReply), ticks, metrics };
    };

    const start = await sample();
    progress(`${system.label}: measuring ${windowS} s`);
    const rss = [];
    const botRss = [];
    const until = performance.now() + windowS * 1000;
    for (let i = 0; i < windowS * 2 + 10 && performance.now() < until; i++) {
      rss.push(rssKiB(server.pid));
      botRss.push(rssKiB(bots.pid));
      await wait(Math.min(1000, Math.max(0, until - performance.now())), signal);
    }
    const end = await sample();
    rss.push(rssKiB(server.pid));

    if (server.exitInfo) throw new Error(`${system.label}: the server exited during the window\n${tail(server)}`);
    return summarise(system, { start, end, rss: rss.filter((x) => x !== null), botRss: botRss.filter((x) => x !== null), joined, server });
  } finally {
    progress(`${system.label}: stopping`);
    if (bots) await stopProcess(bots, STOP_GRACE_MS);
    await stopProcess(server, STOP_GRACE_MS);
  }
}

function summarise(system, { start, end, rss, botRss, joined, server }) {
  const seconds = (end.bots.at - start.bots.at) / 1000;
  const n = Math.min(start.bots.bytes.length, end.bots.bytes.length);
  const perBotBytes = [];
  const perBotMsgs = [];
  for (let i = 0; i < n; i++) {
    if (end.bots.bytes[i] === 0) continue; // never joined
    perBotBytes.push((end.bots.bytes[i] - start.bots.bytes[i]) / seconds);
    perBotMsgs.push((end.bots.messages[i] - start.bots.messages[i]) / seconds);
  }
  const cpu = cpuPercent(start.cpu, end.cpu);
  const botCpu = cpuPercent(start.botCpu, end.botCpu);
  let tick;
  let send = null;
  let extra = {};
  if (system.key === 'keel') {
    const a = start.metrics;
    const b = end.metrics;
    const buckets = b.buckets.map((x, i) => ({ le: x.le, count: x.count - (a.buckets[i]?.count ?? 0) }));
    const d = (k) => (b.counters[k] ?? 0) - (a.counters[k] ?? 0);
    const count = d('keel_tick_duration_seconds_count');
    tick = {
      n: count,
      p50: histogramQuantile(buckets, 0.5) * 1000,
      p99: histogramQuantile(buckets, 0.99) * 1000,
      mean: count ? (d('keel_tick_duration_seconds_sum') / count) * 1000 : NaN,
      estimated: true,
    };
    extra = { dropped: d('keel_ticks_dropped_total'), overruns: d('keel_tick_overruns_total'), serverBytesOut: d('keel_network_sent_bytes_total') };
  } else {
    tick = end.ticks.tick;
    send = end.ticks.send;
    extra = { dropped: end.ticks.dropped - start.ticks.dropped };
  }
  const warningLines = server
    .output()
    .split('\n')
    .filter((l) => /"level":(40|50|60)\b|"level":"(warn|error|fatal)"/.test(l));
  const warningTexts = [...new Set(warningLines.map((l) => {
    try {
      return String(JSON.parse(l).msg).replace(/\d+/g, 'N');
    } catch {
      return l.slice(0, 80);
    }
  }))];
  return {
    system,
    seconds,
    joined: joined.joined,
    live: end.bots.live,
    entitiesSeen: end.bots.entities,
    bytesPerClient: mean(perBotBytes),
    bytesMin: Math.min(...perBotBytes),
    bytesMax: Math.max(...perBotBytes),
    msgsPerClient: mean(perBotMsgs),
    cpuPct: cpu.pct,
    cpuSource: cpu.source,
    botCpuPct: botCpu.pct,
    tick,
    send,
    rssMB: Math.max(...rss) / 1024,
    botRssMB: botRss.length ? Math.max(...botRss) / 1024 : NaN,
    warnings: warningLines.length,
    warningTexts,
    ...extra,
  };
}

const med = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
};

/** One result per system: the median over rounds of each figure the tables show. */
function mergeRounds(rounds) {
  return rounds[0].map((first, i) => {
    const all = rounds.map((r) => r[i]);
    const m = (get) => med(all.map(get));
    return {
      ...first,
      seconds: m((r) => r.seconds),
      bytesPerClient: m((r) => r.bytesPerClient),
      bytesMin: Math.min(...all.map((r) => r.bytesMin)),
      bytesMax: Math.max(...all.map((r) => r.bytesMax)),
      msgsPerClient: m((r) => r.msgsPerClient),
      cpuPct: m((r) => r.cpuPct),
      botCpuPct: m((r) => r.botCpuPct),
      tick: { ...first.tick, p50: m((r) => r.tick.p50), p99: m((r) => r.tick.p99), mean: m((r) => r.tick.mean) },
      send: first.send ? { p50: m((r) => r.send?.p50), p99: m((r) => r.send?.p99) } : null,
      rssMB: Math.max(...all.map((r) => r.rssMB)),
      botRssMB: Math.max(...all.map((r) => r.botRssMB)),
      joined: Math.min(...all.map((r) => r.joined)),
      entitiesSeen: m((r) => r.entitiesSeen),
      warnings: all.reduce((n, r) => n + r.warnings, 0),
      warningTexts: [...new Set(all.flatMap((r) => r.warningTexts))],
      dropped: all.every((r) => r.dropped === undefined) ? undefined : all.reduce((n, r) => n + (r.dropped ?? 0), 0),
    };
  });
}

/** Per round, a / b of a figure for two systems of that round; median and spread. */
function pairedRatio(rounds, a, b, get) {
  const rs = rounds.map((r) => get(r[a]) / get(r[b]));
  return { median: med(rs), min: Math.min(...rs), max: Math.max(...rs), all: rs };
}

const kib = (bytes) => bytes / 1024;
const pass = (ok) => (ok ? 'pass' : 'MISS');

function tables(results, { quick, warmupS, windowS, entities, rounds }) {
  const [keel, json, coly, colyQ, rapier] = results;
  const cpuVsColy = pairedRatio(rounds, 0, 2, (r) => r.cpuPct);
  const cpuVsColyQ = pairedRatio(rounds, 0, 3, (r) => r.cpuPct);
  const bytesVsColyQ = pairedRatio(rounds, 0, 3, (r) => r.bytesPerClient);
  const spread = (x, digits) => `${fmt(x.median, digits)}× (rounds ${x.all.map((v) => fmt(v, digits)).join(', ')}; spread ${fmt(x.min, digits)}-${fmt(x.max, digits)})`;
  const cpuRapier = rapier ? pairedRatio(rounds, 4, 0, (r) => r.cpuPct) : null;
  const rows = results.map((r) => [
    r.system.label,
    fmt(kib(r.bytesPerClient), 1),
    r === keel ? '1.00×' : `${fmt(r.bytesPerClient / keel.bytesPerClient, 2)}×`,
    fmt(r.cpuPct, 1),
    `${r.tick.estimated ? '≈' : ''}${fmt(r.tick.p50, 2)} / ${r.tick.estimated ? '≈' : ''}${fmt(r.tick.p99, 2)}`,
    fmt(r.rssMB, 0),
    fmt(r.msgsPerClient, 1),
    fmt(kib(r.bytesPerClient / r.msgsPerClient), 2),
  ]);
  const byteRatioJson = keel.bytesPerClient / json.bytesPerClient;
  const byteRatioColy = keel.bytesPerClient / coly.bytesPerClient;
  const cpuRatio = cpuVsColy.median;
  const byteRatioColyQ = bytesVsColyQ.median;
  const perSnapshot = (r) => r.bytesPerClient / r.msgsPerClient;
  const snapNote = (other) => ` (per snapshot ${fmt(perSnapshot(keel) / perSnapshot(other), 3)}×)`;
  const notes = [
    `Scenario: arena + ${MOVERS} dynamic bodies kept moving (${entities} scene entities + ${BOTS} players), ${BOTS} bots, ${TICK_RATE} Hz tick, ${SEND_RATE} Hz send; ${rounds.length} interleaved rounds (each: every server in turn), ${fmt(keel.seconds, 1)} s window after ${warmupS} s warm-up each; figures are the median over rounds${quick ? ' (--quick: short windows, figures are rough)' : ''}.`,
    'KiB/client/s: WebSocket payload bytes received per bot per second, mean over bots (frame headers not counted, for all). vs keel: that figure over keel\'s.',
    'Server CPU: user + system time of the server process (all threads) over the window, % of one core. RSS: peak VmRSS of the server process.',
    `keel tick: estimated from the keel_tick_duration_seconds histogram of /metrics (buckets 0.5/1/2/4/8/16 ms; linear inside a bucket, as PromQL's histogram_quantile), mean ${fmt(keel.tick.mean, 2)} ms (exact, from _sum/_count); a tick there covers input, physics, scripts and the snapshots sent on that tick.`,
    `JSON broadcast tick: measured per step in the server, including the broadcast on every third tick; the broadcast alone p50/p99 ${fmt(json.send?.p50, 2)} / ${fmt(json.send?.p99, 2)} ms.`,
    `Colyseus tick: the simulation step plus copying poses into the schema; patches are sent by Colyseus on its own 50 ms timer, not inside a tick: broadcastPatch p50/p99 ${fmt(coly.send?.p50, 2)} / ${fmt(coly.send?.p99, 2)} ms.`,
    `Bots joined ${results.map((r) => `${r.system.label} ${r.joined}/${BOTS}`).join(', ')}; entities held by a client at the end: ${results.map((r) => `${r.system.label} ${r.entitiesSeen}`).join(', ')}.`,
    `Per-bot spread (KiB/s, min-max): ${results.map((r) => `${r.system.label} ${fmt(kib(r.bytesMin), 1)}-${fmt(kib(r.bytesMax), 1)}`).join(', ')}.`,
    `Ticks dropped in the window by a loop that fell behind: ${results.map((r) => `${r.system.label} ${r.dropped ?? '—'}`).join(', ')}; server warnings over the whole run (start, joins, warm-up, window): ${results.map((r) => `${r.system.label} ${r.warnings}`).join(', ')}.`,
    ...results.filter((r) => r.warningTexts.length).map((r) => `${r.system.label} warnings: ${r.warningTexts.slice(0, 3).map((t) => `"${t}"`).join(', ')}.`),
    `Bots process (not the server): CPU ${results.map((r) => `${r.system.label} ${fmt(r.botCpuPct, 0)}%`).join(', ')}; peak RSS ${results.map((r) => `${r.system.label} ${fmt(r.botRssMB, 0)} MB`).join(', ')}.`,
    'The baselines run keel\'s compiled simulation (physics, scene scripts, player movement), so all do the same simulation work. Colyseus state is transforms in a MapSchema: float32 (its idiomatic compact form), and in the int32/int16 row at keel\'s precision (positions in 1/512 m, quaternion components in 1/32767), so that byte ratio compares protocol design and not precision.',
  ];
  return [
    {
      title: `Network: ${BOTS} bots, arena + ${MOVERS} moving bodies, ${TICK_RATE} Hz tick, ${SEND_RATE} Hz send, ${windowS} s`,
      columns: ['server', 'KiB/client/s', 'vs keel', 'server CPU %', 'tick p50 / p99 ms', 'RSS MB', 'snapshots/s per client', 'KiB/snapshot'],
      rows,
      notes,
    },
    {
      title: 'Network goals',
      columns: ['goal', 'target', 'measured', 'result'],
      rows: [
        ['keel bytes/client/s vs JSON broadcast', '≤ 0.20×', `${fmt(byteRatioJson, 3)}×${snapNote(json)}`, pass(byteRatioJson <= 0.2)],
        ['keel bytes/client/s vs Colyseus', '≤ 0.50×', `${fmt(byteRatioColy, 3)}×${snapNote(coly)}`, pass(byteRatioColy <= 0.5)],
        ['keel bytes/client/s vs Colyseus int32/int16 (same precision)', '≤ 0.50×', `${fmt(byteRatioColyQ, 3)}×${snapNote(colyQ)}`, pass(byteRatioColyQ <= 0.5)],
        ['keel server CPU vs Colyseus', '≤ 1.00×', `${spread(cpuVsColy, 2)}; medians ${fmt(keel.cpuPct, 1)}% vs ${fmt(coly.cpuPct, 1)}%`, pass(cpuRatio <= 1)],
        ['keel server CPU vs Colyseus int32/int16', '≤ 1.00×', `${spread(cpuVsColyQ, 2)}; medians ${fmt(keel.cpuPct, 1)}% vs ${fmt(colyQ.cpuPct, 1)}%`, pass(cpuVsColyQ.median <= 1)],
        ...(cpuRapier
          ? [['keel server CPU, rapier vs cannon physics', '≤ 0.60×', `${spread(cpuRapier, 2)}; medians ${fmt(rapier.cpuPct, 1)}% vs ${fmt(keel.cpuPct, 1)}%`, pass(cpuRapier.median <= 0.6)]]
          : []),
      ],
      notes: [
        'A server that falls behind sends fewer snapshots than the 20 Hz asked for, and so fewer bytes per second: compare snapshots/s per client first; the per-snapshot ratio does not depend on it.',
        `CPU ratios are paired within each round (keel's window against the Colyseus window that ran next to it) and the median of the ${rounds.length} rounds is judged; the spread shows how much the machine moved between rounds.`,
        ...(quick ? [`--quick: one round of ${windowS} s windows on a possibly busy machine; run without --quick for figures to quote.`] : []),
      ],
    },
  ];
}
