/**
 * A start binds everything before the first tick: with the health port taken, the instance fails
 * having run no tick, and `keel serve` prints only its one-line error (no "loop fell behind", no
 * log line at all).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { RunMode } from '../../runtime/core/index.js';
import { AssetRoot } from '../../runtime/node/assets.js';
import { finishConfig, resolveEarlyConfig } from '../../runtime/node/config.js';
import { createLogger } from '../../runtime/node/logger.js';
import { loadSceneFile } from '../../runtime/node/scene-loader.js';
import { ServerInstance } from '../../runtime/node/server-instance.js';
import { REPO, runKeel, stopAll } from '../helpers/keel-process.js';
import { expectOneLineConfigError, HOST, ports } from './util.js';

const servers: Server[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function occupy(port: number): Promise<void> {
  const blocker = createServer();
  servers.push(blocker);
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(port, HOST, () => resolve());
  });
}

describe('start order', () => {
  it('with the health port taken, start() rejects having run no tick and logged nothing', async () => {
    const p = await ports();
    await occupy(p.health);
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const early = resolveEarlyConfig({
      scene: 'scenes/arena.json',
      flags: { port: String(p.port), healthPort: String(p.health), host: HOST, healthHost: HOST, watch: 'false' },
      env: {},
      cwd: REPO,
      stdoutIsTTY: false,
    });
    const assets = new AssetRoot(early.assets);
    const scene = await loadSceneFile(early.scene, assets, RunMode.Server, REPO);
    const config = finishConfig(early, scene.doc);
    const instance = new ServerInstance(config, { logger: createLogger({ id: 'x', world: 'w', level: 'info', format: 'json', stream }), scene, assets });
    await expect(instance.start()).rejects.toThrow(/already in use/);
    expect(instance.loopStats.ticks).toBe(0);
    expect(instance.state).toBe('stopped');
    expect(lines).toEqual([]);
  });

  it('keel serve with the health port taken prints its error and nothing else', async () => {
    const p = await ports();
    await occupy(p.health);
    const r = await runKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--log-format', 'json', '--port', String(p.port), '--health-port', String(p.health)]);
    expectOneLineConfigError(r, `health port ${p.health}`, 'already in use');
    expect(r.stdout).toBe('');
  });
});
