import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, relative, resolve, sep, isAbsolute, extname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Plugin, ViteDevServer } from 'vite';
import { normaliseAssetPath } from '../../core/index.js';

/** URL prefix of the read-only scene API. */
export const SCENES_ROUTE = '/__keel/scenes';
/** Custom HMR event sent to every page when a file under the scenes folder changes. */
export const SCENE_CHANGED_EVENT = 'keel:scene-changed';

/** The only files served, by extension, with their content type. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.khf': 'application/octet-stream',
  '.glb': 'model/gltf-binary',
};

export interface SceneReadPluginOptions {
  /** Absolute path of the scenes folder (the asset root of its scenes). */
  scenesDir: string;
}

/** Payload of the `keel:scene-changed` event. */
export interface SceneChangedPayload {
  /** Path relative to the scenes folder, with forward slashes, e.g. `arena.json` or `scripts/x.js`. */
  file: string;
  /** The scene name when the file is a scene (`arena` for `arena.json`), else null. */
  scene: string | null;
}

/**
 * Dev-server plugin that serves the scenes folder read-only:
 *   GET /__keel/scenes            → `{ "scenes": [{ "name", "file" }], "assets": ["scripts/x.js", …] }`,
 *                                   the *.json scenes and every servable file below them
 *   GET /__keel/scenes/<path>     → that file, if it is a .json, .js, .mjs, .khf or .glb inside
 * Paths are checked twice: as asset paths (no absolute path, no `..` out, no backslash, no
 * dot-segment) and after resolving symlinks (the real file must still be inside the folder).
 * Other methods pass through to the next handler (the editor's write plugin answers PUT).
 * A file change under the folder is pushed to pages as the `keel:scene-changed` HMR event.
 */
export function sceneReadPlugin(opts: SceneReadPluginOptions): Plugin {
  const dir = resolve(opts.scenesDir);
  let watcher: FSWatcher | null = null;
  return {
    name: 'keel-scene-read',
    configureServer(server: ViteDevServer) {
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? '';
        if (url !== SCENES_ROUTE && !url.startsWith(`${SCENES_ROUTE}/`) && !url.startsWith(`${SCENES_ROUTE}?`)) return next();
        if (req.method !== 'GET' && req.method !== 'HEAD') return next();
        handle(dir, req, res).catch((err: Error) => send(res, 500, { error: err.message }));
      });
      watcher = watch(dir, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 80, pollInterval: 20 } });
      const notify = (abs: string) => {
        const file = relative(dir, abs).split(sep).join('/');
        const payload: SceneChangedPayload = { file, scene: /^[^/]+\.json$/.test(file) && file !== 'keel-scene.schema.json' ? file.slice(0, -5) : null };
        server.ws.send({ type: 'custom', event: SCENE_CHANGED_EVENT, data: payload });
      };
      watcher.on('change', notify).on('add', notify).on('unlink', notify);
      server.httpServer?.once('close', () => void watcher?.close());
    },
    async buildEnd() {
      await watcher?.close();
    },
  };
}

/** The scene name rule shared with the client: letters, digits, `-`, `_`, `.`, not starting with a dot. */
export function isSceneName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(name) && !name.includes('..');
}

async function handle(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let rest: string;
  try {
    rest = decodeURIComponent(url.pathname.slice(SCENES_ROUTE.length).replace(/^\//, ''));
  } catch {
    return send(res, 400, { error: 'malformed path encoding' });
  }
  if (rest === '') return send(res, 200, { scenes: await listScenes(dir), assets: await listAssets(dir) });
  const norm = normaliseAssetPath(rest);
  if (norm === null || norm !== rest || norm.split('/').some((s) => s.startsWith('.'))) {
    return send(res, 400, { error: `"${rest}" is not a path inside the scenes folder` });
  }
  const type = CONTENT_TYPES[extname(norm).toLowerCase()];
  if (!type) return send(res, 403, { error: `"${rest}": only ${Object.keys(CONTENT_TYPES).join(', ')} files are served` });
  const abs = join(dir, ...norm.split('/'));
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    return send(res, 404, { error: `"${rest}": no such file in the scenes folder` });
  }
  const realDir = await realpath(dir);
  const rel = relative(realDir, real);
  if (rel.startsWith('..') || isAbsolute(rel)) return send(res, 403, { error: `"${rest}" resolves outside the scenes folder` });
  const st = await stat(real);
  if (!st.isFile()) return send(res, 404, { error: `"${rest}" is not a file` });
  res.writeHead(200, {
    'content-type': type,
    'content-length': String(st.size),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(real).pipe(res);
}

async function listScenes(dir: string): Promise<{ name: string; file: string }[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => n.endsWith('.json') && n !== 'keel-scene.schema.json' && isSceneName(n.slice(0, -5)))
    .sort()
    .map((n) => ({ name: n.slice(0, -5), file: n }));
}

/** Every servable file under the folder (for the editor's asset and script pickers), at most 5000, hidden names skipped. */
async function listAssets(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 8 || out.length >= 5000) return;
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.') || out.length >= 5000) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path, depth + 1);
      else if (e.isFile() && CONTENT_TYPES[extname(e.name).toLowerCase()] && !(rel === '' && e.name.endsWith('.json'))) out.push(path);
    }
  };
  await walk('', 0);
  return out.sort();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
