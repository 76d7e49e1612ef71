#!/usr/bin/env node
/**
 * Runs the network benchmark alone and prints its tables: `node bench/net/standalone.mjs [--quick]`.
 * Needs `npm run build` first. Every process it starts is stopped by PID when it ends, fails or
 * is interrupted.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { machineInfo, machineLines, textTable } from '../lib/format.mjs';
import { killAllSync, stopAll } from '../lib/proc.mjs';
import { run } from './index.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const unknown = argv.filter((a) => a !== '--quick');
if (unknown.length) {
  process.stderr.write(`usage: node bench/net/standalone.mjs [--quick] (unknown: ${unknown.join(' ')})\n`);
  process.exit(2);
}
const quick = argv.includes('--quick');
const abort = new AbortController();
const t0 = performance.now();
let interrupted = false;
const onSignal = (sig) => {
  if (interrupted) {
    killAllSync();
    process.exit(130);
  }
  interrupted = true;
  abort.abort(new Error(`interrupted by ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killAllSync);

process.stdout.write(`${machineLines(machineInfo()).join('\n')}\n\n`);
try {
  const tables = await run({
    quick,
    repo,
    signal: abort.signal,
    progress: (msg) => process.stderr.write(`[net ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`),
  });
  for (const t of tables) process.stdout.write(`${textTable(t)}\n\n`);
} catch (err) {
  process.stderr.write(`net bench failed: ${err?.stack ?? err}\n`);
  process.exitCode = interrupted ? 130 : 1;
} finally {
  await stopAll(2000);
}
