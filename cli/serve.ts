import { SceneError, RunMode } from '../runtime/core/index.js';
import { AssetRoot } from '../runtime/node/assets.js';
import { ConfigError, finishConfig, resolveEarlyConfig, type RawServeOptions } from '../runtime/node/config.js';
import { EXIT } from '../runtime/node/exit-codes.js';
import { formatCpuList, pin } from '../runtime/node/fleet/cpus.js';
import { watchFleetParent } from '../runtime/node/fleet/parent-watch.js';
import { createLogger } from '../runtime/node/logger.js';
import { checkSceneFile } from '../runtime/node/scene-loader.js';
import { ServerInstance } from '../runtime/node/server-instance.js';

export interface ServeArgs {
  scene: string | undefined;
  flags: RawServeOptions;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const fail = (line: string): number => {
  process.stderr.write(`keel serve: ${line}\n`);
  return EXIT.config;
};

/**
 * A scene that cannot be used, as one line naming where the scene came from and its value,
 * with every problem (`keel validate` prints them one per line).
 */
const sceneFail = (args: ServeArgs, what: string, err: SceneError): number => {
  const source = args.scene !== undefined ? 'scene argument' : 'SERVER_SCENE';
  const value = args.scene ?? args.env.SERVER_SCENE ?? '';
  const n = err.problems.length;
  const problems = err.problems.map((p) => `${p.pointer || '/'}: ${p.message}`.replace(/\s*\n\s*/g, ' ')).join('; ');
  return fail(`invalid ${source} ${JSON.stringify(value)}: scene ${what} (${n} problem${n === 1 ? '' : 's'}): ${problems}`);
};

/**
 * `keel serve`: resolve and check every setting and the scene, and only then bind. A bad value
 * stops here with one line naming the flag or variable, exit code 2, nothing bound.
 * Resolves with the exit code once the instance has stopped.
 */
export async function serve(args: ServeArgs): Promise<number> {
  let early;
  try {
    early = resolveEarlyConfig({ ...args, stdoutIsTTY: process.stdout.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  if (early.cpus) {
    // Every thread running now, and those started later inherit the mask (sched_setaffinity has
    // no Node binding; taskset makes the call).
    try {
      await pin(process.pid, early.cpus);
    } catch (err) {
      const source = args.flags.cpus !== undefined ? '--cpus' : 'SERVER_CPUS';
      return fail(`invalid ${source} ${JSON.stringify(formatCpuList(early.cpus))}: cannot pin: ${(err as Error).message}`);
    }
  }
  const assets = new AssetRoot(early.assets);
  let checked;
  try {
    checked = await checkSceneFile(early.scene, assets, RunMode.Server, args.cwd);
  } catch (err) {
    if (!(err instanceof SceneError)) throw err;
    return sceneFail(args, 'is invalid', err);
  }
  const config = finishConfig(early, checked.doc);
  const logger = createLogger({ id: config.id, world: config.world, level: config.logLevel, format: config.logFormat });
  const instance = new ServerInstance(config, { logger, assets });

  // Whatever escapes every fence (an engine bug, not a script) ends the process with code 1
  // and a fatal line, so a restart policy brings up a fresh instance.
  const crash = (err: unknown) => {
    logger.fatal({ err }, `Crashed: ${(err as Error)?.message ?? String(err)}`);
    logger.flush();
    process.exit(EXIT.error);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  // Signal handlers go in before the instance starts: its `Listening` line (and /readyz 200)
  // can reach a supervisor before start() returns, and a SIGTERM sent on seeing it must drain,
  // not kill. A signal during start is held and handled once the instance runs; a second one
  // exits at once.
  let pendingSignal: NodeJS.Signals | null = null;
  const onEarlySignal = (sig: NodeJS.Signals) => {
    if (pendingSignal) process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    pendingSignal = sig;
  };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  try {
    await instance.start();
  } catch (err) {
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    logger.flush();
    if (err instanceof SceneError) return sceneFail(args, 'failed to load', err);
    const msg = (err as Error).message;
    if (/health port/.test(msg)) return fail(`cannot start: ${msg} (${args.flags.healthPort !== undefined ? '--health-port' : args.env.SERVER_HEALTH_PORT ? 'SERVER_HEALTH_PORT' : 'default: game port + 1000'})`);
    const source = args.flags.port !== undefined ? '--port' : args.env.SERVER_PORT ? 'SERVER_PORT' : 'default port';
    return fail(`cannot start: ${msg} (${source} ${config.port})`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal: sig }, `Second ${sig}: exiting at once`);
        logger.flush();
        process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
      }
      stopping = true;
      logger.info({ signal: sig, graceMs: config.shutdownGraceMs }, `${sig} received: draining (grace ${config.shutdownGraceMs} ms)`);
      const grace = setTimeout(() => {
        logger.error({ graceMs: config.shutdownGraceMs }, `Shutdown took longer than ${config.shutdownGraceMs} ms; exiting with code ${EXIT.shutdownTimeout}`);
        logger.flush();
        process.exit(EXIT.shutdownTimeout);
      }, config.shutdownGraceMs);
      grace.unref();
      void instance.stop(sig).then(() => {
        clearTimeout(grace);
        logger.flush();
        resolve(EXIT.ok);
      }, crash);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // A process-mode fleet instance whose fleet died (SIGKILL) drains as on SIGTERM.
    watchFleetParent(process.env, (why) => {
      logger.warn({ reason: why }, `Fleet gone: ${why}; draining`);
      onSignal('SIGTERM');
    });
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    if (pendingSignal) onSignal(pendingSignal);
  });
}
