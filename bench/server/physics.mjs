// Physics micro-bench: steps a world of N dynamic boxes above a ground box at 1/60 s through
// keel's compiled physics (dist/runtime/core, the engine the server runs: cannon-es or Rapier)
// and prints one JSON line with step times while the bodies are awake (falling, colliding) and
// after they have settled to sleep. Every phase is bounded in steps and in wall time.
// Usage: node physics.mjs --repo <dir> --bodies N [--backend cannon|rapier] [--awake-steps 300]
//                         [--asleep-steps 300] [--settle-steps 3600] [--max-ms 30000]
//        node physics.mjs --repo <dir> --ramp [--backend cannon|rapier] [--max-ms 60000]
//   --ramp: the largest number of awake boxes whose step p99 stays under one 60 Hz tick
//   (16.7 ms): grows N by 1.25× from 100 until a world fails, then bisects between the last
//   pass and the first fail; each trial times 120 awake steps (the pile falling and landing)
//   and stops early once more than 1 % of them are over the tick (--ramp-quantile 0.5: half).
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const repo = arg('--repo', process.cwd());
const bodies = Number(arg('--bodies', '100'));
const awakeSteps = Number(arg('--awake-steps', '300'));
const asleepSteps = Number(arg('--asleep-steps', '300'));
const settleSteps = Number(arg('--settle-steps', '3600'));
const maxMs = Number(arg('--max-ms', '30000'));
const backend = arg('--backend', 'cannon');
const ramp = process.argv.includes('--ramp');
const rampQuantile = Number(arg('--ramp-quantile', '0.99'));
const warmSteps = Number(arg('--warm-steps', '180'));

const { loadPhysics } = await import(pathToFileURL(join(repo, 'dist/runtime/core/index.js')).href);
// As the server does (runtime/node/wasm-tiering.ts), so this measures what it runs.
if (backend === 'rapier') (await import(pathToFileURL(join(repo, 'dist/runtime/node/wasm-tiering.js')).href)).disableWasmTierUp();
const createPhysics = await loadPhysics(backend);

const DT = 1 / 60;
const t0 = performance.now();
const timeLeft = () => maxMs - (performance.now() - t0);

// Deterministic jitter so every run builds the same pile.
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) % 1_000_000) / 1_000_000;
};

const staticBody = { type: 'static', mass: 0, linearDamping: 0.01, angularDamping: 0.01, fixedRotation: false, allowSleep: true };
const dynamicBody = { ...staticBody, type: 'dynamic', mass: 1 };
const box = (size) => ({ shape: 'box', size, offset: [0, 0, 0], friction: 0.4, restitution: 0.1, trigger: false });
const plane = { shape: 'plane', offset: [0, 0, 0], friction: 0.4, restitution: 0.1, trigger: false };

/** A world with the ground plane and `n` boxes in two layers (see below). */
function build(n) {
  const world = createPhysics({ gravity: [0, -9.81, 0] });
  world.addBody('ground', { rigidBody: staticBody, collider: plane, position: [0, 0, 0], rotation: [0, 0, 0, 1] });
  addBoxes(world, n);
  return world;
}


// Two layers of unit boxes on a grid 1.5 m apart, each upper box 2 m above a lower one, so it
// lands on it: contacts between bodies as well as with the ground. Small offsets and tilts make
// the landings uneven; the stacks then come to rest and sleep.
function addBoxes(world, n) {
  const perLayer = Math.ceil(n / 2);
  const side = Math.ceil(Math.sqrt(perLayer));
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / perLayer);
    const k = i % perLayer;
    const x = ((k % side) - side / 2) * 1.5 + (rand() - 0.5) * 0.2;
    const z = (Math.floor(k / side) - side / 2) * 1.5 + (rand() - 0.5) * 0.2;
    const y = 0.5 + 0.5 * rand() + layer * 2;
    const a = (rand() - 0.5) * 0.2;
    world.addBody(`b${i}`, { rigidBody: dynamicBody, collider: box([1, 1, 1]), position: [x, y, z], rotation: [Math.sin(a / 2), 0, 0, Math.cos(a / 2)] });
  }
}

// Warm-up on a small world of its own, so the timings below are of optimised code, not of the
// JIT compiling the engine's collision paths during the first steps.
{
  const warm = build(64);
  for (let i = 0; i < warmSteps && timeLeft() > maxMs * 0.9; i++) warm.step(DT);
  warm.dispose();
}

if (ramp) {
  const TICK_MS = 1000 / 60;
  const STEPS = 120;
  const trials = [];
  /** Times up to STEPS awake steps of a fresh pile of n boxes; true when p99 < one tick. */
  const holds = (n) => {
    seed = 0x9e3779b9;
    const w = build(n);
    const times = [];
    let over = 0;
    for (let i = 0; i < STEPS && w.stats().awake > 0; i++) {
      const s = performance.now();
      w.step(DT);
      const ms = performance.now() - s;
      times.push(ms);
      if (ms >= TICK_MS && ++over > STEPS * (1 - rampQuantile)) break;
    }
    w.dispose();
    times.sort((a, b) => a - b);
    const p99 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)];
    const ok = over <= STEPS * (1 - rampQuantile) && times.length >= STEPS / 2;
    trials.push({ n, steps: times.length, p50: times[Math.floor(times.length / 2)], p99, ok });
    return ok;
  };
  let pass = 0;
  let fail = null;
  for (let n = 100; fail === null && timeLeft() > 0; n = Math.ceil(n * 1.25)) {
    if (holds(n)) pass = n;
    else fail = n;
  }
  // Bisect to within 2 %.
  while (fail !== null && fail - pass > Math.max(10, pass * 0.02) && timeLeft() > 0) {
    const mid = Math.round((pass + fail) / 2);
    if (holds(mid)) pass = mid;
    else fail = mid;
  }
  process.stdout.write(`${JSON.stringify({ backend, ramp: true, quantile: rampQuantile, holds: pass, failsAt: fail, trials, wallMs: performance.now() - t0, timedOut: timeLeft() <= 0 })}\n`);
  process.exit(0);
}
seed = 0x9e3779b9;
const physics = build(bodies);

const step = () => {
  const s = performance.now();
  physics.step(DT);
  return performance.now() - s;
};

// Phase 1: awake. The first steps while any body is awake (falling, colliding, coming to rest).
const awake = [];
let steps = 0;
// Half the time budget at most, so the later phases always run.
for (let i = 0; i < awakeSteps && timeLeft() > maxMs / 2; i++) {
  if (physics.stats().awake === 0) break;
  awake.push(step());
  steps++;
}
const awakeLeft = physics.stats().awake;

// Phase 2: settle until every body sleeps (bounded), then time the steps after that. If some
// body never sleeps within the bounds, the world keeps stepping: `stillAwake` says so.
let settledAt = null;
// A quarter of the time budget stays for the last phase.
for (let i = 0; i < settleSteps && timeLeft() > maxMs / 4; i++) {
  if (physics.stats().awake === 0) {
    settledAt = steps;
    break;
  }
  step();
  steps++;
}
const asleep = [];
const stillAwake = physics.stats().awake;
for (let i = 0; i < asleepSteps && timeLeft() > 0; i++) asleep.push(step());

process.stdout.write(
  `${JSON.stringify({
    backend,
    bodies,
    awake,
    awakeAtEndOfPhase: awakeLeft,
    settledAtStep: settledAt,
    stillAwake,
    asleep,
    skippedSteps: physics.stats().skippedSteps,
    wallMs: performance.now() - t0,
    timedOut: timeLeft() <= 0,
  })}\n`,
);
physics.dispose();
