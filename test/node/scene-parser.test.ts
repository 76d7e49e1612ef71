/**
 * The scene parser against real files and a real worker thread: the worker's document is the
 * one this thread would read, a bad file's problems come back naming the file and pointer, a
 * worker that cannot start or dies falls back to this thread, and the worker stops when idle.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SceneError } from '../../runtime/core/index.js';
import { readScene } from '../../runtime/node/scene-loader.js';
import { SceneParser } from '../../runtime/node/scene-parser.js';
import { TempDirs, until } from '../helpers/wait.js';

const temps = new TempDirs('keel-parser-');
afterAll(() => temps.cleanup());

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
      expect(off).toEqual(here);
      // Defaults filled in by validation came back with it.
      expect(off.doc.entities[3]!.components.mesh).toEqual(here.doc.entities[3]!.components.mesh);
      expect(off.shown).toBe('rows.json');
    } finally {
      await parser.close();
    }
    expect(parser.running).toBe(false);
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
