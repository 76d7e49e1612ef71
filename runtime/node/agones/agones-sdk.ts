import { performance } from 'node:perf_hooks';
import type { PinoLogger } from '../logger.js';
import { errorMessage, SidecarClient, type SidecarResponse } from './sidecar-client.js';

/** The sidecar's HTTP port when AGONES_SDK_HTTP_PORT is not set (Agones' default since 1.2). */
export const AGONES_DEFAULT_HTTP_PORT = 9358;
/** The Agones List the connected players are kept in; the Fleet declares it under spec.lists. */
export const PLAYERS_LIST = 'players';
/** Agones caps a List's capacity at 1000. */
export const LIST_MAX_CAPACITY = 1000;
/** Label keys; Agones stores them as `agones.dev/sdk-<key>` on the GameServer. */
export const LABEL_WORLD = 'world';
export const LABEL_SCENE_HASH = 'scene-hash';

export interface AgonesSdkOptions {
  /** The sidecar's HTTP port. */
  port: number;
  host?: string;
  /** Time between two Health pings, sent from the game loop's ticks. */
  healthIntervalMs: number;
  log: PinoLogger;
  /** First retry delay while the sidecar is unreachable or fails; doubles up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Per-request limit. */
  requestTimeoutMs?: number;
  /** Error answers (not "unreachable") a call gets before it is given up, with an error line. */
  maxAttempts?: number;
}

/** One call that brings the sidecar closer to the state the instance wants. */
interface Step {
  /** Identifies the step for its failure count, e.g. `label:world`. */
  key: string;
  what: string;
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  body: unknown;
  /** An error answer that still means the wanted state holds (a value already in the list). */
  alreadyDone?: (r: SidecarResponse) => boolean;
  /** Records the state as acknowledged. */
  done(): void;
}

const ok = (r: SidecarResponse) => r.status >= 200 && r.status < 300;

/** A Kubernetes label value: at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/**
 * The instance's side of Agones, over the sidecar's REST API (see sidecar-client.ts for why REST).
 *
 * Lifecycle calls, labels, the player list and its capacity are kept as wanted state, and one
 * sync at a time sends whatever the sidecar has not acknowledged yet, in order: capacity, labels,
 * Ready, then players leaving, then players joining. A call that cannot reach the sidecar (it
 * may start after the game server, as Agones warns) is retried with exponential backoff
 * (retryMinMs doubling to retryMaxMs) for as long as it takes; a call the sidecar answers with an
 * error is retried up to maxAttempts times and then given up with an error line. Since only the
 * difference is sent, a player who joins and leaves while the sidecar is down costs nothing,
 * and memory stays bounded by the players connected.
 *
 * Health pings are not part of that: `tick()` is called by the game loop after every tick and
 * sends POST /health when healthIntervalMs has passed, without waiting for the answer, with at
 * most one ping in flight, and nothing it does can throw. A loop that stops ticking stops the
 * pings, and Agones marks the GameServer Unhealthy after spec.health.failureThreshold periods.
 *
 * A value per instance: no module-level state.
 */
export class AgonesSdk {
  private readonly client: SidecarClient;
  private readonly log: PinoLogger;
  private readonly healthIntervalMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;

  // What the instance wants the sidecar to know...
  private wantReady = false;
  private readonly wantLabels = new Map<string, string>();
  private wantCapacity: number | null = null;
  private readonly wantPlayers = new Set<string>();
  // ...and what the sidecar has acknowledged.
  private sentReady = false;
  private readonly sentLabels = new Map<string, string>();
  private sentCapacity: number | null = null;
  private readonly sentPlayers = new Set<string>();

  private readonly failures = new Map<string, number>();
  private syncing = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private unreachableSince: number | null = null;
  /** Set by shutdown() or close(): no more syncs or pings. */
  private stopped = false;

  private pingInFlight = false;
  private lastPingAt = -Infinity;
  private pingFailing = false;
  readonly stats = { healthSent: 0, healthFailed: 0 };

