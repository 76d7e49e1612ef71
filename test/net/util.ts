/**
 * Shared helpers for the network tests: a `keel serve` process on a free port, raw sockets for
 * frames a well-behaved client never sends, and an in-process instance with a captured log.
 */
import WebSocket from 'ws';
import { Writable } from 'node:stream';
import { RunMode } from '../../runtime/core/index.js';
import { AssetRoot } from '../../runtime/node/assets.js';
import { finishConfig, resolveEarlyConfig } from '../../runtime/node/config.js';
import { createLogger } from '../../runtime/node/logger.js';
import { loadSceneFile, type LoadedScene } from '../../runtime/node/scene-loader.js';
import { ServerInstance } from '../../runtime/node/server-instance.js';
import { freePort } from '../helpers/ports.js';
import { REPO, startKeel, type KeelProcess } from '../helpers/keel-process.js';

export const HOST = '127.0.0.1';

/** Starts `keel serve <scene>` with JSON logs on a free port and waits for `Listening on`. */
export async function serve(scene: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ proc: KeelProcess; url: string; port: number }> {
  const port = await freePort();
  const proc = startKeel(['serve', scene, '--port', String(port), '--host', HOST, '--log-format', 'json', ...extra], { env });
  await proc.waitForRecord((r) => String(r.msg).startsWith('Listening on'), 20_000);
  return { proc, url: `ws://${HOST}:${port}`, port };
}

export interface RawSocket {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  /** Every binary frame received so far. */
  frames: Uint8Array[];
}

/** A raw socket for sending frames a well-behaved client never would. */
export function raw(url: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const frames: Uint8Array[] = [];
    ws.on('message', (d: Buffer) => frames.push(new Uint8Array(d)));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('open', () => resolve({ ws, closed, frames }));
    ws.on('error', reject);
  });
}

/** Resolves with `p`, or rejects naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/**
 * A ServerInstance in this process on a free port, from `scenes/arena.json` changed by `edit`
 * after loading (so a document the validator would refuse can be served), logging JSON records
 * into `lines`.
 */
export async function inProcess(edit: (scene: LoadedScene) => LoadedScene = (s) => s, flags: Record<string, string> = {}) {
  const port = await freePort();
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const early = resolveEarlyConfig({
    scene: 'scenes/arena.json',
    flags: { port: String(port), id: 'Net-Test', host: HOST, watch: 'false', healthPort: '0', ...flags },
    env: {},
    cwd: REPO,
    stdoutIsTTY: false,
  });
  const assets = new AssetRoot(early.assets);
  const scene = edit(await loadSceneFile(early.scene, assets, RunMode.Server, REPO));
  const config = finishConfig(early, scene.doc);
  const logger = createLogger({ id: config.id, world: config.world, level: 'info', format: 'json', stream });
  const instance = new ServerInstance(config, { logger, scene, assets });
  await instance.start();
  return { instance, url: `ws://${HOST}:${port}`, lines };
}
