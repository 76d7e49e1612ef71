import { existsSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { EXIT } from '../exit-codes.js';
import { createLogger, type PinoLogger } from '../logger.js';
import { Heartbeat, HealthState } from './heartbeat.js';
import type { HealthWorkerData, MainToWorker, WorkerToMain } from './health-protocol.js';

/** The worker's settings, less what the monitor fills in itself, plus where metrics come from. */
export interface HealthMonitorOptions extends Omit<HealthWorkerData, 'buffer' | 'color' | 'startedAt'> {
  /** Prometheus text of the instance's metrics, asked for by the worker on each scrape. */
  metrics(): Promise<string>;
  /** The heartbeat to publish, when someone else (a fleet) reads it too; else a new one. */
  heartbeat?: Heartbeat;
  /**
   * Called when the health thread died and could not be brought back (it died
   * MAX_RESTARTS times within RESTART_WINDOW_MS, or a new one could not bind the port). The
   * instance is then blind and without a watchdog; by default the process exits with code 1 so
   * a supervisor replaces it.
   */
  onLost?(reason: string): void;
}

/** A health thread that died this often within the window is not restarted again. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * The worker's heap. It serves a few probes and scrapes at a time (the endpoint caps open
 * connections, health-endpoint.ts), but a metrics text and a burst of sockets must fit: the
 * 8 MB this once had ran out under a connection flood, silently taking the watchdog with it.
 */
export const HEALTH_WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 48, codeRangeSizeMb: 8, stackSizeMb: 1 } as const;

/**
 * Where the worker's code is: beside the bundle (dist/health-worker.mjs), beside this module
 * in the unbundled build, or, when this module runs from TypeScript source (tests), in dist/.
 */
function workerUrl(): URL {
  const here = import.meta.url;
  if (/\/(keel|fleet-worker)\.mjs$/.test(here)) return new URL('./health-worker.mjs', here);
  if (here.endsWith('.ts')) return new URL('../../../dist/runtime/node/health/health-worker.js', here);
  return new URL('./health-worker.js', here);
}

/**
 * The game thread's side of an instance's health endpoints, wherever they are served: on a
 * health worker thread of the instance (HealthMonitor), or on a thread-mode fleet's main thread.
 */
export interface HealthLink {
  /** What the loop publishes to after each tick; the endpoints read it from another thread. */
  readonly heartbeat: Heartbeat;
  /** Starts serving; resolves with the bound health port, rejects when it cannot be bound. */
  start(): Promise<{ port: number }>;
  /** Why the instance is not ready yet, shown by /readyz while starting. */
  setDetail(text: string): void;
  setState(state: HealthState): void;
  /**
   * Why the instance is not ready although its loop runs (ticks keep failing), or null when
   * nothing is wrong; /readyz answers 503 with it.
   */
  setProblem?(text: string | null): void;
  /** Marks the instance stopped and closes the endpoints. */
  stop(): Promise<void>;
}

/**
 * The game-loop side of the health worker: owns the heartbeat and the worker's life. A worker
 * that dies after it started (out of memory, a bug) is an event, not a silence: it is logged
 * and a new one is started on the same port, which takes the watchdog over; if it cannot come
 * back, `onLost` ends the instance.
 */
