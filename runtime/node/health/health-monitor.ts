import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Heartbeat, HealthState } from './heartbeat.js';
import type { HealthWorkerData, MainToWorker, WorkerToMain } from './health-protocol.js';

/** The worker's settings, less what the monitor fills in itself, plus where metrics come from. */
export interface HealthMonitorOptions extends Omit<HealthWorkerData, 'buffer' | 'color' | 'startedAt'> {
  /** Prometheus text of the instance's metrics, asked for by the worker on each scrape. */
  metrics(): Promise<string>;
  /** The heartbeat to publish, when someone else (a fleet) reads it too; else a new one. */
  heartbeat?: Heartbeat;
}

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
  /** Marks the instance stopped and closes the endpoints. */
  stop(): Promise<void>;
}

/** The game-loop side of the health worker: owns the heartbeat and the worker's life. */
export class HealthMonitor implements HealthLink {
  readonly heartbeat: Heartbeat;
  private worker: Worker | null = null;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.heartbeat = opts.heartbeat ?? new Heartbeat();
  }

  /** Starts the worker and its listener; resolves with the bound port. */
  start(): Promise<{ port: number }> {
    const url = workerUrl();
    if (!existsSync(url)) return Promise.reject(new Error(`health worker code missing at ${url.pathname}; run npm run build`));
    const { metrics: _local, heartbeat: _hb, ...settings } = this.opts;
    const data: HealthWorkerData = { ...settings, buffer: this.heartbeat.buffer, color: process.stdout.isTTY === true, startedAt: Date.now() };
    const worker = new Worker(url, {
      workerData: data,
      name: `health-${this.opts.id}`,
      // A few KB of live objects: small heap limits keep the thread's memory to a few MB
      // (0.25 MB young with 4 MB old generation runs out of memory while the worker starts).
      resourceLimits: { maxYoungGenerationSizeMb: 0.5, maxOldGenerationSizeMb: 8, codeRangeSizeMb: 4, stackSizeMb: 0.5 },
    });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerToMain) => {
        if (msg.type === 'listening') {
          worker.unref(); // never what keeps the process alive
          resolve({ port: msg.port });
        } else if (msg.type === 'error') {
          void worker.terminate();
          reject(new Error(msg.message));
        } else if (msg.type === 'metrics-request') {
          this.opts.metrics().then(
            (text) => this.post({ type: 'metrics-response', id: msg.id, text }),
            (err: Error) => this.post({ type: 'metrics-response', id: msg.id, text: `# metrics failed: ${err.message}\n` }),
          );
        }
      });
      worker.once('error', reject);
    });
  }

  /** Why the instance is not ready yet, shown by /readyz while starting. */
  setDetail(text: string): void {
    this.post({ type: 'detail', text });
  }

  setState(state: HealthState): void {
    this.heartbeat.setState(state);
  }

  async stop(): Promise<void> {
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

  private post(msg: MainToWorker): void {
    this.worker?.postMessage(msg);
  }
}
