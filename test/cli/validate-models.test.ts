/**
 * `keel validate` on `model` meshes: the file must exist under the asset root and be a glTF
 * binary (GLB magic, version 2); the server itself never loads models.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { cleanupTemp, ground, put, scene, SCENES, tempDir } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const model = (id: string, asset: string) => ({ id, components: { transform: { position: [0, 0, 0] }, mesh: { shape: 'model', asset } } });

describe('keel validate: model meshes', () => {
  it('accepts a GLB and names each missing or non-GLB model with its pointer', async () => {
    const dir = await tempDir();
    await copyFile(join(SCENES, 'models/beacon.glb'), join(dir, 'good.glb'));
    await writeFile(join(dir, 'fake.glb'), 'not a model at all');
    const ok = await put(dir, 'ok.json', scene('ok', [ground(), model('a', 'good.glb')]));
    const r1 = await runKeel(['validate', ok]);
    expect(r1.code, r1.stderr).toBe(0);
    const bad = await put(dir, 'bad.json', scene('bad', [ground(), model('a', 'good.glb'), model('b', 'missing.glb'), model('c', 'fake.glb')]));
    const r2 = await runKeel(['validate', bad]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('/entities/2/components/mesh/asset: missing.glb: no such file under the asset root');
    expect(r2.stderr).toContain('/entities/3/components/mesh/asset: fake.glb: not a glTF binary (.glb)');
    expect(r2.stderr).not.toContain('/entities/1/');
  });

  it('rejects a model path that escapes the asset root', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'escape.json', scene('escape', [model('a', '../outside.glb')]));
    const r = await runKeel(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/entities/0/components/mesh/asset: "../outside.glb" must be a relative path inside the scene\'s asset root');
  });

  it('the arena, which draws models, validates', async () => {
    const r = await runKeel(['validate', join(SCENES, 'arena.json')]);
    expect(r.code, r.stderr).toBe(0);
  });
});
