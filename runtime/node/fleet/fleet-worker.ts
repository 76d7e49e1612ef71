/**
 * One fleet instance on a worker thread (thread mode): the same ServerInstance `keel serve`
 * runs, configured the same way (the fleet gives this thread its own environment with the
 * instance's port, id and health port). Heightfields come from the fleet's main thread in
 * shared memory, so N instances hold one copy. The instance publishes its heartbeat to memory
 * the fleet reads, and the fleet's main thread serves its health endpoints from it (with the
 * metrics text this thread hands over; thread-health.ts), so an instance is one thread, not two.
 * No process watchdog here, since ending the process would end every instance: the fleet ends
 * just this thread instead (Worker.terminate).
 */
import { readlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { RunMode, SceneError } from '../../core/index.js';
import { AssetRoot, type SharedHeightfield } from '../assets.js';
import { ConfigError, finishConfig, resolveEarlyConfig, type RawServeOptions } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { Heartbeat } from '../health/heartbeat.js';
import { createLogger, type PinoLogger } from '../logger.js';
import { loadSceneFile } from '../scene-loader.js';
import { ServerInstance } from '../server-instance.js';
import { pin } from './cpus.js';
import { RelayedHealth, type HealthFromInstance, type HealthToInstance } from './thread-health.js';

export interface FleetWorkerData {
  scene: string | undefined;
  cwd: string;
  flags: RawServeOptions;
  shared: SharedHeightfield[];
  heartbeat: SharedArrayBuffer;
  cpus: number[] | undefined;
  /**
   * The parent serves the instance's health endpoints (the fleet's main thread does). Absent:
   * the instance starts a health thread of its own, as `keel serve` does.
   */
  relayHealth?: boolean;
}

export type FleetWorkerMessage =
  | { type: 'tid'; tid: number | null }
  | { type: 'started'; port: number }
  | { type: 'stats'; heapUsed: number }
  | { type: 'stopped' }
  | HealthFromInstance;

export type FleetWorkerCommand = { type: 'stop'; reason: string } | HealthToInstance;

const data = workerData as FleetWorkerData;
const port = parentPort!;
const send = (msg: FleetWorkerMessage) => port.postMessage(msg);
const id = process.env.SERVER_ID ?? 'instance';

/** Writes straight to this thread's stderr stream (the fleet prefixes it with the id) and ends the thread. */
function fail(line: string, code: number): never {
  process.stderr.write(`keel fleet: ${line}\n`);
  // process.exit in a worker ends only this thread.
  process.exit(code);
}

/** The OS id of this thread, from /proc/thread-self (Linux); null elsewhere. */
function ownTid(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) ? tid : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const tid = ownTid();
  send({ type: 'tid', tid });
  // Before the instance starts: any thread it creates inherits this thread's mask.
  const pinError: string | null =
    data.cpus && tid !== null ? await pin(tid, data.cpus, false).then(() => null, (err: Error) => err.message) : null;
  let early;
  try {
    early = resolveEarlyConfig({ scene: data.scene, flags: data.flags, env: process.env, cwd: data.cwd, stdoutIsTTY: false });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT.config);
    throw err;
  }
  const assets = new AssetRoot(early.assets, data.shared);
  let scene;
  try {
    scene = await loadSceneFile(early.scene, assets, RunMode.Server, data.cwd);
  } catch (err) {
    if (err instanceof SceneError) fail(`${id}: scene failed to load: ${err.message.replace(/\n/g, '; ')}`, EXIT.config);
    throw err;
  }
  const config = finishConfig(early, scene.doc);
  // Through process.stdout, which the fleet reads line by line (fd 1 would bypass it).
  const logger = createLogger({ id: config.id, world: config.world, level: config.logLevel, format: config.logFormat, stream: process.stdout, color: false });
  if (pinError) logger.warn({ cpus: data.cpus }, `cannot pin thread ${tid}: ${pinError}`);
  const shared = [...scene.heightfields.values()].filter((h) => data.shared.some((s) => s.buffer === h.heights.buffer)).length;
  if (scene.heightfields.size > 0) {
    logger.debug({ heightfields: scene.heightfields.size, shared }, `${shared} of ${scene.heightfields.size} heightfields in memory shared with the fleet's other instances`);
  }
  process.on('uncaughtException', (err) => crash(logger, err));
  process.on('unhandledRejection', (err) => crash(logger, err));

  const instance = new ServerInstance(config, {
    logger,
    scene,
    assets,
    heartbeat: new Heartbeat(data.heartbeat),
    processWatchdog: false,
    ...(data.relayHealth ? { health: (options) => new RelayedHealth(port, options) } : {}),
  });
  try {
    await instance.start();
  } catch (err) {
    fail(`${config.id}: cannot start: ${(err as Error).message}`, EXIT.config);
  }
  send({ type: 'started', port: instance.port });
  setInterval(() => send({ type: 'stats', heapUsed: process.memoryUsage().heapUsed }), 1000).unref();
  port.on('message', (msg: FleetWorkerCommand) => {
    if (msg.type !== 'stop') return;
    void instance.stop(msg.reason).then(
      () => {
        send({ type: 'stopped' });
        // The last lines go out before the thread ends.
        process.stdout.write('', () => process.exit(EXIT.ok));
      },
      (err: unknown) => crash(logger, err),
    );
  });
}

function crash(logger: PinoLogger, err: unknown): void {
  logger.fatal({ err }, `Crashed: ${(err as Error)?.message ?? String(err)}`);
  process.stdout.write('', () => process.exit(EXIT.error));
}

main().catch((err: Error) => {
  try {
    writeSync(2, `keel fleet: ${id}: ${err.stack ?? err.message}\n`);
  } finally {
    process.exit(EXIT.error);
  }
});
