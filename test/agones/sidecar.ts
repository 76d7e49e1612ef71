/**
 * A stand-in for the Agones SDK sidecar's REST gateway, on 127.0.0.1 in the test process. It
 * records every call (method, path, parsed body, arrival time) and answers the way the sidecar
 * does for the calls keel makes: `{}` for lifecycle and labels, and, for the `players` List, the
 * List's semantics (capacity, values, "already exists" / "not found" / "out of range" errors as
 * the gateway returns them: HTTP 500 with `{"code":2,"message":...}`).
 *
 * Modes, to play a sidecar that is not up yet:
 * - `down`: the port is not bound (connections are refused);
 * - `mute`: the port is bound but each request's socket is destroyed unanswered (recorded with
 *   `answered: false`), as when the sidecar's process is still starting;
 * - `up`: answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface SidecarCall {
  method: string;
  path: string;
  body: any;
  at: number;
  answered: boolean;
}

export type SidecarMode = 'down' | 'mute' | 'up';

export class SidecarStandIn {
  readonly calls: SidecarCall[] = [];
  readonly list = { capacity: 1000, values: [] as string[] };
  readonly labels = new Map<string, string>();
  private modeNow: SidecarMode = 'down';
  private readonly server = createServer((req, res) => this.handle(req, res));
  /** Extra delay before answering, for the in-flight bound. */
  delayMs = 0;

  constructor(readonly port: number) {
    // Keep-alive sockets would hold close() open.
    this.server.keepAliveTimeout = 1000;
  }

  get mode(): SidecarMode {
    return this.modeNow;
  }

  /** Switches mode, binding or unbinding the port as needed. */
  async setMode(mode: SidecarMode): Promise<void> {
    if (mode !== 'down' && !this.server.listening) {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    }
    if (mode === 'down' && this.server.listening) await this.close();
    this.modeNow = mode;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Calls to `path` (exact, or matching a RegExp), answered ones only unless `all`. */
  to(path: string | RegExp, all = false): SidecarCall[] {
    return this.calls.filter((c) => (all || c.answered) && (typeof path === 'string' ? c.path === path : path.test(c.path)));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const call: SidecarCall = { method: req.method ?? '', path: req.url ?? '', body, at: Date.now(), answered: this.modeNow === 'up' };
      this.calls.push(call);
      if (this.modeNow !== 'up') {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        const [status, out] = this.answer(call);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      };
      if (this.delayMs > 0) setTimeout(answer, this.delayMs);
      else answer();
    });
  }

  private answer(c: SidecarCall): [number, unknown] {
    const err = (message: string): [number, unknown] => [500, { code: 2, message }];
    const path = c.path.split('?')[0];
    if (c.method === 'PUT' && path === '/metadata/label') {
      this.labels.set(String(c.body?.key), String(c.body?.value));
      return [200, {}];
    }
    if (c.method === 'PATCH' && path === '/v1beta1/lists/players') {
      this.list.capacity = Number(c.body?.capacity);
      return [200, {}];
    }
    if (c.method === 'POST' && path === '/v1beta1/lists/players:addValue') {
      const v = String(c.body?.value);
      if (this.list.values.length >= this.list.capacity) return err(`out of range. No available capacity. Current Capacity: ${this.list.capacity}, List Size: ${this.list.values.length}`);
      if (this.list.values.includes(v)) return err(`already exists. Value: ${v} already in List: players`);
      this.list.values.push(v);
      return [200, {}];
    }
    if (c.method === 'POST' && path === '/v1beta1/lists/players:removeValue') {
      const v = String(c.body?.value);
      const i = this.list.values.indexOf(v);
      if (i < 0) return err(`not found. Value: ${v} not found in List: players`);
      this.list.values.splice(i, 1);
      return [200, {}];
    }
    if (c.method === 'POST' && ['/ready', '/health', '/shutdown', '/allocate'].includes(path!)) return [200, {}];
    return [404, { code: 5, message: `Not Found: ${c.method} ${c.path}` }];
  }
}
