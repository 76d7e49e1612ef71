// Reference for the affinity suite: a bare Node 60 Hz loop that sleeps with setTimeout against
// absolute deadlines (start + n·step), as a game loop does, does no work per tick, and records
// how late each tick starts after its deadline (clamped at 0, as keel's loop counts it: Node
// timers have whole-ms granularity and may fire a fraction of a ms early). After --warmup-ms it records for --seconds, then
// prints one JSON line ({ n, p50, p99, p999, max, mean, over1ms } in ms, exact from the samples)
// and exits. Bounded: it exits on its own when the window ends, and on SIGTERM/SIGINT prints
// what it has.
//
//   node bench/affinity/lateness-loop.mjs [--hz 60] [--warmup-ms 1000] [--seconds 10]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};
const hz = Math.min(1000, Math.max(1, arg('--hz', 60)));
const warmupMs = Math.min(60_000, arg('--warmup-ms', 1000));
const seconds = Math.min(600, Math.max(0.1, arg('--seconds', 10)));
const step = 1000 / hz;
const origin = performance.now();
const recordFrom = origin + warmupMs;
const recordUntil = recordFrom + seconds * 1000;
const late = new Float64Array(Math.ceil((seconds + 1) * hz) + 16);
let count = 0;
let early = 0;
let n = 0;
let done = false;

function cpusAllowed() {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

function finish(reason) {
  if (done) return;
  done = true;
  clearTimeout(guard);
  const s = late.slice(0, count).sort();
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null);
  let sum = 0;
  let over1ms = 0;
  for (const x of s) {
    sum += x;
    if (x > 1) over1ms++;
  }
  const out = { reason, hz, seconds: (Math.min(performance.now(), recordUntil) - recordFrom) / 1000, n: s.length, p50: at(50), p99: at(99), p999: at(99.9), max: s.length ? s[s.length - 1] : null, mean: s.length ? sum / s.length : null, over1ms, early, cpus: cpusAllowed(), pid: process.pid };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function tick() {
  if (done) return;
  const now = performance.now();
  const deadline = origin + n * step;
  if (deadline >= recordFrom && count < late.length) {
    if (now < deadline) early++;
    late[count++] = Math.max(0, now - deadline);
  }
  if (deadline + step > recordUntil) return finish('done');
  n++;
  setTimeout(tick, Math.max(0, origin + n * step - performance.now()));
}
n = 1;
setTimeout(tick, step);

// Even a loop starved of CPU ends: at most a few seconds after its window should have.
const guard = setTimeout(() => finish('time limit'), warmupMs + seconds * 1000 + 5000);
process.on('SIGTERM', () => finish('SIGTERM'));
process.on('SIGINT', () => finish('SIGINT'));
