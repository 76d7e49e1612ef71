import {
  CLIENT_MALFORMED_CLOSE,
  CloseCode,
  decodeServer,
  encodeClient,
  MessageType,
  PROTOCOL_VERSION,
  ProtocolError,
  Writer,
  type ClientTransport,
  type PlayerInput,
  type Snapshot,
  type SceneChange,
  type Welcome,
} from '../../core/index.js';
import type { ConnectionState } from '../app/play-session.js';
import { WebSocketTransport } from './websocket-transport.js';

export { CLIENT_MALFORMED_CLOSE };

/** Reconnect delays: doubling from the first, capped at the last, with ±20 % jitter. */
export const RECONNECT_BACKOFF_MS = { first: 500, max: 5000 } as const;
/** How often a ping measures the round trip. */
export const PING_INTERVAL_MS = 1000;

/** Close codes after which trying again would be refused the same way. */
const FINAL_CODES: ReadonlySet<number> = new Set([CloseCode.ProtocolVersion, CloseCode.ServerFull, CloseCode.BadToken]);

export interface GameConnectionOptions {
  url: string;
  name: string;
  token?: string;
  onWelcome(w: Welcome): void;
  /** May throw ProtocolError (a snapshot that does not fit its baseline): the connection closes. */
  onSnapshot(s: Snapshot): void;
  /** The server's scene changed (protocol v3): a delta applied in place, or a full swap (a Welcome follows). */
  onSceneChange?(c: SceneChange): void;
  onState?(state: ConnectionState, reason: string | null): void;
  /** The WebSocket constructor (tests and benchmarks pass their own); used by the default transport. */
  socket?: (url: string) => WebSocket;
  /** Makes the connection's transport, one per attempt (default: a WebSocketTransport). */
  transport?: (url: string) => ClientTransport;
  now?: () => number;
}

/**
 * The client's connection to a keel server (protocol v3) over a ClientTransport (the page's
 * WebSocket by default): hello, welcome, snapshots in, inputs and pings out. It reconnects
 * with backoff when the connection drops, and stays down when the server refused it for a
 * reason that will not change (full, wrong protocol, bad token) or sent a frame it cannot
 * decode; `state` and `reason` say which. No message from the server can throw out of it.
 */
export class GameConnection {
  state: ConnectionState = 'connecting';
  /** Why the server closed or refused the connection, or why this client closed it. */
  reason: string | null = null;
  /** Smoothed round trip, ms; null before the first pong. */
  pingMs: number | null = null;
  /** Connections made so far (1 on the first join). */
  joins = 0;
  private ws: ClientTransport | null = null;
  private readonly writer = new Writer(128);
  private readonly pings = new Map<number, number>();
  private nextPing = 1;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: GameConnectionOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  get open(): boolean {
    return this.state === 'connected' && this.ws?.isOpen === true;
  }

