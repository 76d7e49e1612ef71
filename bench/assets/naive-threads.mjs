#!/usr/bin/env node
/**
 * The naive baseline of the shared-assets memory bench: N instances on worker threads of one
 * process, each reading its own private copy of the scene's heightfields.
 *
 *   node bench/assets/naive-threads.mjs --scene PATH --count N --base-port P
 *
 * Each worker runs dist/fleet-worker.mjs, the very code a thread-mode fleet instance runs, with
 * the same per-instance environment (game port P+i, id; no health port), but with no
 * shared heightfields: the worker's AssetRoot starts empty and reads the file into memory of its
 * own, as `keel serve` does. The main thread reads nothing. So the only difference from
 * `keel fleet --mode thread` is that the asset is held N times instead of once (and there is no
 * supervision, status listener or log formatting on the main thread).
 *
 * Prints `ready N` once every instance is accepting connections; on SIGTERM or SIGINT it asks
 * each instance to stop, waits up to 5 s for them, ends the rest and exits.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workerFile = join(repo, 'dist/fleet-worker.mjs');
const heartbeatModule = join(repo, 'dist/runtime/node/health/heartbeat.js');

function parseArgs(argv) {
  const o = { scene: '', count: 1, basePort: 0 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--scene') o.scene = resolve(v), i++;
    else if (argv[i] === '--count') o.count = Number(v), i++;
    else if (argv[i] === '--base-port') o.basePort = Number(v), i++;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.scene || !Number.isInteger(o.count) || o.count < 1 || !Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + 1000 + o.count > 65535) {
    throw new Error('usage: naive-threads.mjs --scene PATH --count N --base-port P');
  }
  return o;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const f of [workerFile, heartbeatModule]) if (!existsSync(f)) throw new Error(`${f} is missing; run npm run build`);
  const { Heartbeat } = await import(pathToFileURL(heartbeatModule).href);
  const width = String(opts.count).length < 2 ? 2 : String(opts.count).length;
  const workers = [];
  let started = 0;
  for (let i = 0; i < opts.count; i++) {
    const id = `Naive-${String(i + 1).padStart(width, '0')}`;
    const env = {
      ...process.env,
      SERVER_PORT: String(opts.basePort + i),
      // No health endpoint: a thread-mode fleet serves those from its main thread, not from an
      // extra thread per instance, so a health thread here would charge the baseline for it.
      SERVER_HEALTH_PORT: '0',
      SERVER_ID: id,
      SERVER_LOG_FORMAT: 'json',
    };
    const workerData = { scene: opts.scene, cwd: dirname(opts.scene), flags: {}, shared: [], heartbeat: new Heartbeat().buffer, cpus: undefined };
    const w = new Worker(workerFile, { workerData, env, stdout: true, stderr: true, name: id });
    w.stdout.resume(); // log lines: drained, not kept
    w.stderr.on('data', (c) => process.stderr.write(`[${id}] ${c}`));
    const exited = new Promise((r) => w.once('exit', r));
    w.on('message', (msg) => {
      if (msg?.type === 'started' && ++started === opts.count) process.stdout.write(`ready ${opts.count}\n`);
    });
    w.on('error', (err) => process.stderr.write(`[${id}] ${err.stack ?? err}\n`));
    void exited.then((code) => {
      if (!stopping) {
        process.stderr.write(`[${id}] exited (code ${code}) before being asked to\n`);
        void stop(1);
      }
    });
    workers.push({ w, exited });
  }

  let stopping = false;
  async function stop(code) {
    if (stopping) return;
    stopping = true;
    for (const { w } of workers) w.postMessage({ type: 'stop', reason: 'bench done' });
    let timer;
    await Promise.race([Promise.all(workers.map((x) => x.exited)), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    await Promise.all(workers.map(({ w }) => w.terminate()));
    process.exit(code);
  }
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
}

main().catch((err) => {
  process.stderr.write(`naive-threads: ${err.stack ?? err}\n`);
  process.exit(1);
});
