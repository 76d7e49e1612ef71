/**
 * A server instance is a value: two of the same scene run in one process, on their own ports,
 * with their own simulations, and stopping one leaves the other ticking. Reloads and the
 * loop's pause, driven through the instance's own methods.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RunMode } from '../../runtime/core/index.js';
import { AssetRoot } from '../../runtime/node/assets.js';
import { finishConfig, resolveEarlyConfig } from '../../runtime/node/config.js';
import { createLogger } from '../../runtime/node/logger.js';
import { loadSceneFile } from '../../runtime/node/scene-loader.js';
import { ServerInstance } from '../../runtime/node/server-instance.js';
import { freePort } from '../helpers/ports.js';
import { REPO } from '../helpers/keel-process.js';
import { TempDirs } from '../helpers/wait.js';

const temps = new TempDirs('keel-instance-');
afterAll(() => temps.cleanup());

const started: ServerInstance[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop('test over')));
});

async function makeInstance(id: string, sceneFile = 'scenes/arena.json') {
  const port = await freePort();
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const early = resolveEarlyConfig({
    scene: sceneFile,
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
  return { instance, port, lines, assets };
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

  it('a reload waiting for the next tick is applied when the loop is paused, and the tick number holds', async () => {
    const dir = await temps.make();
    const file = join(dir, 'pause.json');
    const crate = (id: string, x: number) => ({ id, components: { transform: { position: [x, 0.5, 0] }, mesh: { shape: 'box' } } });
    const doc = (extra: unknown[]) => ({ format: 'keel-scene', version: 1, name: 'pause', entities: [crate('crate', 0), ...extra] });
    await writeFile(file, JSON.stringify(doc([])));
    const { instance, assets } = await makeInstance('Instance-P', file);
    await until(() => instance.status().tick > 3, 'a few ticks');
    await writeFile(file, JSON.stringify(doc([crate('marker', 4)])));
    const next = await loadSceneFile(file, assets, RunMode.Server, REPO);
    // The version arrives while the next tick is overdue (this thread held past two deadlines),
    // so it waits for that tick's start rather than being applied at once.
    let arrive!: (s: typeof next) => void;
    const reloading = instance.reload(performance.now(), new Promise((r) => (arrive = r)));
    const heldUntil = performance.now() + 3 * (1000 / instance.status().tickRate);
    while (performance.now() < heldUntil) {
      // hold the thread
    }
    arrive(next);
    expect(await reloading).toBe(true);
    expect(instance.status().reloads).toBe(0);
    // Paused before that tick: no tick comes to apply it, so the pause does.
    instance.pause();
    const tick = instance.status().tick;
    expect(instance.status().reloads).toBe(1);
    expect(instance.simulation!.world.get('marker')).toBeDefined();
    await sleep(200);
    expect(instance.status().tick).toBe(tick);
    instance.resume();
    await until(() => instance.status().tick > tick + 3, 'ticking again');
    expect(instance.status().reloads).toBe(1);
    expect(instance.simulation!.world.get('marker')).toBeDefined();
  });
});
