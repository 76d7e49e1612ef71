/**
 * Once before the process tests: make sure dist/ is built from the sources on disk. Those
 * tests run `dist/keel.mjs`, and code under test that runs from source still starts its worker
 * threads from dist/ (worker threads cannot load TypeScript), so a stale dist/ would test old
 * code. `npm test` builds first (pretest), so this finds dist/ fresh and costs a directory walk;
 * `npx vitest --project process` after an edit rebuilds here, once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './keel-process.js';

/** What dist/ is built from; newer than dist/ means stale. */
const SOURCES = ['runtime', 'cli', 'scripts/bundle.mjs', 'tsconfig.build.json', 'tsconfig.base.json', 'package.json'];
/** What the bundle step writes (every entry point the runtime loads at run time). */
const OUTPUTS = [
  'dist/keel.mjs',
  'dist/health-worker.mjs',
  'dist/fleet-worker.mjs',
  'dist/scene-parse-worker.mjs',
  'dist/keel.meta.json',
  // The unbundled build, which modules running from source (tests) start their workers from.
  'dist/runtime/node/health/health-worker.js',
  'dist/runtime/node/fleet/fleet-worker.js',
  'dist/runtime/node/scene-parse-worker.js',
];
const TERRAIN = 'scenes/assets/terrain-heights.khf';

function newestMtime(path: string, depth = 0): number {
  if (!existsSync(path) || depth > 20) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name), depth + 1));
  return newest;
}

/** Why dist/ must be rebuilt, or null when it is up to date. */
export function staleReason(root = REPO): string | null {
  const outputs = OUTPUTS.map((o) => join(root, o));
  const missing = outputs.find((o) => !existsSync(o));
  if (missing) return `${missing} is missing`;
  // The bundle step rewrites its metafile on every build; tsc (incremental) rewrites only what changed.
  const built = statSync(join(root, 'dist/keel.meta.json')).mtimeMs;
  const src = Math.max(...SOURCES.map((s) => newestMtime(join(root, s))));
  return src > built ? 'sources changed since the last build' : null;
}

export default function setup(): void {
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: REPO, stdio: 'inherit', timeout: 300_000 });
  const why = staleReason();
  if (why) {
    process.stdout.write(`globalSetup: building dist/ (${why})\n`);
    run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
    run(process.execPath, ['scripts/bundle.mjs']);
  }
  if (!existsSync(join(REPO, TERRAIN))) run(process.execPath, ['scripts/generate-terrain.mjs']);
}
