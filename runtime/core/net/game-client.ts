import { ProtocolError, Writer } from '../protocol/codec.js';
import { CloseCode, decodeServer, encodeClient, MessageType, PROTOCOL_VERSION, type PlayerInput, type SceneChange, type Snapshot, type Welcome } from '../protocol/messages.js';
import { ClientMirror } from './client-mirror.js';
import type { ClientTransport } from './client-transport.js';
import type { SessionTimers } from './game-session.js';

/** The close code a client uses when the server sends something it cannot decode. */
export const CLIENT_MALFORMED_CLOSE = 4003;
/** Reconnect delays: doubling from the first, capped at the last, with ±20 % jitter. */
export const RECONNECT_BACKOFF_MS = { first: 500, max: 5000 } as const;
/** How often a ping measures the round trip, ms. */
export const PING_INTERVAL_MS = 1000;
/** Inputs repeated in each Input message, so one lost message loses no input. */
export const REDUNDANT_INPUTS = 3;

/** Close codes after which trying again would be refused the same way. */
const FINAL_CODES: ReadonlySet<number> = new Set([CloseCode.ProtocolVersion, CloseCode.ServerFull, CloseCode.BadToken]);

/**
 * Where a client's connection stands: `idle` before `connect()`; `reconnecting` between
 * attempts after a drop; `refused` when the server turned it away for a reason that will not
 * change (full, wrong protocol, bad token); `closed` for good (closed by this side, or the
 * server sent something it cannot decode).
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed';

export interface GameClientOptions {
  name: string;
  token?: string;
  /**
   * Timers for reconnecting with backoff after a drop and for pings (the core has no timer
   * globals of its own). Without them the client makes one connection and measures no ping.
   * Reconnecting also needs a transport maker rather than one transport.
   */
  timers?: SessionTimers;
  /** Clock for round trips and arrival times, ms (default: a clock that always reads 0). */
  now?: () => number;
  /** The state or its reason changed. */
  onState?(state: ConnectionState, reason: string | null): void;
  /** A welcome arrived: a first join, a rejoin after a drop, or the server seating this client again after a full reload. */
  onWelcome?(w: Welcome): void;
  /** The server's scene changed: a delta applied in place, or a full swap (a Welcome follows). */
  onSceneChange?(c: SceneChange): void;
}

/** Called for each snapshot `receive()` applied, with when it arrived (`now()`). */
export type SnapshotListener = (s: Snapshot, arrivedAt: number) => void;

/**
 * The protocol's client end over a `ClientTransport`, driven by ticks: hello on open, the
 * welcome, snapshots queued as they arrive (with their arrival time) and applied to a
 * `ClientMirror` by `receive()` (the `snapshots-in` system), numbered inputs with the ack out,
 * pings. Given a transport maker and timers, it reconnects with backoff when the connection
 * drops and stays down once refused for good. A frame it cannot decode closes the connection
 * with CLIENT_MALFORMED_CLOSE and a reason; nothing the server sends throws out of it.
 */
export class GameClient {
  state: ConnectionState = 'idle';
  welcome: Welcome | null = null;
  /** Welcomes received: a second one is a rejoin, or the server seating this client again after a full reload. */
  welcomes = 0;
  /** Connections that reached a welcome (1 after the first join). */
  joins = 0;
  /** Why the connection closed, was refused or is being retried, or null. */
  reason: string | null = null;
  closeCode: number | null = null;
  /** Smoothed round trip, ms; null before the first pong. */
  pingMs: number | null = null;
  readonly mirror = new ClientMirror();
  /** Snapshots applied so far. */
  snapshots = 0;
  private readonly inbox: { s: Snapshot; at: number }[] = [];
  private readonly listeners = new Set<SnapshotListener>();
  private readonly writer = new Writer(256);
  private readonly make: () => ClientTransport;
  private readonly reconnects: boolean;
  private readonly now: () => number;
  private transport: ClientTransport | null = null;
  /** Tick of the newest snapshot applied: the ack the next input carries. */
  private acked = 0;
  private unacked = false;
  /** Sequence number of the last input handed out; never reused while this client lives. */
  private seq = 0;
  private readonly recent: PlayerInput[] = [];
  private attempt = 0;
  private stopped = false;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private readonly pings = new Map<number, number>();
  private nextPing = 1;

  /** `transport`: one connection, or a maker of one per attempt (needed to reconnect). */
  constructor(
    transport: ClientTransport | (() => ClientTransport),
    private readonly opts: GameClientOptions,
  ) {
    this.make = typeof transport === 'function' ? transport : () => transport;
    this.reconnects = typeof transport === 'function' && opts.timers !== undefined;
    this.now = opts.now ?? (() => 0);
  }

  /** Whether the welcome arrived on the open connection. */
  get open(): boolean {
    return this.state === 'connected' && this.transport?.isOpen === true;
  }

