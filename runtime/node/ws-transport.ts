import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Connection, Transport, TransportEvents } from '../core/index.js';

export interface WsTransportOptions {
  port: number;
  host: string;
  /** Largest accepted message; larger frames close the sender. */
  maxPayload?: number;
  /**
   * A TCP connection must have sent a complete WebSocket upgrade request within this long or it
   * is dropped (default 5000 ms): a socket that stays silent or trickles a partial request would
   * otherwise hold a file descriptor for minutes.
   */
  upgradeTimeoutMs?: number;
  /**
   * An event handler threw: the connection was closed with 1011. The handlers fence their own
   * errors; this is the last guard, so nothing from one socket can reach the process.
   */
  onError?(err: unknown, conn: Connection): void;
}

/** How long a socket closed for a protocol error may take to say goodbye before it is cut. */
const CLOSE_GRACE_MS = 1000;

/** The game port over `ws`. The only module that knows the socket library. */
export class WsTransport implements Transport {
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly sockets = new Map<WebSocket, Connection>();
  /** TCP connections not upgraded yet, with the timer that drops them. */
  private readonly waiting = new Map<Socket, NodeJS.Timeout>();
  private nextId = 1;

  constructor(private readonly opts: WsTransportOptions) {}

  get connections(): number {
    return this.sockets.size;
  }

  listen(handlers: TransportEvents): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const upgradeMs = this.opts.upgradeTimeoutMs ?? 5000;
      // Plain HTTP gets 426, as `ws` answers on a port of its own.
      const http = createServer((_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
        res.end('Upgrade Required');
      });
      http.headersTimeout = upgradeMs;
      http.requestTimeout = upgradeMs;
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: this.opts.maxPayload ?? 64 * 1024,
        perMessageDeflate: false,
        clientTracking: false,
      });
      http.on('connection', (socket: Socket) => {
        const timer = setTimeout(() => socket.destroy(), upgradeMs);
        timer.unref();
        this.waiting.set(socket, timer);
        socket.once('close', () => this.settle(socket));
      });
      http.on('upgrade', (req, socket: Socket, head) => {
        this.settle(socket);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      });
      const onError = (err: NodeJS.ErrnoException) => {
        http.close();
        reject(err.code === 'EADDRINUSE' ? new Error(`port ${this.opts.port} on ${this.opts.host} is already in use`) : err);
      };
      http.once('error', onError);
      http.listen(this.opts.port, this.opts.host, () => {
        http.off('error', onError);
        this.http = http;
        this.wss = wss;
        const addr = http.address();
        resolve({ port: typeof addr === 'object' && addr ? addr.port : this.opts.port });
      });
      wss.on('connection', (ws: WebSocket, req) => {
        const conn: Connection = {
          id: this.nextId++,
          address: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
          send: (data) => ws.send(data, { binary: true }),
          close: (code, reason) => ws.close(code, reason),
          get bufferedAmount() {
            return ws.bufferedAmount;
          },
        };
        const guarded = (fn: () => void) => {
          try {
            fn();
          } catch (err) {
            this.opts.onError?.(err, conn);
            if (ws.readyState === ws.OPEN) ws.close(1011, 'internal server error');
          }
        };
        this.sockets.set(ws, conn);
        ws.on('message', (data: Buffer, binary: boolean) => guarded(() => handlers.message(conn, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), binary)));
        let grace: NodeJS.Timeout | null = null;
        ws.on('close', (code, reason) => {
          if (grace) clearTimeout(grace);
          this.sockets.delete(ws);
          guarded(() => handlers.disconnect(conn, code, reason.toString()));
        });
        // A protocol error (a frame over maxPayload: 1009, a bad frame: 1002) has already queued
        // its close frame: give it CLOSE_GRACE_MS to reach the client before cutting the socket,
        // or the client sees 1006 instead of the code.
        ws.on('error', () => {
          grace ??= setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        });
        guarded(() => handlers.connect(conn));
      });
    });
  }

  private settle(socket: Socket): void {
    const timer = this.waiting.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.waiting.delete(socket);
  }

  async close(code = 1001, reason = 'server shutting down'): Promise<void> {
    for (const ws of this.sockets.keys()) ws.close(code, reason);
    const http = this.http;
    this.http = null;
    if (!http) return;
    for (const socket of [...this.waiting.keys()]) {
      this.settle(socket);
      socket.destroy();
    }
    // Give clients a moment to receive the close frame, then cut what is left.
    await new Promise((r) => setTimeout(r, 50).unref());
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss?.close();
    this.wss = null;
    await new Promise<void>((r) => http.close(() => r()));
  }
}
