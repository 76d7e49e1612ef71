/**
 * The only way a browser writes to disk: a Vite dev-server plugin that saves scene files.
 *
 *   PUT  /__keel/scenes/<name>.json   body: the scene (JSON), headers:
 *          X-Keel-Token: <token of this start>   (from <meta name="keel-token"> in served pages)
 *          If-Match: <sha256 hex of the version loaded>   (required when the file exists)
 *        200 {hash, bytes} + ETag · 403 bad token/Origin/Host/path · 409 stale If-Match {current}
 *        413 body over the cap · 422 invalid scene {problems:[{pointer, rule, message}]} · 428 no If-Match
 *   PUT  /__keel/scenes/<name>.json   Content-Type: application/vnd.keel.scene-edits+json
 *          body {"edits": [SceneEdit, …]}: the edits since the version If-Match names (required,
 *          a hash, not `*`), applied here to that version; the same answers, plus 400 for a
 *          malformed edit list. An editor saving a large scene sends what it changed, not the
 *          whole document; the result on disk is the same bytes a full save would write.
 *   POST /__keel/scenes               body {"name": "<name>", "template"?: "empty" | "basic"}
 *        201 {name, hash} · 409 the file exists · same 403/413 rules
 *
 * Every write is validated by the core's validator, written in canonical form
 * (runtime/core/scene/canonical.ts; each file's SceneTextWriter reformats only the entities that
 * changed since its last save) and replaced atomically (temporary file in the same folder,
 * fsync, rename, fsync of the folder). Writes to one file are serialised, so the If-Match check
 * and the rename cannot interleave with another save from this server.
 *
 * Cross-site and rebinding defences (after Vite's own advisories): the dev server binds 127.0.0.1
 * unless told otherwise; a write needs the per-start random token that only pages served by this
 * server carry; `Origin` must be this server's own origin and `Host` a loopback name with this
 * server's port, so a page on another site (or a DNS name rebound to 127.0.0.1) cannot write.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, readdir, readFile, realpath, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import type { Plugin, ViteDevServer } from 'vite';
import { checkSceneEdit } from '../../core/edit/check-scene-edit.js';
import { applySceneEdits, type SceneEdit } from '../../core/edit/scene-edit.js';
import { canonicalizeScene, SceneTextWriter } from '../../core/scene/canonical.js';
import type { SceneDocument } from '../../core/scene/schema.js';
import { SCENE_FORMAT, SCENE_VERSION } from '../../core/scene/format.js';
import { SCENE_MIGRATIONS, validateScene, type SceneProblem } from '../../core/scene/validate.js';
import { TEMP_PREFIX, writeFileAtomic } from '../atomic-write.js';
import { fileStamp } from '../file-stamp.js';

/** URL prefix of the scene file API. */
export const SCENES_API = '/__keel/scenes';
/** Largest request body accepted, in bytes (8 MiB: a 2000-entity scene is well under 2 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Header carrying the per-start write token. */
export const TOKEN_HEADER = 'x-keel-token';
/** Name of the `<meta>` tag the token is handed to pages in. */
export const TOKEN_META = 'keel-token';
/** Content type of a save that sends the edits since a version instead of the whole scene. */
export const SCENE_EDITS_TYPE = 'application/vnd.keel.scene-edits+json';

export interface SceneWritePluginOptions {
  /** The scenes folder; nothing outside it is ever written. */
  scenesDir: string;
  /** Body cap in bytes; default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** The write token; default 32 random bytes per start. Tests and tools that start the server pass one. */
  token?: string;
}