export class HealthMonitor implements HealthLink {
  readonly heartbeat: Heartbeat;
  private worker: Worker | null = null;
  private stopping = false;
  private port = 0;
  private detail = 'starting';
  private problem: string | null = null;
  private readonly startedAt = Date.now();
  private readonly deaths: number[] = [];
  private readonly log: PinoLogger;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.heartbeat = opts.heartbeat ?? new Heartbeat();
    // Synchronous: the line saying the instance is going must be out before it goes.
    this.log = createLogger({
      id: opts.id,
      world: opts.world,
      level: opts.logLevel,
      format: opts.logFormat,
      stream: { write: (s: string) => writeSync(1, s) },
      color: process.stdout.isTTY === true,
    }).child({ thread: 'main' });
  }

  /** Starts the worker and its listener; resolves with the bound port. */
  async start(): Promise<{ port: number }> {
    this.port = await this.spawn(this.opts.port);
    return { port: this.port };
  }

  /** How many times the health thread was restarted after dying. */
  get restarts(): number {
    return this.deaths.length;
  }

  /** Starts one worker on `port`; resolves once it listens, rejects if it cannot. */
  private spawn(port: number): Promise<number> {
    const url = workerUrl();
    if (!existsSync(url)) return Promise.reject(new Error(`health worker code missing at ${url.pathname}; run npm run build`));
    const { metrics: _local, heartbeat: _hb, onLost: _lost, ...settings } = this.opts;
    const data: HealthWorkerData = { ...settings, port, buffer: this.heartbeat.buffer, color: process.stdout.isTTY === true, startedAt: this.startedAt };
    const worker = new Worker(url, { workerData: data, name: `health-${this.opts.id}`, resourceLimits: HEALTH_WORKER_LIMITS });
    this.worker = worker;
    let listening = false;
    let lastError: Error | null = null;
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerToMain) => {
        if (msg.type === 'listening') {
          listening = true;
          worker.unref(); // never what keeps the process alive
          if (this.detail !== 'starting') this.post({ type: 'detail', text: this.detail });
          if (this.problem !== null) this.post({ type: 'problem', text: this.problem });
          resolve(msg.port);
        } else if (msg.type === 'error') {
          void worker.terminate();
          reject(new Error(msg.message));
        } else if (msg.type === 'metrics-request') {
          this.opts.metrics().then(
            (text) => this.post({ type: 'metrics-response', id: msg.id, text }, worker),
            (err: Error) => this.post({ type: 'metrics-response', id: msg.id, text: `# metrics failed: ${err.message}\n` }, worker),
          );
        }
      });
      // Without this listener an error in the worker would be rethrown here; with it, the
      // 'exit' that always follows decides what happens.
      worker.on('error', (err) => {
        lastError = err;
        if (!listening) reject(err);
      });
      worker.once('exit', (code) => {
        if (!listening) return reject(lastError ?? new Error(`health thread exited with code ${code} while starting`));
        if (this.worker !== worker || this.stopping) return;
        this.worker = null;
        this.died(lastError ? `${lastError.name}: ${lastError.message}` : `exited with code ${code}`);
      });
    });
  }

  private died(reason: string): void {
    const now = Date.now();
    while (this.deaths.length && now - this.deaths[0]! > RESTART_WINDOW_MS) this.deaths.shift();
    this.deaths.push(now);
    if (this.deaths.length > MAX_RESTARTS) {
      return this.lost(`health thread died ${this.deaths.length} times within ${RESTART_WINDOW_MS / 1000} s (last: ${reason})`);
    }
    this.log.error(
      { reason, restart: this.deaths.length, healthPort: this.port },
      `Health thread died (${reason}): /livez and the watchdog were down; restarting it on :${this.port} (restart ${this.deaths.length} of at most ${MAX_RESTARTS} a minute)`,
    );
    this.spawn(this.port).then(
      () => this.log.info({ healthPort: this.port }, `Health thread back on :${this.port}`),
      (err: Error) => {
        if (!this.stopping) this.lost(`cannot restart the health thread: ${err.message}`);
      },
    );
  }

  private lost(reason: string): void {
    if (this.stopping) return;
    const onLost =
      this.opts.onLost ??
      ((why: string) => {
        this.log.fatal({ exitCode: EXIT.error }, `${why}; exiting with code ${EXIT.error} so the instance is replaced`);
        process.exit(EXIT.error);
      });
    onLost(reason);
  }

  /** Why the instance is not ready yet, shown by /readyz while starting. */
  setDetail(text: string): void {
    this.detail = text;
    this.post({ type: 'detail', text });
  }

  setProblem(text: string | null): void {
    if (text === this.problem) return;
    this.problem = text;
    this.post({ type: 'problem', text });
  }

  setState(state: HealthState): void {
    this.heartbeat.setState(state);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.heartbeat.setState(HealthState.stopped);
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void w.terminate().then(() => resolve()), 1000);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      w.postMessage({ type: 'stop' } satisfies MainToWorker);
    });
  }

  /** Ends the current health thread abruptly, as a crash would (tests of the restart path). */
  async killWorkerForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  private post(msg: MainToWorker, to: Worker | null = this.worker): void {
    to?.postMessage(msg);
  }
}
