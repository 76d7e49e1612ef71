// Baseline for idle CPU: a bare Node process running an empty 60 Hz loop that sleeps with
// setTimeout against absolute deadlines (start + n·step), the way a game loop must to avoid
// drift. No work per tick. Exits on SIGTERM/SIGINT, or after --max-s seconds (default 600).
import { performance } from 'node:perf_hooks';

const hz = Number(process.argv[process.argv.indexOf('--hz') + 1]) || 60;
const maxS = Number(process.argv[process.argv.indexOf('--max-s') + 1]) || 600;
const step = 1000 / hz;
const origin = performance.now();
let n = 0;
let running = true;

function tick() {
  if (!running) return;
  n++;
  const next = origin + n * step;
  setTimeout(tick, Math.max(0, next - performance.now()));
}
setTimeout(tick, step);

const stop = () => {
  running = false;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxS * 1000).unref();