/** sha256 hex of a file's bytes: the version tag `If-Match` and `ETag` carry. */
export function sceneHash(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The scene-saving plugin; add it to a Vite config's `plugins`. It also defaults `server.host`
 * to 127.0.0.1 when the config sets no host.
 */
export function sceneWritePlugin(options: SceneWritePluginOptions): Plugin {
  const token = options.token ?? randomBytes(32).toString('hex');
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const scenesDir = resolve(options.scenesDir);
  const queues = new Map<string, Promise<unknown>>();
  // One writer per file: a save formats only the entities that changed since the last one.
  const writers = new Map<string, SceneTextWriter>();
  // Each file's last save: its stat stamp (inode, size, modification and change times), hash
  // and document, to recognise it on disk without reading and hashing it again, and to apply an
  // edits save to it without parsing it again.
  const written = new Map<string, { stamp: string; hash: string; doc: SceneDocument }>();
  /**
   * The version of `file` on disk: this server's last save of it when the file is still that
   * save (recognised by its stamp, not read), else its bytes as read now; hash null when gone.
   */
  const onDisk = async (file: string) => {
    const mine = written.get(file);
    if (mine && (await fileStamp(file)) === mine.stamp) return { mine, current: null, hash: mine.hash };
    const current = await readCurrent(file);
    return { mine: undefined, current, hash: current === null ? null : sceneHash(current) };
  };

  const writerFor = (file: string): SceneTextWriter => writers.get(file) ?? writers.set(file, new SceneTextWriter()).get(file)!;

  /** Runs `fn` after every earlier write to `file` has finished. */
  const serialised = <T>(file: string, fn: () => Promise<T>): Promise<T> => {
    const prev = queues.get(file) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    queues.set(file, tail);
    void tail.then(() => queues.get(file) === tail && queues.delete(file));
    return next;
  };

  return {
    name: 'keel:scene-write',
    config(user) {
      if (user.server?.host === undefined) return { server: { host: '127.0.0.1' } };
      return undefined;
    },
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { name: TOKEN_META, content: token }, injectTo: 'head-prepend' }];
    },
    async configureServer(server: ViteDevServer) {
      await sweepTempFiles(scenesDir);
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0]!;
        if (req.method !== 'PUT' && req.method !== 'POST') return next();
        if (path !== SCENES_API && !path.startsWith(`${SCENES_API}/`)) return next();
        handle(req, res, path, server).catch((err: unknown) => {
          server.config.logger.error(`keel: scene write failed: ${(err as Error).stack ?? String(err)}`);
          if (!res.headersSent) send(res, 500, { error: `write failed: ${(err as Error).message}` });
          else res.destroy();
        });
      });
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, server: ViteDevServer): Promise<void> {
    const refused = checkCaller(req, server);
    if (refused) return send(res, 403, { error: refused });

    if (req.method === 'POST') {
      if (path !== SCENES_API) return send(res, 405, { error: `POST goes to ${SCENES_API}` });
      const body = await readBody(req, res, maxBody);
      if (body === null) return;
      return create(body, res);
    }
    if (path === SCENES_API) return send(res, 405, { error: `PUT needs a file: ${SCENES_API}/<name>.json` });
    const target = await resolveTarget(scenesDir, path.slice(SCENES_API.length + 1));
    if ('error' in target) return send(res, 403, { error: target.error });
    const body = await readBody(req, res, maxBody);
    if (body === null) return;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === SCENE_EDITS_TYPE) await saveEdits(req, res, target.file, target.name, body);
    else await save(req, res, target.file, target.name, body);
  }

  function checkCaller(req: IncomingMessage, server: ViteDevServer): string | null {
    const port = (server.httpServer?.address() as AddressInfo | null)?.port;
    if (!port) return 'the dev server is not listening';
    const host = req.headers.host ?? '';
    if (!LOOPBACK_HOSTS.some((h) => host === `${h}:${port}`)) {
      return `Host "${host}" is not this dev server (expected localhost:${port} or 127.0.0.1:${port})`;
    }
    const origin = req.headers.origin;
    if (origin === undefined) return 'Origin header missing';
    if (!LOOPBACK_HOSTS.some((h) => origin === `http://${h}:${port}` || origin === `https://${h}:${port}`)) {
      return `Origin "${origin}" is not this dev server`;
    }
    const given = req.headers[TOKEN_HEADER];
    if (typeof given !== 'string' || given.length === 0) return `${TOKEN_HEADER} header missing`;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return `${TOKEN_HEADER} does not match this dev server's token`;
    return null;
  }

  async function save(req: IncomingMessage, res: ServerResponse, file: string, name: string, body: Buffer): Promise<void> {
    const checked = parseAndCanonicalize(body, name, writerFor(file));
    if (!checked.ok) return send(res, 422, { error: `${name} is not a valid scene; nothing was written`, problems: checked.problems });
    const ifMatch = parseIfMatch(req.headers['if-match']);
    await serialised(file, async () => {
      const { hash: currentHash } = await onDisk(file);
      if (currentHash !== null && ifMatch === undefined) {
        return send(res, 428, { error: `${name} exists: send If-Match with the sha256 of the version you loaded`, current: currentHash });
      }
      if (ifMatch !== undefined && ifMatch !== '*') {
        if (currentHash !== ifMatch) {
          return send(res, 409, { error: `${name} changed on disk since it was loaded`, current: currentHash });
        }
      }
      await commit(res, file, name, checked.text, checked.scene);
    });
  }

  /** Writes `text` (the canonical form of `doc`) atomically and answers 200. */
  async function commit(res: ServerResponse, file: string, name: string, text: string, doc: SceneDocument): Promise<void> {
    // Encoded once: the same bytes are hashed and written, the hash while the write's first
    // steps run on the I/O threads.
    const bytes = Buffer.from(text, 'utf8');
    const writing = writeFileAtomic(file, bytes);
    const hash = sceneHash(bytes);
    await writing;
    written.set(file, { stamp: await fileStamp(file), hash, doc });
    send(res, 200, { name, hash, bytes: bytes.length }, { ETag: `"${hash}"` });
  }

  /** An edits save: the edits since the version If-Match names, applied to that version here. */
  async function saveEdits(req: IncomingMessage, res: ServerResponse, file: string, name: string, body: Buffer): Promise<void> {
    let edits: SceneEdit[];
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { edits?: unknown };
      if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.edits)) throw new Error('body must be {"edits": [...]}');
      for (let i = 0; i < parsed.edits.length; i++) {
        const why = checkSceneEdit(parsed.edits[i], `edits[${i}]`);
        if (why) throw new Error(why);
      }
      edits = parsed.edits as SceneEdit[];
    } catch (err) {
      return send(res, 400, { error: `not an edit list: ${(err as Error).message}` });
    }
    const ifMatch = parseIfMatch(req.headers['if-match']);
    if (ifMatch === undefined || ifMatch === '*') return send(res, 428, { error: 'an edits save needs If-Match with the sha256 of the version the edits apply to' });
    await serialised(file, async () => {
      const { mine, current, hash: currentHash } = await onDisk(file);
      if (currentHash === null) return send(res, 409, { error: `${name} does not exist; save the whole scene`, current: null });
      if (currentHash !== ifMatch) return send(res, 409, { error: `${name} changed on disk since it was loaded`, current: currentHash });
      const writer = writerFor(file);
      let base: SceneDocument;
      if (mine) base = mine.doc;
      else {
        // Not written by this server (or since changed back): this very version, parsed.
        const r = validateScene(JSON.parse(current!.toString('utf8')), name, SCENE_MIGRATIONS, { owned: true });
        if (!r.ok) return send(res, 409, { error: `${name} on disk is not a valid scene; save the whole scene`, current: currentHash });
        base = r.scene;
        writer.text(base); // primes the writer with this version
      }
      let next: SceneDocument;
      try {
        next = applySceneEdits(base, edits).doc;
      } catch (err) {
        return send(res, 422, { error: `the edits do not apply to ${name}; nothing was written`, problems: [{ pointer: '', rule: 'edit', message: (err as Error).message }] });
      }
      // Only the entities the edits replaced are checked against the schema; the rest were valid.
      const known = writer.validated(next, name);
      if (known) return commit(res, file, name, writer.text(known), known);
      const checked = parseAndCanonicalize(Buffer.from(JSON.stringify(next), 'utf8'), name, writer);
      if (!checked.ok) return send(res, 422, { error: `${name} is not a valid scene; nothing was written`, problems: checked.problems });
      return commit(res, file, name, checked.text, checked.scene);
    });
  }

  async function create(body: Buffer, res: ServerResponse): Promise<void> {
    let req: { name?: unknown; template?: unknown };
    try {
      req = JSON.parse(body.toString('utf8')) as typeof req;
    } catch {
      return send(res, 400, { error: 'body must be JSON: {"name": "<scene name>"}' });
    }
    const name = typeof req.name === 'string' ? req.name : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
      return send(res, 400, { error: 'name must be 1-64 letters, digits, "-" or "_", starting with a letter or digit' });
    }
    const template = req.template ?? 'basic';
    if (template !== 'basic' && template !== 'empty') return send(res, 400, { error: 'template must be "basic" or "empty"' });
    const target = await resolveTarget(scenesDir, `${name}.json`);
    if ('error' in target) return send(res, 403, { error: target.error });
    const checked = canonicalizeScene(sceneTemplate(name, template), `${name}.json`);
    if (!checked.ok) throw new Error(`scene template "${template}" is invalid: ${checked.problems.map((p) => p.message).join('; ')}`);
    await serialised(target.file, async () => {
      if ((await readCurrent(target.file)) !== null) return send(res, 409, { error: `${name}.json already exists` });
      await writeFileAtomic(target.file, checked.text);
      const hash = sceneHash(checked.text);
      send(res, 201, { name: `${name}.json`, hash }, { ETag: `"${hash}"`, Location: `${SCENES_API}/${name}.json` });
    });
  }
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

