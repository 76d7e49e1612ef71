import type { Logger } from '../log.js';
import { Writer } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/codec.js';
import { CloseCode, MessageType, PROTOCOL_VERSION, type ServerMessage } from '../protocol/messages.js';
import { decodeClient, encodeServer } from '../protocol/messages.js';
import type { Simulation } from '../sim/simulation.js';
import type { Player, Players } from './players.js';
import { ReplicaClient, Replicator } from './replication.js';
import type { Connection } from './transport.js';

/** Per-connection limits, documented in the README. */
export const LIMITS = {
  /** Largest client frame accepted by the socket (larger ones close with 1009). */
  maxFrameBytes: 1024,
  /** Client messages per second, sustained, before the connection is closed (4004): a token bucket refilled at this rate… */
  maxMessagesPerSecond: 240,
  /** …holding this many: a client may send this many back to back, then keep to the rate. */
  messageBurst: 120,
  /** A TCP connection must complete its WebSocket upgrade within this long, or it is dropped. */
  upgradeMs: 5000,
  /** A client must say hello within this long (4006). */
  handshakeMs: 5000,
  /** Unsent bytes queued for a client before it is dropped as too slow (4005). */
  maxBufferedBytes: 256 * 1024,
} as const;

/** Longest player name kept, in characters. */
export const MAX_NAME_CHARS = 32;

// C0 and C1 controls (newlines, ESC…), and the bidirectional overrides and isolates that reorder
// text on screen: nothing a name needs, and what a forged log line or a hijacked terminal uses.
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A client-supplied name as the server keeps, logs and replicates it: control and reordering
 * characters removed, whitespace runs collapsed, trimmed, at most MAX_NAME_CHARS characters
 * (whole code points, never half a surrogate pair).
 */
export function cleanName(name: string): string {
  const flat = name.replace(UNSAFE_CHARS, ' ').replace(/\s+/gu, ' ').trim();
  return [...flat].slice(0, MAX_NAME_CHARS).join('').trim();
}

/** A join token's check: who it seats, or why not (runtime/node/join-token.ts signs and verifies them). */
export type JoinCheck =
  | { ok: true; subject: string; /** Single-use id, '' for none. */ jti: string; /** Expiry, unix ms. */ expiresMs: number; /** What identifies the token. */ key: string }
  | { ok: false; reason: string };

/** Timers, passed in (the core has no timer globals of its own). */
export interface SessionTimers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface GameSessionOptions {
  log: Logger;
  maxPlayers: number;
  tickRate: number;
  sendRate: number;
  /** Checks a join token; when set, a hello without a valid one is refused. */
  verifyToken?: ((token: string, nowMs: number) => JoinCheck) | undefined;
  timers: SessionTimers;
  /** Wall-clock ms (rate limits and token expiry); default Date.now. */
  now?: () => number;
  onBytesIn?(n: number): void;
  onBytesOut?(n: number): void;
  /** A player joined; `id` is the entity id it joined as, kept for the whole connection and unique among connected players. */
  onPlayerJoin?(id: string): void;
  /** The player that joined as `id` left (closed, dropped, or the server is stopping). */
  onPlayerLeave?(id: string): void;
  /** An entity's state could not be encoded for the wire (once per entity and component change); it is left out of snapshots meanwhile. */
  onReplicationError?(entityId: string, error: Error): void;
}

interface Client {
  conn: Connection;
  player: Player | null;
  /** The entity id the player first joined as (a scene reload spawns it again under a new one). */
  joinedAs: string | null;
  replica: ReplicaClient;
  name: string;
  /** Token bucket for the rate limit: messages the client may still send now, as of `refilledAt`. */
  tokens: number;
  refilledAt: number;
  /** The join token this client holds a seat with (its signature), or null. */
  seat: string | null;
  timer: unknown;
  closed: boolean;
}

/**
 * The multiplayer side of one server instance: handshake, join and leave, input in and
 * snapshots out, over whatever Transport the instance uses. A bad client is closed with a
 * code and reason and logged once; nothing it sends can stop the tick.
 */