  constructor(opts: AgonesSdkOptions) {
    this.client = new SidecarClient({ port: opts.port, ...(opts.host ? { host: opts.host } : {}) });
    this.log = opts.log;
    this.healthIntervalMs = opts.healthIntervalMs;
    this.retryMinMs = opts.retryMinMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 5000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 2000;
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.backoffMs = this.retryMinMs;
  }

  get endpoint(): string {
    return `${this.client.host}:${this.client.port}`;
  }

  /** The GameServer may be allocated: the scene is loaded and the game port bound. */
  ready(): void {
    this.wantReady = true;
    this.kick();
  }

  /** Sets `agones.dev/sdk-<key>` on the GameServer (the value is made a valid label value). */
  setLabel(key: string, value: string): void {
    this.wantLabels.set(key, labelValue(value));
    this.kick();
  }

  /** The players list's capacity: the instance's player limit, at most 1000 (Agones' cap). */
  setPlayerCapacity(n: number): void {
    const capacity = Math.max(0, Math.min(LIST_MAX_CAPACITY, Math.floor(n)));
    if (capacity < n) this.log.warn({ maxPlayers: n, capacity }, `Agones lists hold at most ${LIST_MAX_CAPACITY} values; the ${PLAYERS_LIST} list's capacity is ${capacity}`);
    this.wantCapacity = capacity;
    this.kick();
  }

  playerConnected(id: string): void {
    this.wantPlayers.add(id);
    this.kick();
  }

  playerDisconnected(id: string): void {
    this.wantPlayers.delete(id);
    this.kick();
  }

  /**
   * Called by the game loop after each tick: a Health ping when one is due. Never waits for the
   * answer; never throws.
   */
  tick(now = performance.now()): void {
    if (this.stopped || this.pingInFlight || now - this.lastPingAt < this.healthIntervalMs) return;
    this.lastPingAt = now;
    this.pingInFlight = true;
    // The sidecar counts a ping when it reads it, so a slow answer is waited for (up to the
    // request limit) rather than abandoned for a new ping.
    void this.client.call('POST', '/health', {}, this.requestTimeoutMs).then((r) => {
      this.pingInFlight = false;
      if (ok(r)) {
        this.stats.healthSent++;
        if (this.pingFailing) this.log.info({ sidecar: this.endpoint }, 'Agones health pings are getting through again');
        this.pingFailing = false;
      } else {
        this.stats.healthFailed++;
        if (!this.pingFailing && !this.stopped) {
          this.log.warn({ sidecar: this.endpoint, status: r.status, error: errorMessage(r) }, `Agones health ping failed (${r.status || errorMessage(r)}); the next tick past the interval tries again`);
        }
        this.pingFailing = true;
      }
    });
  }