function parseAndCanonicalize(body: Buffer, name: string, writer: SceneTextWriter): { ok: true; text: string; scene: SceneDocument } | { ok: false; problems: Omit<SceneProblem, 'file'>[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, problems: [{ pointer: '', rule: 'json-syntax', message: `invalid JSON: ${(err as Error).message}` }] };
  }
  let r: ReturnType<typeof validateScene>;
  try {
    // Most of a save is what the last save of this file wrote: only what changed is checked
    // against the schema (the whole document's ids, parents and top level always are).
    const known = writer.validated(raw, name);
    if (known) return { ok: true, text: writer.text(known), scene: known };
    // The full check, from a fresh parse (the attempt above may have filled defaults into `raw`),
    // validated in place: the body was parsed for this call alone.
    if (writer.primed) raw = JSON.parse(body.toString('utf8'));
    r = validateScene(raw, name, SCENE_MIGRATIONS, { owned: true });
  } catch (err) {
    // Nesting deep enough to exhaust the stack is refused like any other invalid scene.
    if (err instanceof RangeError) return { ok: false, problems: [{ pointer: '', rule: 'depth', message: 'the document is nested too deeply' }] };
    throw err;
  }
  if (!r.ok) return { ok: false, problems: r.problems.map(({ file: _file, ...p }) => p) };
  return { ok: true, text: writer.text(r.scene), scene: r.scene };
}