export class GameSession {
  private readonly clients = new Map<number, Client>();
  private sim: Simulation | null = null;
  private players: Players | null = null;
  private replicator: Replicator | null = null;
  private scene = { name: '', hash: '' };
  private sendCredit = 0;
  private draining = false;
  private readonly writer = new Writer(4096);
  /** Join tokens (by signature) seating a connected player: one seat per token at a time. */
  private readonly seats = new Set<string>();
  /** Single-use token ids seen, with their expiry (unix ms): forgotten once the token could not be used anyway. */
  private readonly usedJtis = new Map<string, number>();

  private readonly now: () => number;

  constructor(private readonly opts: GameSessionOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  get playerCount(): number {
    return this.players?.count ?? 0;
  }

  /**
   * Binds to a (new) simulation and its players (`ServerNetPlugin` does, when its app starts):
   * connected players are spawned again and get a full snapshot.
   */
  attach(sim: Simulation, players: Players, scene: { name: string; hash: string }): void {
    const swap = this.sim !== null;
    this.sim = sim;
    this.scene = scene;
    this.players = players;
    this.replicator = new Replicator(sim.world, {
      onError: ({ entityId, error }) => {
        this.opts.log.error({ err: error, entity: entityId }, `Entity ${entityId} cannot be replicated (${error.message}); clients do not see it until its components change`);
        this.opts.onReplicationError?.(entityId, error);
      },
    });
    for (const c of this.clients.values()) {
      if (!c.player || c.closed) continue;
      try {
        c.player = this.players.join(c.name);
        c.replica = new ReplicaClient();
        // Said explicitly, so a client reloads its scene rather than guessing from the second welcome.
        if (swap) this.send(c, { type: MessageType.SceneChange, kind: 'full', scene: scene.name, sceneHash: scene.hash });
        this.send(c, this.welcome(c.player));
      } catch (err) {
        this.fail(c, err, 'rejoin after reload');
      }
    }
  }

  /**
   * The running world took a delta reload of the scene: players stay seated and entity changes
   * reach clients through snapshots; this tells them the new scene hash (a client fetches the
   * scene again when it lacks an asset the new version names).
   */
  sceneChanged(scene: { name: string; hash: string }): void {
    this.scene = scene;
    // The edit goes out with the next tick's replication rather than at the next send tick (up to
    // a send interval later): an edit reaches clients as soon as the server has applied it.
    this.sendCredit = Math.max(this.sendCredit, 1 - this.opts.sendRate / this.opts.tickRate);
    // Players stay in place unless the spawn point they spawned at is gone.
    for (const r of this.players?.respawnOrphans() ?? []) {
      this.opts.log.info(
        { player: r.player.entityId, name: r.player.name, from: r.from, to: r.to, position: r.position },
        `Player ${r.player.name || r.player.entityId} respawned at ${r.to ?? 'the default spot'}: its spawn point ${r.from} is gone`,
      );
    }
    for (const c of this.clients.values()) {
      if (!c.player || c.closed) continue;
      try {
        this.send(c, { type: MessageType.SceneChange, kind: 'delta', scene: scene.name, sceneHash: scene.hash });
      } catch (err) {
        this.fail(c, err, 'scene change');
      }
    }
  }

  /** From now on joins are refused; connected clients are closed by the transport. */
  drain(): void {
    this.draining = true;
  }

  connect(conn: Connection): void {
    const c: Client = { conn, player: null, joinedAs: null, replica: new ReplicaClient(), name: '', tokens: LIMITS.messageBurst, refilledAt: this.now(), seat: null, timer: null, closed: false };
    try {
      if (this.draining) return this.close(c, CloseCode.ShuttingDown, 'server shutting down');
      c.timer = this.opts.timers.set(() => this.close(c, CloseCode.HandshakeTimeout, `no hello within ${LIMITS.handshakeMs} ms`), LIMITS.handshakeMs);
      this.clients.set(conn.id, c);
    } catch (err) {
      this.fail(c, err, 'connect');
    }
  }

  message(conn: Connection, data: Uint8Array, binary = true): void {
    const c = this.clients.get(conn.id);
    if (!c || c.closed) return;
    try {
      this.handle(c, data, binary);
    } catch (err) {
      this.fail(c, err, 'message');
    }
  }

  disconnect(conn: Connection, code: number, reason: string): void {
    const c = this.clients.get(conn.id);
    if (!c) return;
    c.closed = true;
    if (c.timer !== null) this.opts.timers.clear(c.timer);
    this.clients.delete(conn.id);
    if (c.seat !== null) this.seats.delete(c.seat);
    try {
      if (c.player && this.players) {
        this.players.leave(c.player);
        this.opts.log.info(
          { player: c.player.entityId, name: c.name, address: conn.address, code, reason, players: this.players.count },
          `Player ${c.name || c.player.entityId} left (${this.players.count}/${this.opts.maxPlayers})${reason ? `: ${reason}` : ''}`,
        );
      }
    } catch (err) {
      this.fail(c, err, 'disconnect');
    }
    if (c.joinedAs !== null) this.opts.onPlayerLeave?.(c.joinedAs);
  }

  private handle(c: Client, data: Uint8Array, binary: boolean): void {
    this.opts.onBytesIn?.(data.byteLength);
    const now = this.now();
    c.tokens = Math.min(LIMITS.messageBurst, c.tokens + ((now - c.refilledAt) * LIMITS.maxMessagesPerSecond) / 1000);
    c.refilledAt = now;
    if (c.tokens < 1) {
      return this.reject(c, CloseCode.RateLimited, `more than ${LIMITS.maxMessagesPerSecond} messages per second (burst ${LIMITS.messageBurst})`);
    }
    c.tokens -= 1;
    if (!binary) return this.reject(c, CloseCode.Malformed, 'text frames are not part of the protocol; send binary frames');
    let msg;
    try {
      msg = decodeClient(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return this.reject(c, CloseCode.Malformed, `malformed message: ${err.message}`);
    }
    if (!c.player && msg.type !== MessageType.Hello) return this.reject(c, CloseCode.Malformed, 'the first message must be hello');
    switch (msg.type) {
      case MessageType.Hello:
        if (c.player) return this.reject(c, CloseCode.Malformed, 'hello sent twice');
        return this.hello(c, msg.protocol, msg.token, msg.name);
      case MessageType.Input:
        if (msg.ack) c.replica.ack(msg.ack);
        this.players!.enqueue(c.player!, msg.inputs);
        return;
      case MessageType.Ack:
        c.replica.ack(msg.tick);
        return;
      case MessageType.Ping:
        this.send(c, { type: MessageType.Pong, id: msg.id });
        return;
    }
  }

  /**
   * Something went wrong on the server's side while serving one connection (a bug, or data the
   * wire cannot carry): that connection closes with 1011, the error is logged once, and every
   * other connection and the tick carry on.
   */
  private fail(c: Client, err: unknown, during: string): void {
    const message = err instanceof Error ? err.message : String(err);
    this.opts.log.error({ err, address: c.conn.address, player: c.player?.entityId, during }, `Internal error serving ${c.conn.address} (${during}): ${message}; closing it with ${CloseCode.InternalError}`);
    if (c.closed) return;
    c.closed = true;
    if (c.timer !== null) this.opts.timers.clear(c.timer);
    try {
      c.conn.close(CloseCode.InternalError, 'internal server error');
    } catch {
      // The connection is gone already; the transport reports its close.
    }
  }

  private hello(c: Client, protocol: number, token: string, name: string): void {
    if (c.timer !== null) this.opts.timers.clear(c.timer);
    c.timer = null;
    if (protocol !== PROTOCOL_VERSION) return this.refuse(c, CloseCode.ProtocolVersion, `protocol version ${protocol} not supported (server speaks ${PROTOCOL_VERSION})`);
    if (this.draining) return this.refuse(c, CloseCode.ShuttingDown, 'server shutting down');
    const joined = this.players!.count;
    if (joined >= this.opts.maxPlayers) return this.refuse(c, CloseCode.ServerFull, `server full (${joined}/${this.opts.maxPlayers})`);
    c.name = cleanName(name);
    if (this.opts.verifyToken) {
      const now = this.now();
      const check = this.opts.verifyToken(token, now);
      if (!check.ok) return this.refuse(c, CloseCode.BadToken, `bad join token: ${check.reason}`);
      if (this.seats.has(check.key)) return this.refuse(c, CloseCode.BadToken, 'bad join token: already in use by a connected player');
      if (check.jti) {
        for (const [jti, expires] of this.usedJtis) if (expires <= now) this.usedJtis.delete(jti);
        if (this.usedJtis.has(check.jti)) return this.refuse(c, CloseCode.BadToken, 'bad join token: already used');
        this.usedJtis.set(check.jti, check.expiresMs);
      }
      this.seats.add(check.key);
      c.seat = check.key;
      // The token names the player: a client cannot take another player's name.
      c.name = cleanName(check.subject);
    }
    c.player = this.players!.join(c.name);
    c.joinedAs = this.uniqueJoinId(c.player.entityId, c.conn.id);
    this.opts.onPlayerJoin?.(c.joinedAs);
    this.send(c, this.welcome(c.player));
    this.opts.log.info(
      { player: c.player.entityId, name: c.name, address: c.conn.address, players: this.players!.count },
      `Player ${c.name || c.player.entityId} joined as ${c.player.entityId} from ${c.conn.address} (${this.players!.count}/${this.opts.maxPlayers})`,
    );
  }

  /** Entity ids restart after a scene reload, so a newcomer may get one a connected player joined as. */
  private uniqueJoinId(entityId: string, connId: number): string {
    for (const other of this.clients.values()) if (other.joinedAs === entityId) return `${entityId}.${connId}`;
    return entityId;
  }

  private welcome(player: Player): ServerMessage {
    return {
      type: MessageType.Welcome,
      protocol: PROTOCOL_VERSION,
      playerEntity: player.entityId,
      scene: this.scene.name,
      sceneHash: this.scene.hash,
      tickRate: this.opts.tickRate,
      sendRate: this.opts.sendRate,
      tick: this.sim?.tickNumber ?? 0,
    };
  }

  /**
   * Replication out, once per tick (the `snapshots` system): at the send rate, capture once, then
   * one delta per joined client (encoded once per distinct baseline). A simulation other than
   * the attached one (a world built for a reload, not swapped in yet) sends nothing.
   */
  replicate(sim: Simulation, tick: number): void {
    if (sim !== this.sim) return;
    this.sendCredit += this.opts.sendRate / this.opts.tickRate;
    if (this.sendCredit < 1) return;
    this.sendCredit -= 1;
    // Nobody to send to: skip the capture too. A player who joins later starts from a full
    // snapshot, which needs no earlier frame.
    let joined = false;
    for (const c of this.clients.values()) if (c.player && !c.closed) joined = true;
    if (!joined) return;
    const replicator = this.replicator!;
    replicator.capture(tick);
    for (const c of this.clients.values()) {
      if (!c.player || c.closed) continue;
      if (c.conn.bufferedAmount > LIMITS.maxBufferedBytes) {
        this.reject(c, CloseCode.SlowConsumer, `too slow: over ${LIMITS.maxBufferedBytes / 1024} KiB of snapshots unsent`);
        continue;
      }
      try {
        this.transmit(c, replicator.encodeFor(c.replica, c.player.lastSeq, this.players!.velocityOf(c.player)));
      } catch (err) {
        this.fail(c, err, 'snapshot');
      }
    }
  }

  private send(c: Client, msg: ServerMessage): void {
    this.transmit(c, encodeServer(msg, this.writer));
  }

  private transmit(c: Client, bytes: Uint8Array): void {
    this.opts.onBytesOut?.(bytes.byteLength);
    c.conn.send(bytes);
  }

  /** A client the server turns away at the door: an info line, not a warning. */
  private refuse(c: Client, code: number, reason: string): void {
    this.opts.log.info({ address: c.conn.address, code, reason }, `Refused ${c.conn.address}: ${reason}`);
    this.close(c, code, reason);
  }

  /** A misbehaving client: logged once with its address, then closed. */
  private reject(c: Client, code: number, reason: string): void {
    this.opts.log.warn({ address: c.conn.address, player: c.player?.entityId, code, reason }, `Closing ${c.conn.address}: ${reason}`);
    this.close(c, code, reason);
  }

  private close(c: Client, code: number, reason: string): void {
    if (c.closed) return;
    c.closed = true;
    if (c.timer !== null) this.opts.timers.clear(c.timer);
    c.conn.close(code, reason);
  }
}
