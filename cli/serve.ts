import { relative } from 'node:path';
import { SceneError, RunMode } from '../runtime/core/index.js';
import { AssetRoot } from '../runtime/node/assets.js';
import { ConfigError, finishConfig, resolveEarlyConfig, type RawServeOptions } from '../runtime/node/config.js';
import { createLogger } from '../runtime/node/logger.js';
import { loadSceneFile } from '../runtime/node/scene-loader.js';
import { ServerInstance } from '../runtime/node/server-instance.js';

export interface ServeArgs {
  scene: string | undefined;
  flags: RawServeOptions;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const fail = (line: string): number => {
  process.stderr.write(`keel serve: ${line}\n`);
  return 2;
};

/**
 * `keel serve`: resolve and check every setting, load the scene, and only then bind. Any bad
 * value stops here with one line naming the flag or variable, exit code 2, nothing bound.
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
  const assets = new AssetRoot(early.assets);
  let scene;
  try {
    scene = await loadSceneFile(early.scene, assets, RunMode.Server, args.cwd);
  } catch (err) {
    if (!(err instanceof SceneError)) throw err;
    const n = err.problems.length;
    return fail(`scene ${relative(args.cwd, early.scene)} is invalid (${n} problem${n === 1 ? '' : 's'}):\n${err.message.replace(/^/gm, '  ')}`);
  }
  const config = finishConfig(early, scene.doc);
  const logger = createLogger({ id: config.id, world: config.world, level: config.logLevel, format: config.logFormat });
  const instance = new ServerInstance(config, { logger, scene, assets });
  try {
    await instance.start();
  } catch (err) {
    const source = args.flags.port !== undefined ? '--port' : args.env.SERVER_PORT ? 'SERVER_PORT' : 'default port';
    logger.flush();
    return fail(`cannot start: ${(err as Error).message} (${source} ${config.port})`);
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal: sig }, `Second ${sig}: exiting now`);
        logger.flush();
        process.exit(1);
      }
      logger.info({ signal: sig }, `${sig} received: shutting down`);
      void instance.stop(`${sig}`).then(() => {
        logger.flush();
        resolve(0);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
