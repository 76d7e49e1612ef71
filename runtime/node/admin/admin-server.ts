import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ADMIN_AUTH_TIMEOUT_MS,
  ADMIN_PROTOCOL_VERSION,
  ADMIN_STREAM_HZ,
  ADMIN_SUBPROTOCOL,
  AdminCloseCode,
  parseAdminClientMessage,
  tokenFromSubprotocol,
  type AdminClientMessage,
  type AdminEntity,
  type AdminPhysicsView,
  type AdminScriptError,
  type AdminServerMessage,
  type Simulation,
} from '../../core/index.js';
import type { SceneEdit } from '../../core/edit/scene-edit.js';
import type { PinoLogger } from '../logger.js';

/** What the admin channel may see and do of one server instance. */
export interface AdminTarget {
  info(): { instance: string; world: string; scene: string; sceneHash: string; tickRate: number };
  simulation(): Simulation | null;
  tick(): number;
  paused(): boolean;
  pendingSteps(): number;
  pause(): void;
  resume(): void;
  step(ticks: number): void;
  /** Applies `edit` to the live world only; throws with the reason when it does not apply. */
  pushEdit(edit: SceneEdit): void;
}

export interface AdminServerOptions {
  port: number;
  host: string;
  token: string;
  /** Origins a browser may connect from; requests without an Origin (not a browser) are allowed. */
  origins: readonly string[];
  log: PinoLogger;
  target: AdminTarget;
}

interface AdminClient {
  ws: WebSocket;
  address: string;
  authed: boolean;
  authTimer: NodeJS.Timeout | null;
  stream: NodeJS.Timeout | null;
  components: boolean;
  /** The components object last sent per entity (the world replaces it on every change): only changed ones go again. */
  sentComponents: Map<string, object>;
  physics: boolean;
}

/** Largest admin frame accepted (a push edit of a big entity fits well within it). */
const MAX_ADMIN_FRAME = 256 * 1024;

/**
 * The admin channel: a WebSocket listener of its own (never the game port), token-checked and
 * Origin-checked at the door, streaming the live world and carrying pause, step, resume, push
 * edit and physics debug requests to the instance. See runtime/core/protocol/admin.ts.
 */
export class AdminServer {
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly clients = new Set<AdminClient>();
  private readonly tokenDigest: Buffer;

  constructor(private readonly opts: AdminServerOptions) {
    this.tokenDigest = digest(opts.token);
  }

