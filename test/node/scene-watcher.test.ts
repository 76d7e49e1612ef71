/**
 * The scene watcher against real files: a second save that lands while the first one is being
 * reloaded still reloads. chokidar drops a second `change` of one path within 50 ms of the first,
 * so the watcher must notice such a save itself.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { SceneWatcher } from '../../runtime/node/scene-watcher.js';
import { sleep, until } from '../helpers/wait.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe('SceneWatcher', () => {
  it.each([10, 25, 40])('a save %i ms after the one being reloaded is reloaded too: the last version wins', async (gapMs) => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-watch-'));
    const file = join(dir, 'scene.json');
    await writeFileAtomic(file, 'v0');
    const loaded: string[] = [];
    const watcher = new SceneWatcher({
      log: pino({ level: 'silent' }),
      reload: async () => {
        loaded.push(await readFile(file, 'utf8'));
      },
    });
    cleanup.push(async () => {
      await watcher.close();
      await rm(dir, { recursive: true, force: true });
    });
    await watcher.start([file]);
    await writeFileAtomic(file, 'v1');
    await sleep(gapMs);
    await writeFileAtomic(file, 'v2');
    await until(() => (loaded.at(-1) === 'v2' ? true : undefined), `the watcher to load v2 (loaded so far: ${JSON.stringify(loaded)})`, 3000, 10);
    // Settled: nothing more reloads afterwards.
    const n = loaded.length;
    await sleep(300);
    expect(loaded.length).toBe(n);
    expect(loaded.at(-1)).toBe('v2');
  });
});
