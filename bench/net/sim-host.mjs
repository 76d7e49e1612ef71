/**
 * The simulation the baseline servers run: keel's own core (compiled under dist/), so the
 * physics, the mover scripts and the player movement cost exactly what they cost in keel and
 * only the networking differs. Used by json-server.mjs and colyseus-server.mjs.
 *
 * Exports:
 *   loadScenario(repo, sceneFile)  Promise<{ sim, players, scene, core }>: the scene loaded as
 *                                  `keel serve` loads it (validated, scripts imported), a
 *                                  Simulation in server mode and keel's Players on it.
 *   TickTimes                      durations of ticks and of send steps, reported and reset on
 *                                  SIGUSR2 (see onReportSignal).
 *   onReportSignal(times, extra)   on SIGUSR2, prints one JSON line
 *                                  { event: 'ticks', tick: summary, send: summary, ...extra() }
 *                                  on stdout (summaries in ms) and starts a new window.
 *   exitWithParent()               exits when the process that started this one is gone, so a
 *                                  bench killed outright leaves no server behind.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** At most this many samples per window; a window is seconds long, so this is never reached in a run. */
const MAX_SAMPLES = 200_000;

/** @param {string} repo @param {string} sceneFile */
export async function loadScenario(repo, sceneFile) {
  const dist = (p) => import(pathToFileURL(join(repo, 'dist', p)).href);
  const core = await dist('runtime/core/index.js');
  const { AssetRoot } = await dist('runtime/node/assets.js');
  const { loadSceneFile } = await dist('runtime/node/scene-loader.js');
  const scene = await loadSceneFile(sceneFile, new AssetRoot(join(sceneFile, '..')), core.RunMode.Server);
  const sim = new core.Simulation({
    scene: scene.doc,
    mode: core.RunMode.Server,
    logger: stderrLogger(),
    scripts: scene.scripts,
    heightfields: scene.heightfields,
  });
  const players = new core.Players(sim);
  return { sim, players, scene, core };
}

/** Warnings and errors to stderr, as JSON lines; the rest is dropped. */
function stderrLogger() {
  const noop = () => {};
  const line = (level) => (obj, msg) => process.stderr.write(`${JSON.stringify({ level, ...(typeof obj === 'string' ? { msg: obj } : { ...obj, msg }) })}\n`);
  const self = { debug: noop, info: noop, warn: line('warn'), error: line('error'), fatal: line('fatal'), child: () => self };
  return self;
}

export class TickTimes {
  tick = [];
  send = [];

  /** @param {'tick' | 'send'} kind @param {number} ms */
  record(kind, ms) {
    const list = this[kind];
    if (list.length < MAX_SAMPLES) list.push(ms);
  }

  /** Summaries of the window so far; starts a new one. */
  take() {
    const out = { tick: summary(this.tick), send: summary(this.send) };
    this.tick = [];
    this.send = [];
    return out;
  }
}

function summary(values) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, mean: null, max: null };
  const s = Float64Array.from(values).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  let total = 0;
  for (const v of s) total += v;
  return { n: s.length, p50: at(50), p99: at(99), mean: total / s.length, max: s[s.length - 1] };
}

/** @param {TickTimes} times @param {() => object} [extra] */
export function onReportSignal(times, extra = () => ({})) {
  process.on('SIGUSR2', () => {
    process.stdout.write(`${JSON.stringify({ event: 'ticks', ...times.take(), ...extra() })}\n`);
  });
}

export function exitWithParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}

/**
 * The command line both baseline servers take:
 * `--scene <file> --port <port> [--tick-rate 60] [--send-rate 20] [--max-players 64]`.
 * Prints the usage and exits 2 when the scene or port is missing.
 */
export function serverArgs(script) {
  const { values: args } = parseArgs({
    options: {
      scene: { type: 'string' },
      port: { type: 'string' },
      'tick-rate': { type: 'string', default: '60' },
      'send-rate': { type: 'string', default: '20' },
      'max-players': { type: 'string', default: '64' },
      // colyseus-server.mjs: schema types at keel's precision (int32/int16) instead of float32.
      quantised: { type: 'boolean', default: false },
    },
  });
  if (!args.scene || !args.port) {
    process.stderr.write(`usage: ${script} --scene <file> --port <port> [--tick-rate 60] [--send-rate 20] [--max-players 64]\n`);
    process.exit(2);
  }
  return {
    scene: args.scene,
    port: Number(args.port),
    tickRate: Number(args['tick-rate']),
    sendRate: Number(args['send-rate']),
    maxPlayers: Number(args['max-players']),
  };
}
