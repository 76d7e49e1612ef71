/**
 * `keel edit [scenes-dir]`: the editor alone for a folder of scenes. It starts the Vite dev
 * server with the editor page, the scene read API and the scene write API (runtime/node/dev/)
 * on 127.0.0.1, prints the editor's address, and stops on Ctrl-C.
 *
 * Vite is a development dependency: it is imported here on use only, and kept out of the
 * server bundle (scripts/bundle.mjs marks it external), so `keel serve` never loads it.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EXIT } from '../runtime/node/exit-codes.js';
import { packageRoot } from './package-root.js';

export interface EditOptions {
  scenesDir: string | undefined;
  port: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the editor should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
}

/** Runs the editor's dev server until stopped; resolves with the exit code. */
export async function edit(opts: EditOptions): Promise<number> {
  const dir = resolve(opts.cwd, opts.scenesDir ?? opts.env.KEEL_SCENES_DIR ?? 'scenes');
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    process.stderr.write(`keel edit: scenes folder ${dir} does not exist or is not a folder\n`);
    return EXIT.config;
  }
  const portText = opts.port ?? opts.env.KEEL_WEB_PORT ?? '5173';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    process.stderr.write(`keel edit: --port (env KEEL_WEB_PORT) must be a port number 1-65535, got "${portText}"\n`);
    return EXIT.config;
  }
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    process.stderr.write('keel edit: needs the development dependencies (vite); run npm install in the keel folder\n');
    return EXIT.config;
  }
  // Vite ends the process on SIGTERM itself (after closing the server) and keeps an exit code
  // already set: a stop on request is a clean exit.
  const stop =
    opts.until ??
    new Promise<void>((r) => {
      const done = () => {
        process.exitCode = EXIT.ok;
        r();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  const root = packageRoot();
  // vite.config.ts reads the scenes folder from here when it loads.
  process.env.KEEL_SCENES_DIR = dir;
  let server: Awaited<ReturnType<typeof vite.createServer>>;
  try {
    server = await vite.createServer({ root, configFile: join(root, 'vite.config.ts'), server: { port, host: '127.0.0.1', strictPort: true } });
    await server.listen();
  } catch (err) {
    process.stderr.write(`keel edit: the dev server failed to start on 127.0.0.1:${port}: ${(err as Error).message}\n`);
    return EXIT.config;
  }
  const web = `http://127.0.0.1:${port}`;
  process.stdout.write(`keel editor for ${dir} (Ctrl-C stops it)\n  Editor  ${web}/editor/\n`);
  await stop;
  await server.close();
  return EXIT.ok;
}
