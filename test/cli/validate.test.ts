/**
 * `keel validate <scene…>` through the real CLI: the demo scenes pass with a one-line summary;
 * invalid scenes print every problem at once as `<file> <json-pointer>: <rule>` and exit 1 —
 * schema violations, duplicate ids, unknown parents, parent cycles, non-finite numbers, paths
 * escaping the asset root, missing or broken scripts and heightfields, JSON syntax errors.
 */
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, runKeel, stopAll } from '../helpers/keel-process.js';
import { cleanupTemp, crate, entityCount, ground, put, scene, SCENES, scripted, tempDir, type Entity } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

/** `ok   <file>: scene "<name>", <n> entities, …` as printed for each valid scene. */
const okLine = (file: string, name: string, entities: number) => new RegExp(`^ok   ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: scene "${name}", ${entities} entities, `, 'm');

/** A problem line: `<file> <pointer>: <message>`. */
const PROBLEM = /^\S+\.json \/\S*: \S.*$/;

describe('keel validate', () => {
  it('passes both demo scenes, as in the README, with one line each and a one-line summary', async () => {
    const r = await runKeel(['validate', 'scenes/arena.json', 'scenes/terrain.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(okLine('scenes/arena.json', 'arena', await entityCount(join(SCENES, 'arena.json'))));
    expect(lines[0]).toContain('1 script');
    expect(lines[1]).toMatch(okLine('scenes/terrain.json', 'terrain', await entityCount(join(SCENES, 'terrain.json'))));
    expect(lines[1]).toContain('1 heightfield');
    expect(lines[2]).toBe('2 scenes valid');
  });

  it('runs as `npx keel validate` from the package, as the README shows', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'npx',
        ['--no-install', 'keel', 'validate', 'scenes/arena.json', 'scenes/terrain.json'],
        { cwd: REPO, timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, npm_config_update_notifier: 'false' } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 scenes valid');
  }, 90_000);

  it('resolves relative scene paths against ASSET_PATH and --assets', async () => {
    const viaEnv = await runKeel(['validate', 'arena.json', 'terrain.json'], { env: { ASSET_PATH: 'scenes' } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toMatch(okLine('scenes/arena.json', 'arena', await entityCount(join(SCENES, 'arena.json'))));
    expect(viaEnv.stdout.trimEnd().split('\n').at(-1)).toBe('2 scenes valid');

    const viaFlag = await runKeel(['validate', '--assets', SCENES, 'terrain.json']);
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(viaFlag.stdout.trimEnd().split('\n').at(-1)).toBe('1 scene valid');
  });

  it('prints every problem of every scene at once, one `<file> <pointer>: <rule>` line each, and exits 1', async () => {
    const dir = await tempDir();
    const entities: Entity[] = [
      ground(),
      crate('crate-a'),
      crate('crate-a', 4), // duplicate id
      { ...crate('heavy'), components: { ...crate('heavy').components, rigidBody: { type: 'dynamic', mass: -1 } } },
      { id: 'orphan', parent: 'nobody', components: {} },
      { id: 'loop-1', parent: 'loop-2', components: {} },
      { id: 'loop-2', parent: 'loop-1', components: {} },
      scripted('escaper', '../../outside.js'),
      { id: 'absolute-terrain', components: { collider: { shape: 'heightfield', asset: '/etc/terrain.khf', elementSize: 1 } } },
    ];
    const at = (id: string, from = 0) => entities.findIndex((e, i) => i >= from && e.id === id);
    await put(dir, 'scenes/arena.json', scene('arena', entities));
    // JSON has no Infinity, but 1e999 parses to it.
    await put(dir, 'scenes/infinite.json', `{"format":"keel-scene","version":1,"name":"infinite","entities":[{"id":"far","components":{"transform":{"position":[0,1e999,0]}}}]}`);
    await put(dir, 'scenes/good.json', scene('good', [ground(), crate('box')]));

    const r = await runKeel(['validate', 'scenes/arena.json', 'scenes/good.json', 'scenes/infinite.json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(1);

    const expected = [
      `scenes/arena.json /entities/${at('heavy')}/components/rigidBody/mass: must be >= 0`,
      `scenes/arena.json /entities/${at('crate-a', at('crate-a') + 1)}/id: duplicate id "crate-a" (first used at /entities/${at('crate-a')})`,
      `scenes/arena.json /entities/${at('orphan')}/parent: no entity has id "nobody"`,
      `scenes/arena.json /entities/${at('escaper')}/components/script/module: "../../outside.js" must be a relative path inside the scene's asset root`,
      `scenes/arena.json /entities/${at('absolute-terrain')}/components/collider/asset: "/etc/terrain.khf" must be a relative path inside the scene's asset root`,
      `scenes/infinite.json /entities/0/components/transform/position/1: must be a finite number`,
    ];
    const errLines = r.stderr.trimEnd().split('\n');
    for (const line of expected) expect(errLines, r.stderr).toContain(line);
    const cycle = errLines.find((l) => l.includes('parent chain loops'));
    expect(cycle, r.stderr).toMatch(new RegExp(`^scenes/arena\\.json /entities/(${at('loop-1')}|${at('loop-2')})/parent: parent chain loops: loop-(1|2) -> loop-(1|2) -> loop-(1|2)$`));

    // Every line but the summary is a located problem; the summary counts them.
    const problems = errLines.slice(0, -1);
    for (const l of problems) expect(l).toMatch(PROBLEM);
    expect(problems).toHaveLength(expected.length + 1);
    expect(errLines.at(-1)).toBe(`2 of 3 scenes invalid (${problems.length} problems)`);

    // The valid scene is still reported as such.
    expect(r.stdout).toMatch(okLine('scenes/good.json', 'good', 2));
    expect(r.stdout).not.toContain('arena');
  });

  it('checks referenced files: a missing script, a script that fails to import, an undecodable heightfield', async () => {
    const dir = await tempDir();
    await put(dir, 'scenes/scripts/broken.js', 'export default {\n  update(ctx) {\n');
    await put(dir, 'scenes/scripts/not-hooks.js', 'export default 42;\n');
    await put(dir, 'scenes/assets/bad.khf', 'KHF1 but far too short');
    const entities: Entity[] = [
      ground(),
      scripted('ghost', 'scripts/missing.js'),
      scripted('broken', 'scripts/broken.js'),
      scripted('not-hooks', 'scripts/not-hooks.js'),
      { id: 'hills', components: { rigidBody: { type: 'static' }, collider: { shape: 'heightfield', asset: 'assets/bad.khf', elementSize: 1 } } },
    ];
    const at = (id: string) => entities.findIndex((e) => e.id === id);
    await put(dir, 'scenes/refs.json', scene('refs', entities));

    const r = await runKeel(['validate', 'scenes/refs.json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('1 of 1 scene invalid (4 problems)');
    const line = (pointer: string) => lines.find((l) => l.startsWith(`scenes/refs.json ${pointer}: `));
    expect(line(`/entities/${at('ghost')}/components/script/module`), r.stderr).toContain('scripts/missing.js');
    expect(line(`/entities/${at('broken')}/components/script/module`), r.stderr).toContain('scripts/broken.js');
    expect(line(`/entities/${at('not-hooks')}/components/script/module`), r.stderr).toMatch(/not-hooks\.js: .*export default/);
    expect(line(`/entities/${at('hills')}/components/collider/asset`), r.stderr).toContain('assets/bad.khf');
  });

  it('reports a script missing under the asset root given by ASSET_PATH', async () => {
    const dir = await tempDir();
    // The arena without its scripts folder: its moving platform cannot be found there.
    await copyFile(join(SCENES, 'arena.json'), join(dir, 'arena.json'));
    const doc = JSON.parse(await readFile(join(dir, 'arena.json'), 'utf8')) as { entities: Entity[] };
    const i = doc.entities.findIndex((e) => (e.components.script as { module?: string } | undefined)?.module !== undefined);
    expect(i).toBeGreaterThanOrEqual(0);

    const bad = await runKeel(['validate', 'arena.json'], { cwd: REPO, env: { ASSET_PATH: dir } });
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^\\S*arena\\.json /entities/${i}/components/script/module: scripts/moving-platform\\.js: `, 'm'));

    // The same file passes once the asset root holds the script.
    const good = await runKeel(['validate', join(dir, 'arena.json'), '--assets', SCENES]);
    expect(good.code, good.stderr).toBe(0);
  });

  it('locates a JSON syntax error by line and column', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'broken.json'), '{\n  "format": "keel-scene",\n  "version": 1,,\n}\n');
    const r = await runKeel(['validate', 'broken.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^broken\.json \/: invalid JSON \(line 3, column \d+\)/);
  });

  it('exits 2 on usage errors: no scene given', async () => {
    const r = await runKeel(['validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument/);
  });
});
