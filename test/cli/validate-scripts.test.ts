/**
 * `keel validate` checks scene scripts without running them: a script whose top-level code
 * would act (here: write a file) is parsed and its export shape checked, and nothing runs;
 * `--import-scripts` loads them as `keel serve` does, which runs that code. Syntax errors and
 * wrong export shapes are reported with the scene's pointer and the reason, all in one run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { checkScriptSource } from '../../runtime/node/script-check.js';
import { cleanupTemp, ground, put, scene, scripted, tempDir, type Entity } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

describe('keel validate: scripts are parsed, not run', () => {
  it('does not run a script that would act when imported; --import-scripts does', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'ran');
    await put(dir, 'scenes/scripts/acts.js', `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, String(process.env.SERVER_JOIN_SECRET));\nexport default { update() {} };\n`);
    await put(dir, 'scenes/acts.json', scene('acts', [ground(), scripted('actor', 'scripts/acts.js')]));
    const env = { SERVER_JOIN_SECRET: 'secret-the-script-would-read' };

    const r = await runKeel(['validate', 'scenes/acts.json'], { cwd: dir, env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('ok   scenes/acts.json: scene "acts", 2 entities, 1 script, 0 heightfields');
    expect(existsSync(marker)).toBe(false);

    const imported = await runKeel(['validate', '--import-scripts', 'scenes/acts.json'], { cwd: dir, env });
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('reports syntax errors and wrong export shapes, with pointers, without importing', async () => {
    const dir = await tempDir();
    await put(dir, 'scenes/scripts/broken.js', 'export default {\n  update(ctx) {\n');
    await put(dir, 'scenes/scripts/number.js', 'export default 42;\n');
    await put(dir, 'scenes/scripts/bad-hook.js', 'const hooks = { update: 5 };\nexport default hooks;\n');
    await put(dir, 'scenes/scripts/no-default.js', 'export const update = () => {};\n');
    await put(dir, 'scenes/scripts/fine.js', 'const speed = 2;\nexport default { start(ctx) { ctx.state.s = speed; }, update: (ctx, dt) => {} };\n');
    const entities: Entity[] = [
      ground(),
      scripted('broken', 'scripts/broken.js'),
      scripted('number', 'scripts/number.js'),
      scripted('bad-hook', 'scripts/bad-hook.js'),
      scripted('no-default', 'scripts/no-default.js'),
      scripted('fine', 'scripts/fine.js'),
      scripted('ghost', 'scripts/missing.js'),
    ];
    const at = (id: string) => entities.findIndex((e) => e.id === id);
    await put(dir, 'scenes/refs.json', scene('refs', entities));
    const r = await runKeel(['validate', 'scenes/refs.json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('1 of 1 scene invalid (5 problems)');
    const line = (id: string) => lines.find((l) => l.startsWith(`scenes/refs.json /entities/${at(id)}/components/script/module: `));
    expect(line('broken')).toMatch(/scripts\/broken\.js: does not parse: Unexpected token \(3:0\)$/);
    expect(line('number')).toMatch(/scripts\/number\.js: must export default an object of hooks/);
    expect(line('bad-hook')).toMatch(/scripts\/bad-hook\.js: export default\.update must be a function$/);
    expect(line('no-default')).toMatch(/scripts\/no-default\.js: must export default an object of hooks .*; it has no default export$/);
    expect(line('ghost')).toMatch(/scripts\/missing\.js: no such file under /);
    expect(line('fine')).toBeUndefined();
  });

  it('takes on trust what only running would show', () => {
    expect(checkScriptSource('export default makeHooks();')).toBeNull();
    expect(checkScriptSource("export { default } from './other.js';")).toBeNull();
    expect(checkScriptSource('function update() {}\nconst h = { update };\nexport { h as default };')).toBeNull();
    expect(checkScriptSource('export default class Hooks {}')).toMatch(/must export default an object of hooks/);
    expect(checkScriptSource('export default { get update() { return () => {}; } };')).toMatch(/must be a function \(not a getter\)/);
  });
});
