import { WebSocketServer, type WebSocket } from 'ws';
import type { Connection, Transport, TransportEvents } from '../core/index.js';

export interface WsTransportOptions {
  port: number;
  host: string;
  /** Largest accepted message; larger frames close the sender. */
  maxPayload?: number;
  /**
   * An event handler threw: the connection was closed with 1011. The handlers fence their own
   * errors; this is the last guard, so nothing from one socket can reach the process.
   */
  onError?(err: unknown, conn: Connection): void;
}

/** The game port over `ws`. The only module that knows the socket library. */
export class WsTransport implements Transport {
  private server: WebSocketServer | null = null;
  private readonly sockets = new Map<WebSocket, Connection>();
  private nextId = 1;

  constructor(private readonly opts: WsTransportOptions) {}

  get connections(): number {
    return this.sockets.size;
  }

  listen(handlers: TransportEvents): Promise<{ port: number }> {
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({
        port: this.opts.port,
        host: this.opts.host,
        maxPayload: this.opts.maxPayload ?? 64 * 1024,
        perMessageDeflate: false,
        clientTracking: false,
      });
      const onError = (err: NodeJS.ErrnoException) => {
        server.close();
        reject(err.code === 'EADDRINUSE' ? new Error(`port ${this.opts.port} on ${this.opts.host} is already in use`) : err);
      };
      server.once('error', onError);
      server.once('listening', () => {
        server.off('error', onError);
        this.server = server;
        const addr = server.address();
        resolve({ port: typeof addr === 'object' && addr ? addr.port : this.opts.port });
      });
      server.on('connection', (ws, req) => {
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
        ws.on('message', (data: Buffer) => guarded(() => handlers.message(conn, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))));
        ws.on('close', (code, reason) => {
          this.sockets.delete(ws);
          guarded(() => handlers.disconnect(conn, code, reason.toString()));
        });
        ws.on('error', () => ws.terminate());
        guarded(() => handlers.connect(conn));
      });
    });
  }

  async close(code = 1001, reason = 'server shutting down'): Promise<void> {
    for (const ws of this.sockets.keys()) ws.close(code, reason);
    const server = this.server;
    this.server = null;
    if (!server) return;
    // Give clients a moment to receive the close frame, then cut what is left.
    await new Promise((r) => setTimeout(r, 50).unref());
    for (const ws of this.sockets.keys()) ws.terminate();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
