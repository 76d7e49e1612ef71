// Bundles the CLI (and with it the headless server) into one ES module, dist/keel.mjs.
// One file loads markedly faster than the ~150 modules it is made of (measured in
// `npm run bench`: start to accepting connections), and the metafile written beside it
// lists every module the server can reach, which test/architecture.test.ts checks.
import { build } from 'esbuild';
import { writeFile } from 'node:fs/promises';

const root = new URL('../', import.meta.url);
const result = await build({
  // The health worker and the fleet's instance worker run on their own threads from their own files, found beside the bundle.
  entryPoints: {
    keel: new URL('dist/cli/keel.js', root).pathname,
    'health-worker': new URL('dist/runtime/node/health/health-worker.js', root).pathname,
    // A server's scene reloads are read and validated on a worker thread from this file.
    'scene-parse-worker': new URL('dist/runtime/node/scene-parse-worker.js', root).pathname,
    // Each thread-mode fleet instance runs on a worker thread from this file.
    'fleet-worker': new URL('dist/runtime/node/fleet/fleet-worker.js', root).pathname,
  },
  outdir: new URL('dist/', root).pathname,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  metafile: true,
  logLevel: 'warning',
  // Optional native speed-ups of ws and the macOS watcher: loaded only if installed. Vite
  // (a dev dependency) is imported by `keel edit` on use and never bundled into the server.
  external: ['bufferutil', 'utf-8-validate', 'fsevents', 'vite'],
  // The entry keeps its own #! line; esbuild puts it above this banner.
  banner: { js: "import { createRequire as __keelRequire } from 'node:module'; const require = __keelRequire(import.meta.url);" },
});
await writeFile(new URL('dist/keel.meta.json', root), JSON.stringify(result.metafile));
