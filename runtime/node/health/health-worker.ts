/**
 * The health worker of `keel serve`: the instance's health endpoints (health-endpoint.ts) and a
 * watchdog on their own thread. The game loop's thread can be stuck in a scene script's
 * infinite loop; this thread still answers /livez (503 once no tick has completed for
 * `stallMs`), and past `watchdogMs` it logs a fatal line and ends the process with
 * EXIT_WATCHDOG so any restart policy replaces the instance.
 */
import { Session } from 'node:inspector';
import { closeSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../logger.js';
import { HealthEndpoint } from './health-endpoint.js';
import { Heartbeat } from './heartbeat.js';
import type { HealthWorkerData, MainToWorker, WorkerToMain } from './health-protocol.js';

const data = workerData as HealthWorkerData;
const port = parentPort!;
// Synchronous writes: the fatal line must be out before the process ends.
const log = createLogger({
  id: data.id,
  world: data.world,
  level: data.logLevel,
  format: data.logFormat,
  stream: { write: (s: string) => writeSync(1, s) },
  color: data.color,
}).child({ thread: 'health' });

const send = (msg: WorkerToMain) => port.postMessage(msg);

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

const endpoint = new HealthEndpoint({
  id: data.id,
  world: data.world,
  port: data.port,
  host: data.host,
  stallMs: data.stallMs,
  startedAt: data.startedAt,
  heartbeat: new Heartbeat(data.buffer),
  log,
  requestMetrics: (id) => send({ type: 'metrics-request', id }),
  healthFile: data.healthFile,
  watchdogMs: data.watchdogMs,
  onFrozen: ({ tick, stallMs }) => {
    log.fatal(
      { tick, stallMs: Math.round(stallMs), exitCode: data.exitCode },
      `Watchdog: game loop frozen for ${Math.round(stallMs)} ms at tick ${tick}; exiting with code ${data.exitCode} so the instance is replaced`,
    );
    exitProcess(data.exitCode);
  },
});

endpoint.listen().then(
  (bound) => send({ type: 'listening', port: bound }),
  (err: Error) => send({ type: 'error', message: err.message }),
);

port.on('message', (msg: MainToWorker) => {
  if (msg.type === 'metrics-response') endpoint.metricsArrived(msg.id, msg.text);
  else if (msg.type === 'detail') endpoint.setDetail(msg.text);
  else if (msg.type === 'problem') endpoint.setProblem(msg.text);
  else if (msg.type === 'stop') void endpoint.close().then(() => port.close());
});