  connect(): void {
    if (this.stopped) return;
    this.setState(this.joins === 0 && this.attempt === 0 ? 'connecting' : 'reconnecting', this.reason);
    const make = this.opts.transport ?? ((url: string) => new WebSocketTransport(url, this.opts.socket));
    try {
      const ws = make(this.opts.url);
      this.ws = ws;
      ws.onOpen = () => this.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: this.opts.token ?? '', name: this.opts.name }, this.writer));
      ws.onMessage = (data, binary) => this.receive(ws, data, binary);
      ws.onClose = (code, reason) => this.closed(ws, code, reason);
      ws.connect();
    } catch (err) {
      this.ws = null;
      this.reason = (err as Error).message;
      return this.finish('closed');
    }
  }

  /** Sends inputs (with the newest applied snapshot tick as the ack); dropped unless connected. */
  sendInput(ack: number, inputs: PlayerInput[]): void {
    if (!this.open || inputs.length === 0) return;
    this.send(encodeClient({ type: MessageType.Input, ack, inputs }, this.writer));
  }

  /** Acknowledges a snapshot without input (a client with nothing to send still needs deltas). */
  sendAck(tick: number): void {
    if (!this.open) return;
    this.send(encodeClient({ type: MessageType.Ack, tick }, this.writer));
  }

  /** Closes for good (no reconnect). */
  close(reason = 'client closed'): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(1000, reason);
    this.ws = null;
    this.setState('closed', reason);
  }

  private receive(ws: ClientTransport, data: Uint8Array, binary: boolean): void {
    if (ws !== this.ws) return;
    if (!binary) return this.fail('the server sent a text frame; keel speaks binary frames only');
    try {
      const msg = decodeServer(data);
      switch (msg.type) {
        case MessageType.Welcome:
          if (msg.protocol !== PROTOCOL_VERSION) return this.fail(`the server speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`);
          if (this.state !== 'connected') this.joins++;
          this.attempt = 0;
          this.reason = null;
          this.setState('connected', null);
          this.startPings();
          this.opts.onWelcome(msg);
          return;
        case MessageType.Snapshot:
          if (this.state !== 'connected') return this.fail('a snapshot arrived before the welcome');
          this.opts.onSnapshot(msg);
          return;
        case MessageType.SceneChange:
          if (this.state !== 'connected') return this.fail('a scene change arrived before the welcome');
          this.opts.onSceneChange?.(msg);
          return;
        case MessageType.Pong: {
          const sent = this.pings.get(msg.id);
          if (sent === undefined) return;
          this.pings.delete(msg.id);
          const rtt = this.now() - sent;
          this.pingMs = this.pingMs === null ? rtt : this.pingMs * 0.7 + rtt * 0.3;
          return;
        }
      }
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(`malformed message from the server: ${err.message}`);
      return this.fail(`cannot handle a message from the server: ${(err as Error).message}`);
    }
  }

  /** Closes because of something the server sent; no reconnect. */
  private fail(reason: string): void {
    const ws = this.ws;
    this.stopped = true;
    this.clearTimers();
    this.ws = null;
    try {
      ws?.close(CLIENT_MALFORMED_CLOSE, 'malformed server message');
    } catch {
      // Already closing.
    }
    this.setState('closed', reason);
  }

  private closed(ws: ClientTransport, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimers();
    if (this.stopped) return;
    const why = reason || describeClose(code);
    if (FINAL_CODES.has(code)) {
      this.reason = why;
      this.stopped = true;
      return this.setState('refused', why);
    }
    this.reason = why;
    this.finish('reconnecting');
  }

  private finish(state: 'reconnecting' | 'closed'): void {
    if (state === 'closed') {
      this.stopped = true;
      return this.setState('closed', this.reason);
    }
    this.setState('reconnecting', this.reason);
    const base = Math.min(RECONNECT_BACKOFF_MS.max, RECONNECT_BACKOFF_MS.first * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    const delay = base * (0.8 + Math.random() * 0.4);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private startPings(): void {
    if (this.pingTimer) return;
    const ping = () => {
      if (!this.open) return;
      const id = this.nextPing++;
      this.pings.set(id, this.now());
      if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value!);
      this.send(encodeClient({ type: MessageType.Ping, id }, this.writer));
    };
    ping();
    this.pingTimer = setInterval(ping, PING_INTERVAL_MS);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = null;
    this.retryTimer = null;
    this.pings.clear();
  }

  private send(bytes: Uint8Array): void {
    this.ws?.send(bytes);
  }

  private setState(state: ConnectionState, reason: string | null): void {
    const changed = state !== this.state || reason !== this.reason;
    this.state = state;
    this.reason = reason;
    if (changed) this.opts.onState?.(state, reason);
  }
}

function describeClose(code: number): string {
  switch (code) {
    case CloseCode.ShuttingDown:
      return 'server shutting down';
    case 1006:
      return 'connection lost';
    case 1000:
      return 'closed by the server';
    default:
      return `closed with code ${code}`;
  }
}
