#!/usr/bin/env node
/**
 * The bench runner: `npm run bench [-- --quick] [--only server,net] [--markdown]`.
 *
 * Runs each suite found in SUITES (bench/<suite>/index.mjs, skipped when its folder is missing),
 * prints the machine and every table the suites return on stdout, progress on stderr, and
 * writes bench/results/<timestamp>.json and .md. A suite exports
 *   async function run({ quick, progress, repo, signal }) -> [{ title, columns, rows, notes? }]
 * where `signal` is aborted on SIGINT/SIGTERM. Every process a suite starts through
 * lib/proc.mjs is stopped by PID when the run ends, fails or is interrupted.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { machineInfo, machineLines, markdownTable, textTable } from './lib/format.mjs';
import { killAllSync, stopAll, tracked } from './lib/proc.mjs';

/** Suites in the order they run. */
const SUITES = ['server', 'net', 'assets', 'affinity', 'client', 'editor-core', 'editor', 'live'];

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);

function parseArgs(argv) {
  const opts = { quick: false, only: /** @type {string[] | null} */ (null), markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--markdown') opts.markdown = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error('--only needs a comma-separated list of suites');
      opts.only = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node bench/run.mjs [--quick] [--only ${SUITES.join(',')}] [--markdown]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (opts.only) {
    const unknown = opts.only.filter((s) => !SUITES.includes(s));
    if (unknown.length) throw new Error(`unknown suite ${unknown.join(', ')} (known: ${SUITES.join(', ')})`);
  }
  return opts;
}

/** Progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
function makeProgress(suite, t0) {
  const tty = process.stderr.isTTY === true;
  return (msg) => {
    const line = `[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${suite}: ${msg}`;
    if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
    else process.stderr.write(`${line}\n`);
  };
}
const endProgress = () => {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
};

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (sig) => {
    if (interrupted) {
      killAllSync();
      process.exit(130);
    }
    interrupted = true;
    endProgress();
    process.stderr.write(`bench: ${sig}: stopping ${tracked().length} process(es)\n`);
    abort.abort(new Error(`interrupted by ${sig}`));
    void stopAll(1500).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllSync);

  const t0 = performance.now();
  const started = new Date();
  const machine = machineInfo();
  const header = [`keel bench — ${started.toISOString()}${opts.quick ? ' (--quick: short windows, figures are rough)' : ''}`, ...machineLines(machine)];
  process.stdout.write(`${header.join('\n')}\n\n`);

  const results = { startedAt: started.toISOString(), quick: opts.quick, machine, suites: /** @type {any[]} */ ([]) };
  let failed = false;
  for (const suite of SUITES) {
    if (opts.only && !opts.only.includes(suite)) continue;
    const entry = join(here, suite, 'index.mjs');
    if (!existsSync(join(here, suite))) continue;
    if (!existsSync(entry)) {
      process.stderr.write(`bench: skipping ${suite}: ${relative(repo, entry)} is missing\n`);
      continue;
    }
    const progress = makeProgress(suite, t0);
    const ts = performance.now();
    progress('starting');
    let tables = [];
    let error = null;
    try {
      const mod = await import(pathToFileURL(entry).href);
      if (typeof mod.run !== 'function') throw new Error(`${relative(repo, entry)} does not export run()`);
      tables = await mod.run({ quick: opts.quick, progress, repo, signal: abort.signal });
      if (!Array.isArray(tables)) throw new Error(`${suite}: run() did not return an array of tables`);
    } catch (err) {
      error = err;
      failed = true;
    } finally {
      await stopAll(2000); // anything the suite left running
    }
    endProgress();
    if (interrupted) return 130;
    const seconds = (performance.now() - ts) / 1000;
    process.stderr.write(`bench: ${suite} ${error ? 'failed' : 'done'} in ${seconds.toFixed(1)} s\n`);
    for (const t of tables) process.stdout.write(`${textTable(t)}\n\n`);
    if (error) process.stdout.write(`${suite}: FAILED: ${error.stack ?? error}\n\n`);
    results.suites.push({ suite, seconds, error: error ? String(error.stack ?? error) : undefined, tables });
  }
  if (results.suites.length === 0) process.stdout.write('no suites ran\n');

  const md = [
    `# keel bench, ${started.toISOString()}${opts.quick ? ' (quick)' : ''}`,
    '',
    ...machineLines(machine).map((l) => `- ${l.replace(/:\s+/, ': ')}`),
    '',
    ...results.suites.flatMap((s) => [...s.tables.map((t) => `${markdownTable(t)}\n`), ...(s.error ? [`${s.suite} failed: \`${s.error.split('\n')[0]}\`\n`] : [])]),
  ].join('\n');
  if (opts.markdown) process.stdout.write(`${md}\n`);

  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), `${md}\n`);
  process.stderr.write(`bench: results in ${relative(process.cwd(), join(dir, stamp))}.{json,md} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    await stopAll(1500);
    process.exitCode = 1;
  },
);
