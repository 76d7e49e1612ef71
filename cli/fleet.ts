import { RunMode, SceneError, normaliseAssetPath } from '../runtime/core/index.js';
import { AssetRoot } from '../runtime/node/assets.js';
import { ConfigError, resolveEarlyConfig, type RawServeOptions } from '../runtime/node/config.js';
import { EXIT } from '../runtime/node/exit-codes.js';
import { formatCpuList, tasksetAvailable } from '../runtime/node/fleet/cpus.js';
import { Fleet } from '../runtime/node/fleet/fleet.js';
import { PER_INSTANCE_ENV, resolveFleetConfig, type RawFleetOptions } from '../runtime/node/fleet/fleet-config.js';
import { ProcessRunner } from '../runtime/node/fleet/process-runner.js';
import { FleetStatusServer } from '../runtime/node/fleet/status-server.js';
import { StatusView } from '../runtime/node/fleet/status-view.js';
import { ThreadRunner } from '../runtime/node/fleet/thread-runner.js';
import type { Runner } from '../runtime/node/fleet/types.js';
import { createLogger, prettyStream } from '../runtime/node/logger.js';
import { checkSceneFile } from '../runtime/node/scene-loader.js';

export interface FleetArgs {
  scene: string | undefined;
  flags: RawFleetOptions;
  serveFlags: RawServeOptions;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The CLI entry file, run again as `serve` for each instance in process mode. */
  entry: string;
}

const fail = (line: string): number => {
  process.stderr.write(`keel fleet: ${line}\n`);
  return EXIT.config;
};

/**
 * `keel fleet`: N instances of one scene on consecutive ports, supervised, with a status
 * listener and (on a terminal) a live table. Every setting and the scene are checked before
 * anything starts: a bad value is one line naming the flag or variable, exit code 2.
 * Resolves with the exit code once every instance has stopped.
 */