/** `If-Match` as a bare lowercase hex hash (quotes and a weak prefix are accepted), `*`, or undefined. */
function parseIfMatch(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return undefined;
  const t = v.trim().replace(/^W\//, '');
  return (t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t).toLowerCase();
}

async function readCurrent(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Maps the URL rest after `/__keel/scenes/` to a file inside `scenesDir`, or says why not. The
 * rest is percent-decoded exactly once; anything still encoded after that (double encoding), any
 * backslash, empty, `.` or `..` segment, hidden name, absolute path or name not ending in `.json`
 * is refused, and so is a path whose existing part resolves (through symlinks) outside the folder.
 */
export async function resolveTarget(scenesDir: string, rest: string): Promise<{ file: string; name: string } | { error: string }> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return { error: 'malformed percent-encoding in the scene path' };
  }
  if (decoded.includes('%')) return { error: 'the scene path is encoded more than once' };
  if (decoded.includes('\\') || decoded.includes('\0')) return { error: 'backslashes and NUL are not allowed in a scene path' };
  if (decoded.startsWith('/') || /^[A-Za-z]:/.test(decoded)) return { error: 'absolute paths are not allowed' };
  const segments = decoded.split('/');
  if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..' || s.includes('..'))) {
    return { error: `"${decoded}" is not a scene path inside the scenes folder` };
  }
  if (!decoded.endsWith('.json')) return { error: 'only .json scene files can be written' };
  if (segments.at(-1)!.startsWith(TEMP_PREFIX)) return { error: 'temporary files cannot be written' };

  const root = await realpath(scenesDir);
  const file = join(root, ...segments);
  const inside = (p: string) => p === root || p.startsWith(root + sep);
  // The deepest part of the path that exists must resolve inside the folder (no symlinked escape).
  let existing = file;
  for (let i = 0; i <= segments.length; i++) {
    try {
      await lstat(existing);
      break;
    } catch {
      existing = resolve(existing, '..');
    }
  }
  let real: string;
  try {
    real = await realpath(existing);
  } catch {
    return { error: 'the scene path does not resolve' };
  }
  if (!inside(real)) return { error: `"${decoded}" resolves outside the scenes folder` };
  if (existing === file) {
    const st = await lstat(file);
    if (!st.isFile() && !st.isSymbolicLink()) return { error: `"${decoded}" is not a file` };
    // A symlink to a scene inside the folder is saved through to its target.
    return { file: real, name: decoded };
  }
  if (existing !== resolve(file, '..')) return { error: `the folder of "${decoded}" does not exist` };
  return { file, name: decoded };
}