  /**
   * Tells Agones this GameServer is going away (POST /shutdown), retrying while the sidecar is
   * unreachable, for at most `timeoutMs`. Syncs and pings stop. Resolves true once acknowledged.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    if (this.stopped) return false;
    this.stopped = true;
    this.clearRetry();
    const deadline = performance.now() + timeoutMs;
    let delay = this.retryMinMs;
    for (;;) {
      const left = deadline - performance.now();
      const r = await this.client.call('POST', '/shutdown', {}, Math.max(1, Math.min(this.requestTimeoutMs, left)));
      if (ok(r)) {
        this.log.info({ sidecar: this.endpoint }, 'Agones: Shutdown sent');
        return true;
      }
      if (r.status !== 0 || performance.now() + delay >= deadline) {
        this.log.warn({ sidecar: this.endpoint, status: r.status, error: errorMessage(r) }, `Agones Shutdown failed (${r.status || 'unreachable'}): ${errorMessage(r)}`);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, this.retryMaxMs);
    }
  }

  /** Stops everything and drops the sidecar connections. */
  close(): void {
    this.stopped = true;
    this.clearRetry();
    this.client.close();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** The next call the sidecar still needs, in dependency order; null when in sync. */
  private nextStep(): Step | null {
    if (this.wantCapacity !== null && this.wantCapacity !== this.sentCapacity) {
      const capacity = this.wantCapacity;
      return {
        key: 'capacity',
        what: `${PLAYERS_LIST} list capacity ${capacity}`,
        method: 'PATCH',
        // UpdateList needs a field mask; int64 travels as a string in proto JSON.
        path: `/v1beta1/lists/${PLAYERS_LIST}?updateMask=capacity`,
        body: { capacity: String(capacity) },
        done: () => (this.sentCapacity = capacity),
      };
    }
    for (const [key, value] of this.wantLabels) {
      if (this.sentLabels.get(key) === value) continue;
      return {
        key: `label:${key}`,
        what: `label ${key}=${value}`,
        method: 'PUT',
        path: '/metadata/label',
        body: { key, value },
        done: () => this.sentLabels.set(key, value),
      };
    }
    if (this.wantReady && !this.sentReady) {
      return { key: 'ready', what: 'Ready', method: 'POST', path: '/ready', body: {}, done: () => (this.sentReady = true) };
    }
    for (const id of this.sentPlayers) {
      if (this.wantPlayers.has(id)) continue;
      return {
        key: `leave:${id}`,
        what: `player ${id} left`,
        method: 'POST',
        path: `/v1beta1/lists/${PLAYERS_LIST}:removeValue`,
        body: { value: id },
        alreadyDone: (r) => r.status === 404 || /not found/i.test(errorMessage(r)),
        done: () => this.sentPlayers.delete(id),
      };
    }
    for (const id of this.wantPlayers) {
      if (this.sentPlayers.has(id)) continue;
      return {
        key: `join:${id}`,
        what: `player ${id} joined`,
        method: 'POST',
        path: `/v1beta1/lists/${PLAYERS_LIST}:addValue`,
        body: { value: id },
        alreadyDone: (r) => r.status === 409 || /already exists/i.test(errorMessage(r)),
        done: () => this.sentPlayers.add(id),
      };
    }
    return null;
  }

  private kick(): void {
    if (this.stopped || this.syncing || this.retryTimer) return;
    this.syncing = true;
    void this.sync().finally(() => {
      this.syncing = false;
      // Wanted state that changed while the last answer was settling.
      if (!this.retryTimer && this.nextStep()) this.kick();
    });
  }

  private async sync(): Promise<void> {
    for (let step = this.nextStep(); step && !this.stopped; step = this.nextStep()) {
      const r = await this.client.call(step.method, step.path, step.body, this.requestTimeoutMs);
      if (this.stopped) return;
      if (ok(r) || step.alreadyDone?.(r)) {
        step.done();
        this.failures.delete(step.key);
        this.backoffMs = this.retryMinMs;
        if (this.unreachableSince !== null) {
          this.log.info({ sidecar: this.endpoint, waitedMs: Math.round(performance.now() - this.unreachableSince) }, `Agones sidecar reached at ${this.endpoint}`);
          this.unreachableSince = null;
        }
        this.log[step.key === 'ready' ? 'info' : 'debug']({ sidecar: this.endpoint, call: `${step.method} ${step.path}` }, `Agones: ${step.what}`);
        continue;
      }
      if (r.status === 0) {
        // Unreachable: the sidecar is not up yet (or restarting). Not counted; retried until it is.
        if (this.unreachableSince === null) {
          this.unreachableSince = performance.now();
          this.log.warn({ sidecar: this.endpoint, error: r.body }, `Agones sidecar not reachable at ${this.endpoint} (${r.body}); retrying with backoff`);
        }
      } else {
        const n = (this.failures.get(step.key) ?? 0) + 1;
        this.failures.set(step.key, n);
        if (n >= this.maxAttempts) {
          this.log.error({ sidecar: this.endpoint, call: `${step.method} ${step.path}`, status: r.status, error: errorMessage(r), attempts: n }, `Agones: ${step.what} failed ${n} times; giving up: ${errorMessage(r)}`);
          this.failures.delete(step.key);
          step.done(); // given up: not sent again unless the wanted state changes
          continue;
        }
        this.log.warn({ sidecar: this.endpoint, call: `${step.method} ${step.path}`, status: r.status, error: errorMessage(r), attempt: n }, `Agones: ${step.what} failed (${r.status}); retrying`);
      }
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.retryMaxMs);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kick();
      }, delay);
      this.retryTimer.unref();
      return;
    }
  }
}
