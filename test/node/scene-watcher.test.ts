/**
 * The scene watcher against real files: a second save that lands while the first one is being
 * reloaded still reloads. chokidar drops a second `change` of one path within 50 ms of the first,
 * so the watcher must notice such a save itself.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { RELOAD_QUIET_MS, SceneWatcher } from '../../runtime/node/scene-watcher.js';
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

describe('SceneWatcher early load', () => {
  /** A watcher whose `load` reads the file; the reload records what it was given and when. */
  async function watching() {
    const dir = await mkdtemp(join(tmpdir(), 'keel-watch-'));
    const file = join(dir, 'scene.json');
    await writeFileAtomic(file, 'v0');
    const loads: string[] = [];
    const reloads: { early: string | null; applied: string; sinceToApply: number }[] = [];
    const watcher = new SceneWatcher<string>({
      log: pino({ level: 'silent' }),
      load: async () => {
        const text = await readFile(file, 'utf8');
        loads.push(text);
        if (!text.endsWith('.')) throw new Error(`torn read: ${JSON.stringify(text)}`);
        return text;
      },
      reload: async (since, early) => {
        let got: string | null = null;
        let applied: string;
        try {
          got = early ? await early : null;
          applied = got ?? (await readFile(file, 'utf8'));
        } catch {
          applied = await readFile(file, 'utf8');
        }
        reloads.push({ early: got, applied, sinceToApply: performance.now() - since });
      },
    });
    cleanup.push(async () => {
      await watcher.close();
      await rm(dir, { recursive: true, force: true });
    });
    await watcher.start([file]);
    return { file, loads, reloads };
  }

  it('reads a lone save at its event and hands that read to the reload after the quiet time', async () => {
    const { file, loads, reloads } = await watching();
    await writeFileAtomic(file, 'v1.');
    await until(() => (reloads.length > 0 ? true : undefined), 'the reload', 3000, 5);
    await sleep(200);
    expect(reloads).toHaveLength(1);
    expect(reloads[0]!.early).toBe('v1.');
    expect(reloads[0]!.applied).toBe('v1.');
    // Read once, at the event: not again after the quiet time.
    expect(loads).toEqual(['v1.']);
    expect(reloads[0]!.sinceToApply).toBeGreaterThanOrEqual(RELOAD_QUIET_MS - 1);
  });

  it('a save landing after the early read began is read again: the reload applies the newest version once', async () => {
    const { file, loads, reloads } = await watching();
    await writeFileAtomic(file, 'v1.');
    // The first event's read has v1; v2 lands within the quiet time (chokidar may not report it).
    await until(() => (loads.length > 0 ? true : undefined), 'the early read', 3000, 1);
    await writeFileAtomic(file, 'v2.');
    await until(() => (reloads.at(-1)?.applied === 'v2.' ? true : undefined), `v2 to reload (so far ${JSON.stringify(reloads)})`, 3000, 5);
    await sleep(300);
    expect(loads[0]).toBe('v1.');
    if (reloads.length === 1) {
      // v2 landed within v1's burst (the usual case): one reload, of v2, the early read set aside.
      expect(reloads).toEqual([expect.objectContaining({ early: null, applied: 'v2.' })]);
    } else {
      // On a machine slow enough that v1's quiet time ended before v2 landed: v1, then v2.
      expect(reloads.map((r) => r.applied), JSON.stringify(reloads)).toEqual(['v1.', 'v2.']);
    }
  });

  it('a read that caught a file mid-write is not the reload\'s: it reads again', async () => {
    const { file, loads, reloads } = await watching();
    // A non-atomic save: the file is truncated, then written in two parts.
    const fh = await open(file, 'w');
    await fh.write('v1 half');
    await sleep(3);
    await fh.write(' and the rest.');
    await fh.close();
    await until(() => (reloads.length > 0 ? true : undefined), 'the reload', 3000, 5);
    await sleep(200);
    expect(reloads.at(-1)!.applied).toBe('v1 half and the rest.');
    expect(loads.length).toBeGreaterThanOrEqual(1);
  });
});