/**
 * Reads the request body up to `max` bytes. Past the cap (or when Content-Length says it will
 * be) it answers 413, stops reading and closes the connection, and returns null.
 */
async function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer | null> {
  const tooLarge = () => {
    send(res, 413, { error: `body is over the ${max}-byte limit` }, { Connection: 'close' });
    req.pause();
    res.once('finish', () => req.socket.destroy());
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    tooLarge();
    return null;
  }
  return new Promise<Buffer | null>((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        tooLarge();
        resolvePromise(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolvePromise(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Removes temporary files left in the folder by writers that died mid-save (their pid, part of
 * the name, is no longer running). A live writer's file is left alone.
 */
export async function sweepTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = new RegExp(`^${TEMP_PREFIX.replace(/[.]/g, '\\.')}.+\\.(\\d+)\\.[0-9a-f]+\\.tmp$`).exec(n);
    if (!m) continue;
    if (isAlive(Number(m[1]))) continue;
    await rm(join(dir, n), { force: true });
    removed.push(n);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new scene: "empty" has only settings; "basic" adds ground, light, camera and a spawn point. */
export function sceneTemplate(name: string, template: 'basic' | 'empty'): Record<string, unknown> {
  const entities =
    template === 'empty'
      ? []
      : [
          {
            id: 'ground',
            name: 'Ground',
            components: {
              transform: { position: [0, -0.5, 0] },
              mesh: { shape: 'box', size: [20, 1, 20] },
              material: { color: '#6b7280' },
              rigidBody: { type: 'static' },
              collider: { shape: 'box', size: [20, 1, 20] },
            },
          },
          { id: 'sun', name: 'Sun', components: { transform: { position: [5, 10, 5], rotation: [-45, 45, 0] }, light: { kind: 'directional' } } },
          { id: 'sky', name: 'Sky light', components: { light: { kind: 'hemisphere', intensity: 0.6 } } },
          { id: 'camera', name: 'Camera', components: { transform: { position: [0, 6, 12], rotation: [-25, 0, 0] }, camera: { active: true } } },
          { id: 'spawn-a', name: 'Spawn A', components: { transform: { position: [0, 1, 0] }, spawnPoint: {} } },
        ];
  return { $schema: './keel-scene.schema.json', format: SCENE_FORMAT, version: SCENE_VERSION, name, entities };
}
