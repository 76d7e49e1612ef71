/**
 * One instance's health endpoints: /livez, /readyz, /healthz and /metrics on the instance's
 * health port, answered from its heartbeat (shared memory the game loop writes with Atomics)
 * and the metrics text its loop thread hands over on request. Never on the loop's own thread,
 * so it still answers, and notices the stall, while that thread is stuck:
 *   - `keel serve`: on the instance's health worker thread (health-worker.ts), which adds the
 *     process watchdog and the health file;
 *   - `keel fleet --mode thread`: on the fleet's main thread, one endpoint per instance thread
 *     (thread-runner.ts); the fleet's own watchdog ends a frozen instance's thread.
 */
import { closeSync, openSync, utimesSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { PinoLogger } from '../logger.js';
import { epochNow, HEALTH_STATE_NAMES, HealthState, type Heartbeat } from './heartbeat.js';

/** What an endpoint serves: one instance, as its game thread described itself. */
export interface HealthEndpointSettings {
  id: string;
  world: string;
  port: number;
  host: string;
  /** /livez turns 503 once no tick has completed for this long. */
  stallMs: number;
  /** Epoch ms at instance start, for uptime. */
  startedAt: number;
}

export interface HealthEndpointOptions extends HealthEndpointSettings {
  heartbeat: Heartbeat;
  log: PinoLogger;
  /**
   * Asks the game thread for its metrics text; the answer comes back through
   * `metricsArrived(id, text)`. One that does not come within half a second is not waited for.
   */
  requestMetrics(id: number): void;
  /** Touched every half second while the loop is not stalled (the `--health-file` option). */
  healthFile?: string | undefined;
  /**
   * Past this many ms without a tick, `onFrozen` is called once (0 or absent: never). The
   * endpoint itself only reports; what to do about a frozen loop is the caller's.
   */
  watchdogMs?: number;
  onFrozen?(info: { tick: number; stallMs: number }): void;
}

const HEALTH_FILE_EVERY_MS = 500;
const METRICS_TIMEOUT_MS = 500;
const FIRST_METRICS_TIMEOUT_MS = 5_000;
/**
 * Scrapes within this long of the last metrics text the game thread rendered get that text, and
 * concurrent scrapes share one request: rendering runs on the game thread, so however many
 * scrapers there are, it costs the loop at most one render per this interval.
 */
export const METRICS_REFRESH_MS = 500;
const ENDPOINTS = ['/livez', '/readyz', '/healthz', '/metrics'];

/**
 * Bounds on what clients of the health port can hold. Probes and scrapes are a handful of short
 * requests; without these, a few thousand idle sockets (a port scan, a slowloris, a misbehaving
 * agent) once filled the health thread's heap and killed it, and the watchdog with it.
 */
export const HEALTH_HTTP_LIMITS = {
  /** Open connections at once; past it new ones are closed at accept. */
  maxConnections: 512,
  /** A socket with no traffic (one that never sends a request, or an idle keep-alive) is closed after this. */
  idleSocketMs: 5_000,
  /** A request's headers must be complete within this. */
  headersTimeoutMs: 5_000,
  /** A whole request must be received within this. */
  requestTimeoutMs: 10_000,
  /** How often the two timeouts above are checked. */
  checkEveryMs: 1_000,
} as const;

export class HealthEndpoint {
  private readonly server: Server;
  private readonly log: PinoLogger;
  private timer: NodeJS.Timeout | null = null;
  private stalled = false;
  private detail = 'starting';
  private lastMetrics = '';
  private lastMetricsAt = 0;
  private metricsInFlight: Promise<string> | null = null;
  private nextMetricsId = 1;
  private readonly metricsWaiters = new Map<number, (text: string) => void>();
  private lastHealthFileAt = 0;
  private frozen = false;
  private problem: string | null = null;
  private closed: Promise<void> | null = null;

  constructor(private readonly opts: HealthEndpointOptions) {
    this.log = opts.log;
    const l = HEALTH_HTTP_LIMITS;
    this.server = createServer(
      { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.idleSocketMs, connectionsCheckingInterval: l.checkEveryMs },
      (req, res) => {
        this.handle(req, res).catch((err: Error) => json(res, 500, { error: err.message }));
      },
    );
    this.server.maxConnections = l.maxConnections;
    // Idle sockets, including those that never send a byte, are destroyed (no 'timeout' listener).
    this.server.timeout = l.idleSocketMs;
    let refusedAt = -Infinity;
    this.server.on('drop', () => {
      // Said once a minute at most: a flood must not become a flood of log lines.
      if (performance.now() - refusedAt < 60_000) return;
      refusedAt = performance.now();
      this.log.warn({ maxConnections: l.maxConnections }, `health port ${this.opts.port}: ${l.maxConnections} connections open; refusing more until some close`);
    });
  }

  /** Binds the port and starts watching the heartbeat; resolves with the bound port. */
  listen(): Promise<number> {
    const { port, host, stallMs } = this.opts;
    return new Promise((resolve, reject) => {
      let listening = false;
      this.server.on('error', (err: NodeJS.ErrnoException) => {
        const message = err.code === 'EADDRINUSE' ? `health port ${port} on ${host} is already in use` : err.message;
        if (!listening) reject(new Error(message));
        else this.log.error({ err }, `health listener error: ${message}`);
      });
      this.server.listen(port, host, () => {
        listening = true;
        if (this.closed) {
          // Closed while binding: let the port go again at once.
          this.server.close();
          reject(new Error(`health endpoint of ${this.opts.id} closed while starting`));
          return;
        }
        // Often enough to notice a stall within a tenth of the stall limit, rarely enough to cost nothing.
        this.timer = setInterval(() => this.poll(), Math.min(250, Math.max(20, Math.round(stallMs / 10))));
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** Why the instance is not ready yet, shown by /readyz while starting. */
  setDetail(text: string): void {
    this.detail = text;
  }

  /** Why the running instance is not ready (ticks keep failing); null once it is again. */
  setProblem(text: string | null): void {
    this.problem = text;
  }

  /** The game thread's answer to `requestMetrics(id)`. */
  metricsArrived(id: number, text: string): void {
    this.metricsWaiters.get(id)?.(text);
  }

  /** Stops watching, ends open connections and closes the listener. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.server.closeAllConnections();
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
    });
    return this.closed;
  }

  /** Milliseconds since the loop last completed a tick (or changed state), measured on this thread. */
  private stallMs(): number {
    const hb = this.opts.heartbeat.read();
    return hb.lastBeatAt === 0 ? 0 : Math.max(0, epochNow() - hb.lastBeatAt);
  }

  private poll(): void {
    const o = this.opts;
    const now = performance.now();
    const hb = o.heartbeat.read();
    // Only a running loop can stall; loading a scene or draining after the loop stopped is not a freeze.
    const watching = hb.state === HealthState.ready || hb.state === HealthState.draining;
    const stall = watching ? this.stallMs() : 0;
    if (watching && !this.stalled && stall > o.stallMs) {
      this.stalled = true;
      this.log.warn({ tick: hb.tick, stallMs: Math.round(stall) }, `Game loop stalled: no tick for ${Math.round(stall)} ms (last tick ${hb.tick}); /livez now answers 503`);
    } else if (this.stalled && stall <= o.stallMs) {
      this.stalled = false;
      this.log.info({ tick: hb.tick }, `Game loop recovered at tick ${hb.tick}`);
    }
    if (watching && o.watchdogMs && o.onFrozen && stall > o.watchdogMs && !this.frozen) {
      this.frozen = true;
      o.onFrozen({ tick: hb.tick, stallMs: stall });
    }
    if (o.healthFile && !this.stalled && hb.state !== HealthState.stopped && now - this.lastHealthFileAt >= HEALTH_FILE_EVERY_MS) {
      this.lastHealthFileAt = now;
      this.touch(o.healthFile);
    }
  }

  private touch(file: string): void {
    try {
      const t = new Date();
      try {
        utimesSync(file, t, t);
      } catch {
        closeSync(openSync(file, 'a'));
      }
    } catch (err) {
      this.log.warn({ err, file }, `cannot touch health file ${file}`);
    }
  }

  private status(): Record<string, unknown> {
    const o = this.opts;
    const hb = o.heartbeat.read();
    const age = hb.state === HealthState.starting ? null : Math.round(this.stallMs());
    return {
      id: o.id,
      world: o.world,
      state: HEALTH_STATE_NAMES[hb.state] ?? 'unknown',
      stalled: this.stalled,
      tick: hb.tick,
      lastTickAgeMs: age,
      players: hb.players,
      entities: hb.entities,
      tickP99Ms: hb.tickP99Ms,
      uptimeS: Math.round((Date.now() - o.startedAt) / 100) / 10,
    };
  }

  private readiness(): { ready: boolean; reason: string } {
    const hb = this.opts.heartbeat.read();
    if (this.stalled) return { ready: false, reason: 'game loop stalled' };
    switch (hb.state) {
      case HealthState.ready:
        return this.problem ? { ready: false, reason: this.problem } : { ready: true, reason: 'ready' };
      case HealthState.starting:
        return { ready: false, reason: `starting: ${this.detail}` };
      case HealthState.draining:
        return { ready: false, reason: 'draining: server shutting down' };
      default:
        return { ready: false, reason: 'stopped' };
    }
  }

  private metricsText(): Promise<string> {
    if (this.lastMetricsAt && Date.now() - this.lastMetricsAt < METRICS_REFRESH_MS) return Promise.resolve(this.lastMetrics);
    this.metricsInFlight ??= this.requestMetricsText().finally(() => (this.metricsInFlight = null));
    return this.metricsInFlight;
  }

  private requestMetricsText(): Promise<string> {
    return new Promise((resolve) => {
      const id = this.nextMetricsId++;
      const timer = setTimeout(() => {
        this.metricsWaiters.delete(id);
        resolve(this.lastMetrics); // the loop's thread is busy or stuck: the last snapshot, plus live gauges below
        // With no snapshot yet there is nothing to fall back on: the first scrape waits longer,
        // unless the loop is known to be stalled (then it would wait for nothing).
      }, this.lastMetricsAt || this.stalled ? METRICS_TIMEOUT_MS : FIRST_METRICS_TIMEOUT_MS);
      this.metricsWaiters.set(id, (text) => {
        clearTimeout(timer);
        this.metricsWaiters.delete(id);
        this.lastMetrics = text;
        this.lastMetricsAt = Date.now();
        resolve(text);
      });
      this.opts.requestMetrics(id);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'GET only' });
    if (path === '/livez' || path === '/healthz') return json(res, this.stalled ? 503 : 200, this.status());
    if (path === '/readyz') {
      const r = this.readiness();
      return json(res, r.ready ? 200 : 503, { ...r, ...this.status() });
    }
    if (path === '/metrics') {
      const text = await this.metricsText();
      const o = this.opts;
      const labels = `id="${escapeLabel(o.id)}",world="${escapeLabel(o.world)}"`;
      const age = o.heartbeat.read().state === HealthState.starting ? 0 : this.stallMs() / 1000;
      const live = [
        '# HELP keel_last_tick_age_seconds Seconds since the game loop last completed a tick (measured by the health thread).',
        '# TYPE keel_last_tick_age_seconds gauge',
        `keel_last_tick_age_seconds{${labels}} ${age.toFixed(3)}`,
        '# HELP keel_loop_stalled 1 while the game loop is stalled past --stall-ms.',
        '# TYPE keel_loop_stalled gauge',
        `keel_loop_stalled{${labels}} ${this.stalled ? 1 : 0}`,
        '# HELP keel_metrics_snapshot_age_seconds Age of the loop-thread metrics above (scrapes share one snapshot for up to half a second).',
        '# TYPE keel_metrics_snapshot_age_seconds gauge',
        `keel_metrics_snapshot_age_seconds{${labels}} ${this.lastMetricsAt ? ((Date.now() - this.lastMetricsAt) / 1000).toFixed(3) : 0}`,
        '',
      ].join('\n');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text + live);
      return;
    }
    json(res, 404, { error: 'not found', endpoints: ENDPOINTS });
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Prometheus text format: label values escape backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
