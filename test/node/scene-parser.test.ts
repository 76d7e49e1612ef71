/**
 * The scene parser against real files and a real worker thread: the worker's document is the
 * one this thread would read, a bad file's problems come back naming the file and pointer, a
 * worker that cannot start or dies falls back to this thread, a primed worker holds a version to
 * send deltas against, and the worker stops when idle unless kept warm.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SceneError } from '../../runtime/core/index.js';
import { readScene, type ReadScene } from '../../runtime/node/scene-loader.js';
import { SceneParser } from '../../runtime/node/scene-parser.js';
import { TempDirs, until } from '../helpers/wait.js';

const temps = new TempDirs('keel-parser-');
afterAll(() => temps.cleanup());

/** A read without its timing, which differs from read to read. */
const untimed = ({ parseMs: _ms, ...r }: ReadScene) => r;

const scene = (n: number) => ({
  format: 'keel-scene',
  version: 1,
  name: 'rows',
  entities: Array.from({ length: n }, (_, i) => ({ id: `box-${i}`, components: { transform: { position: [i, 0.5, 0] }, mesh: { shape: 'box' } } })),
});

describe('SceneParser', () => {
  it('reads a scene on its worker thread: the same document, path and hash as on this thread', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    await writeFile(file, JSON.stringify(scene(500)));
    const parser = new SceneParser();
    try {
      const off = await parser.read(file, dir);
      expect(parser.lastOnWorker).toBe(true);
      expect(parser.running).toBe(true);
      expect(parser.fallbacks).toBe(0);
      const here = await readScene(file, dir);
      expect(untimed(off)).toEqual(untimed(here));
      // Defaults filled in by validation came back with it.
      expect(off.doc.entities[3]!.components.mesh).toEqual(here.doc.entities[3]!.components.mesh);
      expect(off.shown).toBe('rows.json');
    } finally {
      await parser.close();
    }
    expect(parser.running).toBe(false);
  });

  it('sends a version as a delta against one the caller holds: equal entities are the caller\'s own objects', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    const v1 = scene(300);
    await writeFile(file, JSON.stringify(v1));
    const parser = new SceneParser();
    try {
      const first = await parser.read(file, dir);
      const base = { hash: first.hash, doc: first.doc };
      // One entity moved, one removed, one added, and the settings changed.
      const v2 = structuredClone(v1) as typeof v1 & { settings?: unknown };
      v2.entities[7]!.components.transform.position = [70, 1, 0];
      v2.entities.splice(20, 1);
      v2.entities.push({ id: 'box-new', components: { transform: { position: [0, 9, 0] }, mesh: { shape: 'box' } } });
      v2.settings = { tickRate: 30 };
      await writeFile(file, JSON.stringify(v2));
      const second = await parser.read(file, dir, base);
      expect(parser.lastOnWorker).toBe(true);
      // The same document, path and hash as a read on this thread...
      expect(untimed(second)).toEqual(untimed(await readScene(file, dir)));
      // ...built over the caller's objects where nothing changed.
      const d = second.doc.entities;
      expect(d[0]).toBe(first.doc.entities[0]);
      expect(d[19]).toBe(first.doc.entities[19]);
      expect(d[20]).toBe(first.doc.entities[21]);
      expect(d[7]).not.toBe(first.doc.entities[7]);
      expect(d[7]!.components.transform!.position).toEqual([70, 1, 0]);
      expect(d.at(-1)!.id).toBe('box-new');
      expect(second.doc.settings.tickRate).toBe(30);
      // A base the worker never read: the whole document comes back, equal all the same.
      const stranger = { hash: 'f'.repeat(64), doc: first.doc };
      const third = await parser.read(file, dir, stranger);
      expect(untimed(third)).toEqual(untimed(second));
      expect(third.doc.entities[0]).not.toBe(first.doc.entities[0]);
    } finally {
      await parser.close();
    }
  });

  it('rejects a bad scene with its problems, file and pointer, as this thread would', async () => {
    const dir = await temps.make();
    const file = join(dir, 'bad.json');
    const doc = scene(3);
    (doc.entities[1]!.components.transform as { position: unknown }).position = [1, 'up', 0];
    await writeFile(file, JSON.stringify(doc));
    const parser = new SceneParser();
    try {
      const err = await parser.read(file, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SceneError);
      const problems = (err as SceneError).problems;
      expect(problems[0]).toMatchObject({ file: 'bad.json', pointer: '/entities/1/components/transform/position/1' });
      expect(parser.lastOnWorker).toBe(false);
      // A file that is not there: named too.
      const missing = await parser.read(join(dir, 'nope.json'), dir).catch((e: unknown) => e);
      expect((missing as SceneError).problems[0]).toMatchObject({ file: 'nope.json', rule: 'read' });
      expect(parser.fallbacks).toBe(0);
    } finally {
      await parser.close();
    }
  });

  it('falls back to this thread when the worker cannot start or dies, and is right either way', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    await writeFile(file, JSON.stringify(scene(20)));
    // A worker whose code exits at once.
    const dying = join(dir, 'dies.mjs');
    await writeFile(dying, 'process.exit(7);\n');
    const parser = new SceneParser({ url: new URL(`file://${dying}`) });
    try {
      const r = await parser.read(file, dir);
      expect(r.doc.entities).toHaveLength(20);
      expect(parser.lastOnWorker).toBe(false);
      expect(parser.fallbacks).toBe(1);
    } finally {
      await parser.close();
    }
  });

  it('primes a version ahead on the worker: the next parse naming it as its base comes back as a delta', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    const v1 = scene(200);
    await writeFile(file, JSON.stringify(v1));
    // The running version, as a server read it at start-up on its own thread.
    const running = await readScene(file, dir);
    const base = { hash: running.hash, doc: running.doc };
    const primed = new SceneParser();
    const cold = new SceneParser();
    try {
      expect(primed.running).toBe(false);
      expect(await primed.prime(file, dir)).toBe(running.hash);
      expect(primed.running).toBe(true);
      const v2 = structuredClone(v1);
      v2.entities[5]!.components.transform.position = [50, 2, 0];
      await writeFile(file, JSON.stringify(v2));
      const next = await primed.read(file, dir, base);
      expect(untimed(next)).toEqual(untimed(await readScene(file, dir)));
      expect(next.doc.entities[0]).toBe(running.doc.entities[0]);
      expect(next.doc.entities[5]).not.toBe(running.doc.entities[5]);
      // Without the prime, the worker never held that version: the whole document comes back.
      const whole = await cold.read(file, dir, base);
      expect(untimed(whole)).toEqual(untimed(next));
      expect(whole.doc.entities[0]).not.toBe(running.doc.entities[0]);
      // A file that cannot be read or is invalid primes nothing, and says so with null only.
      expect(await primed.prime(join(dir, 'nope.json'), dir)).toBeNull();
      await writeFile(file, '{"format": "keel-scene"');
      expect(await primed.prime(file, dir)).toBeNull();
      expect(primed.fallbacks).toBe(0);
    } finally {
      await primed.close();
      await cold.close();
    }
  });

  it('keeps its worker running while kept warm, and lets it stop when idle after', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    await writeFile(file, JSON.stringify(scene(5)));
    const parser = new SceneParser({ idleMs: 50 });
    try {
      parser.keepWarm(true);
      await parser.prime(file, dir);
      await parser.read(file, dir);
      await new Promise((r) => setTimeout(r, 300)); // six times the idle time
      expect(parser.running).toBe(true);
      parser.keepWarm(false);
      await until(() => (parser.running ? undefined : true), 'the worker stopped once no longer kept warm', 5_000, 10);
    } finally {
      await parser.close();
    }
  });

  it('stops its worker when idle and starts it again for the next parse', async () => {
    const dir = await temps.make();
    const file = join(dir, 'rows.json');
    await writeFile(file, JSON.stringify(scene(5)));
    const parser = new SceneParser({ idleMs: 50 });
    try {
      await parser.read(file, dir);
      expect(parser.running).toBe(true);
      await until(() => (parser.running ? undefined : true), 'the idle worker stopped', 5_000, 10);
      await parser.read(file, dir);
      expect(parser.lastOnWorker).toBe(true);
      expect(parser.running).toBe(true);
    } finally {
      await parser.close();
    }
  });
});