  connect(): void {
    if (this.stopped || this.transport) return;
    this.setState(this.joins === 0 && this.attempt === 0 ? 'connecting' : 'reconnecting', this.reason);
    let t: ClientTransport;
    try {
      t = this.make();
      this.transport = t;
      t.onOpen = () => t.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: this.opts.token ?? '', name: this.opts.name }, this.writer));
      t.onMessage = (data, binary) => this.frame(t, data, binary);
      t.onClose = (code, reason) => this.closed(t, code, reason);
      t.connect();
    } catch (err) {
      this.transport = null;
      return this.stop('closed', (err as Error).message, 1006);
    }
  }

  /** Calls `listener` for each snapshot applied from now on; returns its removal. */
  onApplied(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Applies the snapshots received since the last call, oldest first; returns how many applied. */
  receive(): number {
    let n = 0;
    for (const { s, at } of this.inbox.splice(0)) {
      let applied: boolean;
      try {
        applied = this.mirror.apply(s);
      } catch (err) {
        // A delta that does not fit its baseline: this copy of the world can no longer be trusted.
        this.fail(`malformed snapshot from the server: ${(err as Error).message}`);
        return n;
      }
      if (!applied) continue; // out of order, or against a baseline already dropped
      this.acked = s.tick;
      this.unacked = true;
      this.snapshots++;
      n++;
      for (const l of this.listeners) l(s, at);
    }
    return n;
  }

  /** The number for the next input: increasing for as long as this client lives, across rejoins. */
  nextInputSeq(): number {
    return ++this.seq;
  }

  /**
   * Sends `input` with the REDUNDANT_INPUTS - 1 before it and the ack, or, given null, the ack
   * alone when one is due. Nothing goes out unless connected.
   */
  sendInput(input: PlayerInput | null): void {
    if (!this.open) return;
    if (input) {
      this.recent.push(input);
      if (this.recent.length > REDUNDANT_INPUTS) this.recent.shift();
      this.transport!.send(encodeClient({ type: MessageType.Input, ack: this.acked, inputs: this.recent }, this.writer));
    } else if (this.unacked) this.transport!.send(encodeClient({ type: MessageType.Ack, tick: this.acked }, this.writer));
    else return;
    this.unacked = false;
  }

  /** Closes for good (no reconnect). */
  close(reason = 'client closed'): void {
    if (this.stopped) return;
    const t = this.transport;
    this.stop('closed', reason, 1000);
    t?.close(1000, reason);
  }

  private frame(t: ClientTransport, data: Uint8Array, binary: boolean): void {
    if (t !== this.transport) return;
    if (!binary) return this.fail('the server sent a text frame; keel speaks binary frames only');
    try {
      const msg = decodeServer(data);
      switch (msg.type) {
        case MessageType.Welcome:
          if (msg.protocol !== PROTOCOL_VERSION) return this.fail(`the server speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`);
          if (this.state !== 'connected') this.joins++;
          // A new welcome (a rejoin, a full reload) starts the world over.
          this.welcome = msg;
          this.welcomes++;
          this.mirror.reset();
          this.inbox.length = 0;
          this.recent.length = 0;
          this.acked = 0;
          this.unacked = false;
          this.attempt = 0;
          this.setState('connected', null);
          this.startPings();
          this.opts.onWelcome?.(msg);
          return;
        case MessageType.Snapshot:
          if (this.state !== 'connected') return this.fail('a snapshot arrived before the welcome');
          this.inbox.push({ s: msg, at: this.now() });
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
    const t = this.transport;
    this.stop('closed', reason, CLIENT_MALFORMED_CLOSE);
    t?.close(CLIENT_MALFORMED_CLOSE, 'malformed server message');
  }

  private closed(t: ClientTransport, code: number, reason: string): void {
    if (t !== this.transport) return;
    this.transport = null;
    this.clearTimers();
    const why = reason || describeClose(code);
    if (FINAL_CODES.has(code)) return this.stop('refused', why, code);
    if (!this.reconnects) return this.stop('closed', why, code);
    this.closeCode = code;
    this.setState('reconnecting', why);
    const base = Math.min(RECONNECT_BACKOFF_MS.max, RECONNECT_BACKOFF_MS.first * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    this.retryTimer = this.opts.timers!.set(() => {
      this.retryTimer = null;
      this.connect();
    }, base * (0.8 + Math.random() * 0.4));
  }

  /** Ends the client for good in `state`. */
  private stop(state: 'closed' | 'refused', reason: string, code: number): void {
    this.stopped = true;
    this.transport = null;
    this.clearTimers();
    this.closeCode ??= code;
    this.setState(state, reason);
  }

  private startPings(): void {
    const timers = this.opts.timers;
    if (!timers || this.pingTimer !== null) return;
    const ping = () => {
      this.pingTimer = timers.set(ping, PING_INTERVAL_MS);
      if (!this.open) return;
      const id = this.nextPing++;
      this.pings.set(id, this.now());
      if (this.pings.size > 16) this.pings.delete(this.pings.keys().next().value!);
      this.transport!.send(encodeClient({ type: MessageType.Ping, id }, this.writer));
    };
    ping();
  }

  private clearTimers(): void {
    const timers = this.opts.timers;
    if (timers && this.pingTimer !== null) timers.clear(this.pingTimer);
    if (timers && this.retryTimer !== null) timers.clear(this.retryTimer);
    this.pingTimer = null;
    this.retryTimer = null;
    this.pings.clear();
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
