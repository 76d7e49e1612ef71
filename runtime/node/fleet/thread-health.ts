/**
 * Thread mode's health endpoints: each instance's /livez, /readyz, /healthz and /metrics are
 * served on its own health port by the fleet's main thread rather than by a health thread of
 * the instance's own (one V8 isolate fewer per instance). The main thread is never the one a
 * scene script freezes, and it already reads each instance's heartbeat for its watchdog; the
 * instance's thread starts and stops the endpoint, says why it is not ready yet and hands over
 * its metrics text, all by message:
 *
 *   instance thread (RelayedHealth)            fleet main thread (ThreadHealthHost)
 *     health-start {settings}          ──>       HealthEndpoint.listen on the health port
 *                                      <──       health-listening {port} | health-error
 *     health-detail {text}             ──>       /readyz "starting: text"
 *     health-problem {text|null}       ──>       /readyz 503 with text while ticks keep failing
 *                                      <──       health-metrics-request {id}    (a scrape)
 *     health-metrics {id, text}        ──>       /metrics body (else the last one after 0.5 s)
 *     health-stop                      ──>       close the listener
 *                                      <──       health-stopped
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { LogFormat, LogLevel } from '../config.js';
import { HealthEndpoint, type HealthEndpointSettings } from '../health/health-endpoint.js';
import type { HealthLink, HealthMonitorOptions } from '../health/health-monitor.js';
import { Heartbeat, HealthState } from '../health/heartbeat.js';
import { createLogger } from '../logger.js';

/** What the instance tells the fleet about its endpoint: the same settings its health thread would get. */
export interface ThreadHealthSettings extends HealthEndpointSettings {
  logLevel: LogLevel;
  logFormat: LogFormat;
}

export type HealthFromInstance =
  | { type: 'health-start'; settings: ThreadHealthSettings }
  | { type: 'health-detail'; text: string }
  | { type: 'health-problem'; text: string | null }
  | { type: 'health-metrics'; id: number; text: string }
  | { type: 'health-stop' };

export type HealthToInstance =
  | { type: 'health-listening'; port: number }
  | { type: 'health-error'; message: string }
  | { type: 'health-metrics-request'; id: number }
  | { type: 'health-stopped' };

const STOP_TIMEOUT_MS = 1000;

/**
 * The instance thread's side: a HealthLink whose endpoints the fleet's main thread serves.
 * No process watchdog here (ending the process would end every instance): the fleet's own
 * watchdog reads the same heartbeat and ends just this thread.
 */
export class RelayedHealth implements HealthLink {
  readonly heartbeat: Heartbeat;
  private starting: { resolve(v: { port: number }): void; reject(err: Error): void } | null = null;
  private stopped: (() => void) | null = null;
  private readonly onMessage = (msg: HealthToInstance | { type: string }) => this.receive(msg as HealthToInstance);

  constructor(
    private readonly port: MessagePort,
    private readonly opts: HealthMonitorOptions,
  ) {
    this.heartbeat = opts.heartbeat ?? new Heartbeat();
  }

  start(): Promise<{ port: number }> {
    const o = this.opts;
    this.port.on('message', this.onMessage);
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      const settings: ThreadHealthSettings = {
        id: o.id,
        world: o.world,
        port: o.port,
        host: o.host,
        stallMs: o.stallMs,
        startedAt: Date.now(),
        logLevel: o.logLevel,
        logFormat: o.logFormat,
      };
      this.post({ type: 'health-start', settings });
    });
  }

  setDetail(text: string): void {
    this.post({ type: 'health-detail', text });
  }

  setState(state: HealthState): void {
    this.heartbeat.setState(state);
  }

  setProblem(text: string | null): void {
    this.post({ type: 'health-problem', text });
  }

  async stop(): Promise<void> {
    this.heartbeat.setState(HealthState.stopped);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => done(), STOP_TIMEOUT_MS);
      const done = () => {
        clearTimeout(t);
        this.stopped = null;
        resolve();
      };
      this.stopped = done;
      this.post({ type: 'health-stop' });
    });
    this.port.off('message', this.onMessage);
  }

  private receive(msg: HealthToInstance): void {
    switch (msg.type) {
      case 'health-listening':
        this.starting?.resolve({ port: msg.port });
        this.starting = null;
        break;
      case 'health-error':
        this.starting?.reject(new Error(msg.message));
        this.starting = null;
        break;
      case 'health-metrics-request':
        this.opts.metrics().then(
          (text) => this.post({ type: 'health-metrics', id: msg.id, text }),
          (err: Error) => this.post({ type: 'health-metrics', id: msg.id, text: `# metrics failed: ${err.message}\n` }),
        );
        break;
      case 'health-stopped':
        this.stopped?.();
        break;
    }
  }

  private post(msg: HealthFromInstance): void {
    this.port.postMessage(msg);
  }
}

/**
 * The fleet main thread's side, one per run of a thread-mode instance: serves the instance's
 * endpoints from its heartbeat while the run lasts. Its log lines (the loop stalled, recovered)
 * carry the instance's id and world and go out with the instance's own lines.
 */
export class ThreadHealthHost {
  private endpoint: HealthEndpoint | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly heartbeat: Heartbeat,
    private readonly line: (text: string, stream: 'stdout' | 'stderr') => void,
  ) {}

  /** Handles one of the instance's health messages; false for any other message. */
  handle(msg: { type: string }): boolean {
    const m = msg as HealthFromInstance;
    switch (m.type) {
      case 'health-start':
        this.start(m.settings);
        return true;
      case 'health-detail':
        this.endpoint?.setDetail(m.text);
        return true;
      case 'health-problem':
        this.endpoint?.setProblem(m.text);
        return true;
      case 'health-metrics':
        this.endpoint?.metricsArrived(m.id, m.text);
        return true;
      case 'health-stop':
        void this.close().then(() => this.post({ type: 'health-stopped' }));
        return true;
      default:
        return false;
    }
  }

  /** Closes the listener (the run ended, or asked to); resolves once the port is free again. */
  close(): Promise<void> {
    const e = this.endpoint;
    this.endpoint = null;
    return e ? e.close() : Promise.resolve();
  }

  private start(settings: ThreadHealthSettings): void {
    void this.close();
    const out = { write: (s: string) => s.split('\n').forEach((l) => l && this.line(l, 'stdout')) };
    const log = createLogger({ id: settings.id, world: settings.world, level: settings.logLevel, format: settings.logFormat, stream: out, color: false }).child({
      thread: 'fleet',
    });
    const endpoint = new HealthEndpoint({
      ...settings,
      heartbeat: this.heartbeat,
      log,
      requestMetrics: (id) => this.post({ type: 'health-metrics-request', id }),
    });
    this.endpoint = endpoint;
    endpoint.listen().then(
      (port) => this.post({ type: 'health-listening', port }),
      (err: Error) => {
        if (this.endpoint === endpoint) this.endpoint = null;
        this.post({ type: 'health-error', message: err.message });
      },
    );
  }

  private post(msg: HealthToInstance): void {
    this.worker.postMessage(msg);
  }
}