  listen(): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const http = createServer((_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
        res.end('Upgrade Required: the admin channel is a WebSocket');
      });
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: MAX_ADMIN_FRAME,
        perMessageDeflate: false,
        clientTracking: false,
        // Select the plain protocol; the token-bearing one only authenticates.
        handleProtocols: (protocols) => (protocols.has(ADMIN_SUBPROTOCOL) ? ADMIN_SUBPROTOCOL : false),
      });
      http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(wss, req, socket, head));
      http.once('error', reject);
      http.listen(this.opts.port, this.opts.host, () => {
        http.off('error', reject);
        this.http = http;
        this.wss = wss;
        resolve({ port: (http.address() as { port: number }).port });
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) this.drop(c, 1001, 'server shutting down');
    this.wss?.close();
    const http = this.http;
    this.http = null;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  }

  /** A script instance was disabled after throwing: every subscribed client hears of it. */
  scriptError(e: Omit<AdminScriptError, 'file' | 'line'> & { stack: string | undefined }): void {
    const where = locate(e.stack, e.script);
    const { stack: _stack, ...rest } = e;
    this.broadcast({ type: 'scriptError', ...rest, ...where });
  }

  private upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
    const address = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const refuse = (status: number, text: string, why: string) => {
      this.opts.log.warn({ address, status, reason: why }, `Admin channel: refused ${address}: ${why}`);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    // A page on another site could otherwise drive a developer's local server from their browser.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.opts.origins.includes(origin)) {
      return refuse(403, 'Forbidden', `Origin ${origin} is not allowed (allowed: ${this.opts.origins.join(', ')}; see --admin-origin)`);
    }
    const given = this.tokenFrom(req);
    if (given !== null && !this.check(given)) return refuse(401, 'Unauthorized', 'wrong admin token');
    wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, address, given !== null));
  }

  /** The token the upgrade request carries (header, subprotocol or query), or null for none. */
  private tokenFrom(req: IncomingMessage): string | null {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length);
    for (const p of (req.headers['sec-websocket-protocol'] ?? '').split(',')) {
      const t = tokenFromSubprotocol(p.trim());
      if (t !== null) return t;
    }
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    return q;
  }

  private check(token: string): boolean {
    return timingSafeEqual(digest(token), this.tokenDigest);
  }

  private connected(ws: WebSocket, address: string, authed: boolean): void {
    const c: AdminClient = { ws, address, authed, authTimer: null, stream: null, components: false, sentComponents: new Map(), physics: false };
    this.clients.add(c);
    ws.on('close', () => this.forget(c));
    ws.on('error', () => this.forget(c));
    ws.on('message', (data, binary) => this.message(c, binary ? null : data.toString()));
    if (authed) this.welcome(c);
    else {
      c.authTimer = setTimeout(() => {
        this.opts.log.warn({ address }, `Admin channel: ${address} sent no auth within ${ADMIN_AUTH_TIMEOUT_MS} ms; closed`);
        this.drop(c, AdminCloseCode.AuthTimeout, 'no auth message in time');
      }, ADMIN_AUTH_TIMEOUT_MS);
    }
  }

  private welcome(c: AdminClient): void {
    this.opts.log.info({ address: c.address }, `Admin channel: ${c.address} attached`);
    const t = this.opts.target;
    this.send(c, { type: 'hello', protocol: ADMIN_PROTOCOL_VERSION, ...t.info(), tick: t.tick(), paused: t.paused() });
  }

  private message(c: AdminClient, text: string | null): void {
    if (text === null) return this.drop(c, AdminCloseCode.Malformed, 'the admin channel speaks JSON text frames');
    const msg = parseAdminClientMessage(text);
    if (typeof msg === 'string') {
      if (!c.authed) return this.drop(c, AdminCloseCode.Malformed, `malformed message: ${msg}`);
      return this.send(c, { type: 'error', message: `malformed message: ${msg}` });
    }
    if (!c.authed) {
      if (msg.type !== 'auth') return this.drop(c, AdminCloseCode.BadToken, 'authenticate first (an auth message, a Bearer header, a token subprotocol or ?token=)');
      if (c.authTimer) clearTimeout(c.authTimer);
      c.authTimer = null;
      if (!this.check(msg.token)) {
        this.opts.log.warn({ address: c.address }, `Admin channel: refused ${c.address}: wrong admin token`);
        return this.drop(c, AdminCloseCode.BadToken, 'wrong admin token');
      }
      c.authed = true;
      return this.welcome(c);
    }
    try {
      this.handle(c, msg);
    } catch (err) {
      this.send(c, { type: 'error', message: (err as Error).message });
    }
  }

  private handle(c: AdminClient, msg: AdminClientMessage): void {
    const t = this.opts.target;
    switch (msg.type) {
      case 'auth':
        return; // already in
      case 'subscribe': {
        c.components = msg.components === true;
        c.sentComponents = new Map(); // the first frame carries every entity's components
        c.physics = msg.physics === true;
        if (c.stream) clearInterval(c.stream);
        const hz = msg.hz ?? ADMIN_STREAM_HZ.default;
        c.stream = setInterval(() => this.frame(c), 1000 / hz);
        this.frame(c);
        return;
      }
      case 'unsubscribe':
        if (c.stream) clearInterval(c.stream);
        c.stream = null;
        return;
      case 'pause':
        t.pause();
        this.opts.log.info({ address: c.address, tick: t.tick() }, `Admin channel: ${c.address} paused the loop at tick ${t.tick()}`);
        return this.loopState();
      case 'resume':
        t.resume();
        this.opts.log.info({ address: c.address, tick: t.tick() }, `Admin channel: ${c.address} resumed the loop at tick ${t.tick()}`);
        return this.loopState();
      case 'step':
        t.step(msg.ticks ?? 1);
        this.afterSteps(0);
        return;
      case 'edit': {
        const id = msg.id ?? null;
        try {
          t.pushEdit(msg.edit);
          this.opts.log.info({ address: c.address, op: msg.edit.op }, `Admin channel: ${c.address} pushed a ${msg.edit.op} edit to the live world`);
          this.send(c, { type: 'editResult', id, ok: true });
        } catch (err) {
          this.send(c, { type: 'editResult', id, ok: false, error: (err as Error).message });
        }
        return;
      }
      case 'physics':
        return this.send(c, { type: 'physics', ...this.physicsView() });
    }
  }

  /** Reports the loop's state once the asked-for ticks have run (they run on the loop's next turn). */
  private afterSteps(tries: number): void {
    if (this.opts.target.pendingSteps() > 0 && tries < 200) {
      setTimeout(() => this.afterSteps(tries + 1), 5);
      return;
    }
    this.loopState();
  }

  private loopState(): void {
    const t = this.opts.target;
    this.broadcast({ type: 'loop', tick: t.tick(), paused: t.paused(), pendingSteps: t.pendingSteps() });
  }

  private frame(c: AdminClient): void {
    const sim = this.opts.target.simulation();
    if (!sim || c.ws.readyState !== c.ws.OPEN) return;
    // A client that cannot keep up skips frames rather than queueing them.
    if (c.ws.bufferedAmount > 4 * 1024 * 1024) return;
    const physics = sim.physics;
    const entities: AdminEntity[] = [];
    const sent = c.sentComponents;
    const nowSent = c.components ? new Map<string, object>() : sent;
    for (const e of sim.world.values()) {
      const a: AdminEntity = { id: e.id, name: e.name, parent: e.parent, position: [...e.position], rotation: [...e.rotation] };
      if (physics.hasBody(e.id)) {
        a.velocity = physics.getLinearVelocity(e.id);
        a.sleeping = physics.isSleeping?.(e.id) ?? false;
      }
      if (c.components) {
        if (sent.get(e.id) !== e.components) a.components = e.components as Record<string, unknown>;
        nowSent.set(e.id, e.components);
      }
      entities.push(a);
    }
    c.sentComponents = nowSent;
    const t = this.opts.target;
    this.send(c, { type: 'world', tick: t.tick(), paused: t.paused(), entities, ...(c.physics ? { physics: this.physicsView() } : {}) });
  }

  private physicsView(): AdminPhysicsView {
    const sim = this.opts.target.simulation();
    const tick = this.opts.target.tick();
    if (!sim) return { tick, bodies: [], contacts: [] };
    const bodies: AdminPhysicsView['bodies'] = [];
    for (const e of sim.world.values()) {
      if (!sim.physics.hasBody(e.id)) continue;
      bodies.push({ id: e.id, type: e.components.rigidBody?.type ?? 'static', position: [...e.position], sleeping: sim.physics.isSleeping?.(e.id) ?? false });
    }
    return { tick, bodies, contacts: sim.physics.contactPoints?.() ?? [] };
  }

  private broadcast(msg: AdminServerMessage): void {
    for (const c of this.clients) if (c.authed) this.send(c, msg);
  }

  private send(c: AdminClient, msg: AdminServerMessage): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  }

  private drop(c: AdminClient, code: number, reason: string): void {
    this.forget(c);
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
    }
  }

  private forget(c: AdminClient): void {
    if (c.authTimer) clearTimeout(c.authTimer);
    if (c.stream) clearInterval(c.stream);
    c.authTimer = null;
    c.stream = null;
    this.clients.delete(c);
  }
}

/** Equal-length digests, so the comparison takes the same time whatever the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The file and line of the first stack frame in the script's file, when the stack names it. */
function locate(stack: string | undefined, script: string): { file: string | null; line: number | null } {
  if (!stack) return { file: null, line: null };
  const base = script.split('/').pop()!;
  for (const l of stack.split('\n')) {
    const m = l.match(/\(?((?:file:\/\/)?[^()\s]*?([^/()\s]+?)(?:\?[^:()\s]*)?):(\d+):\d+\)?\s*$/);
    if (m && m[2] === base) return { file: script, line: Number(m[3]) };
  }
  return { file: null, line: null };
}