export async function fleet(args: FleetArgs): Promise<number> {
  const tty = process.stdout.isTTY === true;
  // The fleet sets these per instance; its own environment's values do not apply.
  const instanceEnv: NodeJS.ProcessEnv = { ...args.env };
  for (const k of PER_INSTANCE_ENV) delete instanceEnv[k];
  let cfg;
  let early;
  try {
    cfg = resolveFleetConfig({ scene: args.scene, flags: args.flags, serveFlags: args.serveFlags, env: args.env, stdoutIsTTY: tty });
    // What every instance will resolve to, less its port and id: catches bad serve options here, once.
    early = resolveEarlyConfig({
      scene: args.scene,
      flags: { ...args.serveFlags, port: String(cfg.basePort), healthPort: String(cfg.healthBasePort) },
      env: instanceEnv,
      cwd: args.cwd,
      stdoutIsTTY: tty,
    });
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  if (cfg.cpus) {
    const why = await tasksetAvailable();
    if (why) return fail(`invalid ${args.flags.cpus !== undefined ? '--cpus' : 'FLEET_CPUS'} ${JSON.stringify(args.flags.cpus ?? args.env.FLEET_CPUS ?? '')}: ${why}`);
  }
  const assets = new AssetRoot(early.assets);
  let checked;
  try {
    checked = await checkSceneFile(early.scene, assets, RunMode.Server, args.cwd);
    // Large binary assets are read once here. Thread mode hands the shared memory to every
    // instance; in process mode each child reads the file again, from the page cache this warmed.
    for (const e of checked.doc.entities) {
      const c = e.components.collider;
      if (c?.shape === 'heightfield') await assets.heightfield(normaliseAssetPath(c.asset)!);
    }
  } catch (err) {
    if (!(err instanceof SceneError)) throw err;
    const n = err.problems.length;
    return fail(`invalid scene argument ${JSON.stringify(args.scene ?? args.env.SERVER_SCENE ?? '')}: scene is invalid (${n} problem${n === 1 ? '' : 's'}): ${err.problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ')}`);
  }

  const tableView = tty && cfg.view !== 'log';
  let view: StatusView | null = null;
  const write = (text: string, stream: 'stdout' | 'stderr') => {
    if (view) view.line(text);
    else (stream === 'stdout' ? process.stdout : process.stderr).write(`${text}\n`);
  };
  const logStream = { write: (s: string) => s.split('\n').forEach((l) => l && write(l, 'stdout')) };
  const logger = createLogger({
    id: 'fleet',
    world: checked.doc.name,
    level: early.logLevel,
    format: early.logFormat,
    stream: early.logFormat === 'pretty' ? prettyStream(logStream, tty && !tableView) : logStream,
  });

  const timings = { stallMs: early.stallMs, watchdogMs: early.watchdogMs, shutdownGraceMs: early.shutdownGraceMs };
  const common = { scene: args.scene, cwd: args.cwd, env: instanceEnv, serveFlags: args.serveFlags, logFormat: early.logFormat, timings };
  let runner: Runner;
  try {
    runner = cfg.mode === 'thread' ? new ThreadRunner({ ...common, shared: assets.shared(), heapMb: cfg.instanceHeapMb }) : new ProcessRunner({ ...common, entry: args.entry });
  } catch (err) {
    return fail(`cannot start: ${(err as Error).message}`);
  }
  const assetBytes = assets.shared().reduce((n, h) => n + h.buffer.byteLength, 0);
  const fleetValue = new Fleet(cfg, { logger, runner, timings, output: write, assetBytes });
  const status = new FleetStatusServer(() => fleetValue.status());
  if (cfg.statusPort !== 0) {
    try {
      await status.listen(cfg.statusPort, cfg.statusHost);
    } catch (err) {
      const source = args.flags.statusPort !== undefined ? '--status-port' : args.env.FLEET_STATUS_PORT ? 'FLEET_STATUS_PORT' : 'default: base port + 2000';
      return fail(`cannot start: ${(err as Error).message} (${source})`);
    }
  }

  // Whatever happens to the fleet, its children do not outlive it.
  process.on('exit', () => fleetValue.killAll());
  const crash = (err: unknown) => {
    logger.fatal({ err }, `Fleet crashed: ${(err as Error)?.message ?? String(err)}`);
    fleetValue.killAll();
    process.exit(EXIT.error);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  logger.info(
    {
      mode: cfg.mode,
      count: cfg.count,
      ports: `${cfg.basePort}-${cfg.basePort + cfg.count - 1}`,
      healthPorts: cfg.healthBasePort ? `${cfg.healthBasePort}-${cfg.healthBasePort + cfg.count - 1}` : null,
      statusPort: cfg.statusPort || null,
      cpus: cfg.cpus?.map((c) => formatCpuList(c)) ?? null,
    },
    `Fleet of ${cfg.count} (${cfg.mode} mode) on ports ${cfg.basePort}-${cfg.basePort + cfg.count - 1}${cfg.statusPort ? `; status on http://${cfg.statusHost}:${cfg.statusPort}/status` : ''}`,
  );
  fleetValue.start();
  if (tableView) {
    view = new StatusView(process.stdout, () => fleetValue.status(), `keel fleet ${checked.doc.name}`);
    view.start();
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const graceMs = early.shutdownGraceMs + 2000;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal: sig }, `Second ${sig}: ending every instance at once`);
        fleetValue.killAll();
        view?.stop();
        process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
      }
      stopping = true;
      logger.info({ signal: sig, graceMs }, `${sig} received: draining ${cfg.count} instance${cfg.count === 1 ? '' : 's'} (grace ${graceMs} ms)`);
      void fleetValue.stop(graceMs).then(async (inTime) => {
        await status.close();
        view?.stop();
        view = null;
        logger.info({ inTime }, inTime ? 'Fleet stopped' : `Fleet stopped; some instances had to be ended (exit ${EXIT.shutdownTimeout})`);
        logger.flush();
        resolve(inTime ? EXIT.ok : EXIT.shutdownTimeout);
      }, crash);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // A closed terminal: the instances run in their own process groups and would not hear of it.
    process.on('SIGHUP', onSignal);
  });
}
