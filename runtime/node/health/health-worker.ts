/**
 * The health worker: an HTTP listener and a watchdog on their own thread. The game loop's
 * thread can be stuck in a scene script's infinite loop; this thread still answers /livez
 * (503 once no tick has completed for `stallMs`), and past `watchdogMs` it logs a fatal line
 * and ends the process with EXIT_WATCHDOG so any restart policy replaces the instance.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import { closeSync, openSync, utimesSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../logger.js';
import { epochNow, HEALTH_STATE_NAMES, Heartbeat, HealthState } from './heartbeat.js';
import type { HealthWorkerData, MainToWorker, WorkerToMain } from './health-protocol.js';

const data = workerData as HealthWorkerData;
const port = parentPort!;
const heartbeat = new Heartbeat(data.buffer);
// Synchronous writes: the fatal line must be out before the process ends.
const log = createLogger({
  id: data.id,
  world: data.world,
  level: data.logLevel,
  format: data.logFormat,
  stream: { write: (s: string) => writeSync(1, s) },
  color: data.color,
}).child({ thread: 'health' });

// Often enough to notice a stall within a tenth of --stall-ms, rarely enough to cost nothing.
const POLL_MS = Math.min(250, Math.max(20, Math.round(data.stallMs / 10)));
const HEALTH_FILE_EVERY_MS = 500;
const METRICS_TIMEOUT_MS = 500;

let stalled = false;
let detail = 'starting';
let lastMetrics = '';
let lastMetricsAt = 0;
let nextMetricsId = 1;
const metricsWaiters = new Map<number, (text: string) => void>();
let lastHealthFileAt = 0;
let exiting = false;

const send = (msg: WorkerToMain) => port.postMessage(msg);

/** Milliseconds since the loop last completed a tick (or changed state), measured on this thread. */
function stallMs(): number {
  const hb = heartbeat.read();
  return hb.lastBeatAt === 0 ? 0 : Math.max(0, epochNow() - hb.lastBeatAt);
}

function poll(): void {
  const now = performance.now();
  const hb = heartbeat.read();
  // Only a running loop can stall; loading a scene or draining after the loop stopped is not a freeze.
  const watching = hb.state === HealthState.ready || hb.state === HealthState.draining;
  const stall = watching ? stallMs() : 0;
  if (watching && !stalled && stall > data.stallMs) {
    stalled = true;
    log.warn({ tick: hb.tick, stallMs: Math.round(stall) }, `Game loop stalled: no tick for ${Math.round(stall)} ms (last tick ${hb.tick}); /livez now answers 503`);
  } else if (stalled && stall <= data.stallMs) {
    stalled = false;
    log.info({ tick: hb.tick }, `Game loop recovered at tick ${hb.tick}`);
  }
  if (watching && data.watchdogMs > 0 && stall > data.watchdogMs && !exiting) {
    exiting = true;
    log.fatal(
      { tick: hb.tick, stallMs: Math.round(stall), exitCode: data.exitCode },
      `Watchdog: game loop frozen for ${Math.round(stall)} ms at tick ${hb.tick}; exiting with code ${data.exitCode} so the instance is replaced`,
    );
    exitProcess(data.exitCode);
  }
  if (data.healthFile && !stalled && hb.state !== HealthState.stopped && now - lastHealthFileAt >= HEALTH_FILE_EVERY_MS) {
    lastHealthFileAt = now;
    touch(data.healthFile);
  }
}

function touch(file: string): void {
  try {
    const t = new Date();
    try {
      utimesSync(file, t, t);
    } catch {
      closeSync(openSync(file, 'a'));
    }
  } catch (err) {
    log.warn({ err, file }, `cannot touch health file ${file}`);
  }
}

/**
 * Ends the whole process from this thread. `process.exit` here would end only this thread,
 * and signals wait for the stuck main thread to handle them. The inspector session runs the
 * call on the main thread through a V8 interrupt, which fires even inside an endless loop.
 */
function exitProcess(code: number): void {
  try {
    const session = new Session();
    session.connectToMainThread();
    // With a session attached, Node prints "Waiting for the debugger to disconnect..." on exit;
    // the fatal line is already out, so close stderr rather than end on that misleading line.
    closeSync(2);
    session.post('Runtime.evaluate', { expression: `process.reallyExit(${code})` });
  } catch {
    process.kill(process.pid, 'SIGKILL'); // Node built without the inspector: still end it
  }
}

