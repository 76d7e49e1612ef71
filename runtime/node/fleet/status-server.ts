import { createServer, type Server } from 'node:http';
import type { FleetReport } from './fleet.js';

/** Pages on this machine (the editor's dev server) may read the status; other sites may not. */
const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/;

/**
 * The fleet's status listener: GET /status (or /) is the whole fleet as JSON, one entry per
 * instance (with its admin port when the fleet gives them out, for the editor's fleet picker);
 * /livez answers 200 while the fleet runs; /readyz 200 when every instance is healthy, else 503
 * with the same JSON. A browser page may read it only from a loopback origin.
 */
export class FleetStatusServer {
  private server: Server | null = null;

  constructor(private readonly report: () => FleetReport) {}

  listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (code: number, body: unknown) => {
        const text = `${JSON.stringify(body, null, 2)}\n`;
        const origin = req.headers.origin;
        const cors = origin && LOOPBACK_ORIGIN.test(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : { vary: 'Origin' };
        res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...cors });
        res.end(req.method === 'HEAD' ? undefined : text);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET only' });
      if (path === '/' || path === '/status') return send(200, this.report());
      if (path === '/livez') return send(200, { ok: true, pid: process.pid });
      if (path === '/readyz') {
        const r = this.report();
        return send(r.healthy === r.count && !r.stopping ? 200 : 503, r);
      }
      send(404, { error: 'not found', endpoints: ['/status', '/livez', '/readyz'] });
    });
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`status port ${port} on ${host} is already in use`) : err),
      );
      server.listen(port, host, () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    s.closeAllConnections();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
