/**
 * A server instance is a value: two of the same scene run in one process, on their own ports,
 * with their own simulations, and stopping one leaves the other ticking.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Writable } from 'node:stream';
import { RunMode } from '../../runtime/core/index.js';
import { AssetRoot } from '../../runtime/node/assets.js';
import { finishConfig, resolveEarlyConfig } from '../../runtime/node/config.js';
import { createLogger } from '../../runtime/node/logger.js';
import { loadSceneFile } from '../../runtime/node/scene-loader.js';
import { ServerInstance } from '../../runtime/node/server-instance.js';
import { freePort } from '../helpers/ports.js';
import { REPO } from '../helpers/keel-process.js';

const started: ServerInstance[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop('test over')));
});

async function makeInstance(id: string) {
  const port = await freePort();
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const early = resolveEarlyConfig({
    scene: 'scenes/arena.json',
    flags: { port: String(port), id, host: '127.0.0.1', watch: 'false', healthPort: '0' },
    env: {},
    cwd: REPO,
    stdoutIsTTY: false,
  });
  const assets = new AssetRoot(early.assets);
  const scene = await loadSceneFile(early.scene, assets, RunMode.Server, REPO);
  const config = finishConfig(early, scene.doc);
  const logger = createLogger({ id: config.id, world: config.world, level: 'info', format: 'json', stream });
  const instance = new ServerInstance(config, { logger, scene, assets });
  started.push(instance);
  await instance.start();
  return { instance, port, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('ServerInstance', () => {
  it('runs two instances of one scene in one process, independently', async () => {
    const a = await makeInstance('Instance-A');
    const b = await makeInstance('Instance-B');
    expect(a.port).not.toBe(b.port);
    const [wa, wb] = await Promise.all([connect(a.port), connect(b.port)]);
    await until(() => a.instance.status().connections === 1 && b.instance.status().connections === 1, 'both connections');
    wa.close();
    wb.close();

    // Separate simulations: different objects, both advancing.
    expect(a.instance.simulation).not.toBe(b.instance.simulation);
    const t0 = [a.instance.status().tick, b.instance.status().tick];
    await until(() => a.instance.status().tick > t0[0]! + 30 && b.instance.status().tick > t0[1]! + 30, 'both ticking');

    // Moving a crate in one world leaves the other alone.
    a.instance.simulation!.world.get('crate-01')!.position = [100, 100, 100];
    expect(b.instance.simulation!.world.get('crate-01')!.position[0]).not.toBe(100);

    // Each logs with its own id and the shared world name.
    expect(a.lines.every((l) => l.id === 'Instance-A' && l.world === 'arena')).toBe(true);
    expect(b.lines.every((l) => l.id === 'Instance-B' && l.world === 'arena')).toBe(true);

    // Stopping one leaves the other ticking and serving.
    await a.instance.stop('test');
    const tb = b.instance.status().tick;
    await until(() => b.instance.status().tick > tb + 30, 'B still ticking');
    expect(a.instance.status().state).toBe('stopped');
    const again = await connect(b.port);
    again.close();
    await expect(connect(a.port)).rejects.toThrow();
  });

  it('applies a reload as a delta to the running simulation, between two ticks', async () => {
    const { instance, lines } = await makeInstance('Instance-R');
    const before = instance.simulation;
    expect(await instance.reload()).toBe(true);
    // At once, or at the next tick's start when that tick is due sooner than applying takes.
    await until(() => instance.status().reloads === 1, 'the reload applied');
    expect(instance.simulation).toBe(before);
    expect(lines.some((l) => /reloaded/.test(String(l.msg)) && l.result === 'delta')).toBe(true);
  });
});