function status(): Record<string, unknown> {
  const hb = heartbeat.read();
  const age = hb.state === HealthState.starting ? null : Math.round(stallMs());
  return {
    id: data.id,
    world: data.world,
    state: HEALTH_STATE_NAMES[hb.state] ?? 'unknown',
    stalled,
    tick: hb.tick,
    lastTickAgeMs: age,
    players: hb.players,
    entities: hb.entities,
    tickP99Ms: hb.tickP99Ms,
    uptimeS: Math.round((Date.now() - data.startedAt) / 100) / 10,
  };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readiness(): { ready: boolean; reason: string } {
  const hb = heartbeat.read();
  if (stalled) return { ready: false, reason: 'game loop stalled' };
  switch (hb.state) {
    case HealthState.ready:
      return { ready: true, reason: 'ready' };
    case HealthState.starting:
      return { ready: false, reason: `starting: ${detail}` };
    case HealthState.draining:
      return { ready: false, reason: 'draining: server shutting down' };
    default:
      return { ready: false, reason: 'stopped' };
  }
}

function metricsText(): Promise<string> {
  return new Promise((resolve) => {
    const id = nextMetricsId++;
    const timer = setTimeout(() => {
      metricsWaiters.delete(id);
      resolve(lastMetrics); // the loop's thread is busy or stuck: the last snapshot, plus live gauges below
    }, METRICS_TIMEOUT_MS);
    metricsWaiters.set(id, (text) => {
      clearTimeout(timer);
      lastMetrics = text;
      lastMetricsAt = Date.now();
      resolve(text);
    });
    send({ type: 'metrics-request', id });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'GET only' });
  if (path === '/livez' || path === '/healthz') return json(res, stalled ? 503 : 200, status());
  if (path === '/readyz') {
    const r = readiness();
    return json(res, r.ready ? 200 : 503, { ...r, ...status() });
  }
  if (path === '/metrics') {
    const text = await metricsText();
    const labels = `id="${escapeLabel(data.id)}",world="${escapeLabel(data.world)}"`;
    const age = heartbeat.read().state === HealthState.starting ? 0 : stallMs() / 1000;
    const live = [
      '# HELP keel_last_tick_age_seconds Seconds since the game loop last completed a tick (measured by the health thread).',
      '# TYPE keel_last_tick_age_seconds gauge',
      `keel_last_tick_age_seconds{${labels}} ${age.toFixed(3)}`,
      '# HELP keel_loop_stalled 1 while the game loop is stalled past --stall-ms.',
      '# TYPE keel_loop_stalled gauge',
      `keel_loop_stalled{${labels}} ${stalled ? 1 : 0}`,
      '# HELP keel_metrics_snapshot_age_seconds Age of the loop-thread metrics above (0 when fresh).',
      '# TYPE keel_metrics_snapshot_age_seconds gauge',
      `keel_metrics_snapshot_age_seconds{${labels}} ${lastMetricsAt ? ((Date.now() - lastMetricsAt) / 1000).toFixed(3) : 0}`,
      '',
    ].join('\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text + live);
    return;
  }
  json(res, 404, { error: 'not found', endpoints: ['/livez', '/readyz', '/healthz', '/metrics'] });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => json(res, 500, { error: err.message }));
});
server.keepAliveTimeout = 5_000;
server.on('error', (err: NodeJS.ErrnoException) => {
  send({ type: 'error', message: err.code === 'EADDRINUSE' ? `health port ${data.port} on ${data.host} is already in use` : err.message });
});
server.listen(data.port, data.host, () => {
  const addr = server.address();
  send({ type: 'listening', port: typeof addr === 'object' && addr ? addr.port : data.port });
});
const timer = setInterval(poll, POLL_MS);

port.on('message', (msg: MainToWorker) => {
  if (msg.type === 'metrics-response') metricsWaiters.get(msg.id)?.(msg.text);
  else if (msg.type === 'detail') detail = msg.text;
  else if (msg.type === 'stop') {
    clearInterval(timer);
    server.closeAllConnections();
    server.close(() => port.close());
  }
});

/** Prometheus text format: label values escape backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
