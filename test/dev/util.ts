/** A real Vite dev server with the scene write plugin over a temp scenes folder, and raw HTTP requests to it. */
import { request } from 'node:http';
import { createServer, type ViteDevServer } from 'vite';
import { sceneWritePlugin, type SceneWritePluginOptions } from '../../runtime/node/dev/scene-write-plugin.js';
import { freePort } from '../helpers/ports.js';

export interface DevServer {
  server: ViteDevServer;
  port: number;
  origin: string;
  close(): Promise<void>;
}

/** Starts Vite on a free port with `root` as its root; `host` undefined leaves the plugin's default. */
export async function startDevServer(root: string, opts: SceneWritePluginOptions, host?: string): Promise<DevServer> {
  const port = await freePort();
  const server = await createServer({
    configFile: false,
    root,
    logLevel: 'silent',
    clearScreen: false,
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { port, strictPort: true, ...(host ? { host } : {}), watch: null },
    plugins: [sceneWritePlugin(opts)],
  });
  await server.listen();
  return { server, port, origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, any>;
}

/**
 * One request with the path sent exactly as given (no client-side normalisation of `..` or
 * percent-escapes, unlike fetch). `body` may be a string, or a number of bytes to stream in 64 KiB
 * chunks without a Content-Length (chunked) or with one (`declareLength`).
 */
export function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | { bytes: number; declareLength: boolean },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: !('Host' in headers || 'host' in headers) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let json: Record<string, any> = {};
        try {
          json = JSON.parse(text) as Record<string, any>;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
      });
      res.on('error', reject);
    });
    // Once the server has answered (413 before the body is all sent), write errors are expected.
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (body === undefined) return void req.end();
    if (typeof body === 'string') return void req.end(body);
    if (body.declareLength) req.setHeader('Content-Length', String(body.bytes));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = body.bytes;
    const pump = (): void => {
      while (left > 0 && !answered && !req.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}
