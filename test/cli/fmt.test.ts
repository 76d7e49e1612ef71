/**
 * `keel fmt` through the real CLI process: `--check` passes canonical files and fails, listing
 * it, on a reformatted one; without `--check` it rewrites the file back to the committed bytes;
 * an invalid scene is named with its pointer and left untouched.
 */
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { cleanupTemp, SCENES, tempDir } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

async function copyScenes(): Promise<string> {
  const dir = await tempDir();
  for (const f of ['arena.json', 'terrain.json']) await copyFile(join(SCENES, f), join(dir, f));
  return dir;
}

describe('keel fmt', () => {
  it('--check exits 0 on the committed scenes, which are canonical, skipping the schema a glob also matches', async () => {
    const files = (await readdir(SCENES)).filter((f) => f.endsWith('.json')).map((f) => `scenes/${f}`);
    expect(files).toContain('scenes/keel-scene.schema.json');
    const r = await runKeel(['fmt', '--check', ...files]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('skipped scenes/keel-scene.schema.json: a JSON Schema, not a scene\n');
  });

  it('--check exits 1 on a reformatted file, listing only it, and changes nothing', async () => {
    const dir = await copyScenes();
    const arena = join(dir, 'arena.json');
    const compact = JSON.stringify(JSON.parse(await readFile(arena, 'utf8')));
    await writeFile(arena, compact);
    const r = await runKeel(['fmt', '--check', 'arena.json', 'terrain.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('arena.json\n');
    expect(r.stderr).toContain('1 file not in canonical form; run keel fmt arena.json');
    expect(await readFile(arena, 'utf8')).toBe(compact);
  });

  it('rewrites a reformatted file to the canonical bytes and leaves no temporary file', async () => {
    const dir = await copyScenes();
    const arena = join(dir, 'arena.json');
    const original = await readFile(arena, 'utf8');
    // Keys shuffled, defaults dropped, tabs: the same scene written differently.
    const doc = JSON.parse(original) as { entities: { components: { rigidBody?: Record<string, unknown> } }[] };
    for (const e of doc.entities) if (e.components.rigidBody) delete e.components.rigidBody.linearDamping;
    const shuffled = Object.fromEntries(Object.entries(doc).reverse());
    await writeFile(arena, JSON.stringify(shuffled, null, '\t'));
    const r = await runKeel(['fmt', 'arena.json', 'terrain.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('formatted arena.json\n');
    expect(await readFile(arena, 'utf8')).toBe(original);
    expect((await readdir(dir)).sort()).toEqual(['arena.json', 'terrain.json']);
    const again = await runKeel(['fmt', '--check', 'arena.json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
  });

  it('names an invalid scene with its pointer, exits 1 and leaves it untouched', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'bad.json');
    const text = JSON.stringify({ format: 'keel-scene', version: 1, name: 'b', entities: [{ id: 'a', components: { material: { opacity: 3 } } }] });
    await writeFile(bad, text);
    const r = await runKeel(['fmt', 'bad.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.json /entities/0/components/material/opacity: must be <= 1');
    expect(await readFile(bad, 'utf8')).toBe(text);
  });
});
