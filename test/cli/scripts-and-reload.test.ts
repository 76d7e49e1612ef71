/**
 * Scene scripts and hot reload through the real CLI: a script that throws (scenes/scripts/throws.js)
 * is disabled for its entity only and logged once with the entity id and stack while the server
 * keeps ticking; editing the served scene or one of its scripts reloads it, and an invalid edit
 * is logged with the error and never replaces the running scene.
 */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { cleanupTemp, crate, ground, HOST, listening, livez, ports, put, scene, SCENES, scripted, sleep, tempDir, tickOf, until } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const isScriptError = (r: Record<string, unknown>, entity: string) => Number(r.level) === 50 && r.entity === entity;

describe('a scene script that throws', () => {
  it('is disabled for that entity only, logged once with the entity id and stack; the server keeps running', async () => {
    const dir = await tempDir();
    // The scene lives in a temp dir; its scripts come from scenes/ through --assets.
    const file = await put(
      dir,
      'throwing.json',
      scene('throwing', [
        ground(),
        crate('box'),
        scripted('early-thrower', 'scripts/throws.js', { afterTicks: 3 }),
        scripted('late-thrower', 'scripts/throws.js', { afterTicks: 90 }),
      ], { tickRate: 30 }),
    );
    const p = await ports();
    const proc = startKeel(['serve', file, '--assets', SCENES, '--host', HOST, '--no-watch', '--port', String(p.port), '--health-port', String(p.health), '--id', 'Instance-S']);
    await listening(proc);

    const first = await proc.waitForRecord((r) => isScriptError(r, 'early-thrower'), 20_000);
    expect(first).toMatchObject({ id: 'Instance-S', world: 'throwing', hook: 'update' });
    expect(String(first.msg)).toContain('early-thrower');
    const err = first.err as { message?: string; stack?: string };
    expect(err.message).toBe('boom from throws.js');
    expect(err.stack).toMatch(/boom from throws\.js[\s\S]*throws\.js/);

    // The other entity running the same module is unaffected until its own throw, then disabled too.
    await proc.waitForRecord((r) => isScriptError(r, 'late-thrower'), 20_000);
    const recs = proc.records();
    expect(recs.findIndex((r) => isScriptError(r, 'late-thrower'))).toBeGreaterThan(recs.findIndex((r) => isScriptError(r, 'early-thrower')));

    // Many ticks later, still running, and each entity logged exactly once.
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 60 ? true : undefined), '60 more ticks');
    const body = await livez(p.health);
    expect(body).toMatchObject({ state: 'ready', id: 'Instance-S', world: 'throwing' });
    expect(proc.records().filter((r) => isScriptError(r, 'early-thrower'))).toHaveLength(1);
    expect(proc.records().filter((r) => isScriptError(r, 'late-thrower'))).toHaveLength(1);
    expect(proc.records().filter((r) => Number(r.level) >= 50)).toHaveLength(2);

    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });

  it('in pretty logs, shows the entity id and the indented stack under the error line', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'pretty.json', scene('pretty', [ground(), scripted('thrower', 'scripts/throws.js')]));
    const p = await ports();
    const proc = startKeel(['serve', file, '--assets', SCENES, '--host', HOST, '--no-watch', '--port', String(p.port), '--health-port', String(p.health), '--log-format', 'pretty', '--id', 'Instance-01']);
    await proc.waitForText(/\[Instance-01\] \[ERROR\] .*thrower/, 20_000);
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 30 ? true : undefined), '30 more ticks');
    const lines = proc.stdout().split('\n');
    const errors = lines.filter((l) => l.startsWith('[Instance-01] [ERROR]'));
    expect(errors, proc.stdout()).toHaveLength(1);
    expect(errors[0]).toContain('entity=thrower');
    const at = lines.indexOf(errors[0]!);
    expect(lines[at + 1]).toMatch(/^ {4}Error: boom from throws\.js$/);
    expect(lines[at + 2]).toMatch(/^ {8}at .*throws\.js/);
  });
});

describe('hot reload', () => {
  /** Rewrites `file` with `content` until `pred` matches a new log record (chokidar may still be starting); bounded. */
  async function editUntil(proc: KeelProcess, file: string, content: string, pred: (r: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    const seen = proc.records().length;
    const end = Date.now() + 20_000;
    for (let attempt = 0; Date.now() < end; attempt++) {
      // Appending whitespace on retries makes each write a real change without altering the scene.
      await writeFile(file, content + ' '.repeat(attempt));
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        const hit = proc.records().slice(seen).find(pred);
        if (hit) return hit;
        if (proc.child.exitCode !== null) throw new Error(`server exited waiting for ${what}\n${proc.stdout()}\n${proc.stderr()}`);
        await sleep(50);
      }
    }
    throw new Error(`timed out waiting for ${what}\nstdout:\n${proc.stdout()}`);
  }

  const reloaded = (n: number) => (r: Record<string, unknown>) => r.msg === `Scene live reloaded (${n} entities)`;
  const rejected = (r: Record<string, unknown>) => Number(r.level) === 50 && String(r.msg).startsWith('Scene reload rejected, keeping the running scene: ');

  it('reloads an edited scene; an invalid edit is logged and never replaces the running scene', async () => {
    const dir = await tempDir();
    await put(dir, 'scripts/mover.js', `export default { start(ctx) { ctx.log.info({ entity: ctx.entity.id }, 'mover v1 started'); } };\n`);
    const v1 = [ground(), crate('box-1'), scripted('mover', 'scripts/mover.js')];
    const file = await put(dir, 'live.json', scene('live', v1));
    const p = await ports();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(p.port), '--health-port', String(p.health), '--id', 'Instance-R'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    expect((await livez(p.health))?.entities).toBe(v1.length);

    // A valid edit: one more crate.
    const v2 = [...v1, crate('box-2', 4)];
    const applied = await editUntil(proc, file, JSON.stringify(scene('live', v2)), reloaded(v2.length), 'the reload of v2');
    expect(applied).toMatchObject({ id: 'Instance-R', world: 'live', level: 30, entities: v2.length });
    await until(async () => ((await livez(p.health))?.entities === v2.length ? true : undefined), '/livez to count v2');

    // An invalid edit (schema): logged with the error, v2 keeps running.
    const reloadsBefore = proc.records().filter((r) => /reloaded/.test(String(r.msg))).length;
    const badMass = [...v2, { ...crate('box-3'), components: { ...crate('box-3').components, rigidBody: { type: 'dynamic', mass: -5 } } }];
    const r1 = await editUntil(proc, file, JSON.stringify(scene('live', badMass)), rejected, 'the rejection of a negative mass');
    expect(String(r1.msg)).toContain(`/entities/${badMass.length - 1}/components/rigidBody/mass: must be >= 0`);
    expect(r1).toMatchObject({ id: 'Instance-R', world: 'live' });

    // An invalid edit (not JSON at all).
    const r2 = await editUntil(proc, file, '{ "format": "keel-scene", "version": 1, "name": "live", "entities": [', rejected, 'the rejection of broken JSON');
    expect(String(r2.msg)).toMatch(/invalid JSON \(line \d+, column \d+\)/);

    // Still v2, still ticking, nothing else replaced it.
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 30 ? true : undefined), '30 more ticks');
    expect((await livez(p.health))?.entities).toBe(v2.length);
    expect(proc.records().filter((r) => /reloaded/.test(String(r.msg)))).toHaveLength(reloadsBefore);

    // A later valid edit still reloads: the watcher survived the bad ones.
    const v3 = [ground(), scripted('mover', 'scripts/mover.js')];
    await editUntil(proc, file, JSON.stringify(scene('live', v3)), reloaded(v3.length), 'the reload of v3');
    await until(async () => ((await livez(p.health))?.entities === v3.length ? true : undefined), '/livez to count v3');

    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });

  it('reloads when one of its scripts changes; a script that no longer imports is rejected', async () => {
    const dir = await tempDir();
    const script = await put(dir, 'scripts/greeter.js', `export default { start(ctx) { ctx.log.info({ entity: ctx.entity.id }, 'greeter v1'); } };\n`);
    const entities = [ground(), scripted('greeter', 'scripts/greeter.js')];
    const file = await put(dir, 'live.json', scene('live', entities));
    const p = await ports();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(p.port), '--health-port', String(p.health)], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    expect(proc.records().some((r) => r.msg === 'greeter v1')).toBe(true);

    await editUntil(proc, script, `export default { start(ctx) { ctx.log.info({ entity: ctx.entity.id }, 'greeter v2'); } };\n`, (r) => r.msg === 'greeter v2', 'the v2 script to start');
    await proc.waitForRecord((r) => r.msg === `Scene live reloaded (${entities.length} entities)`, 20_000);

    const r = await editUntil(proc, script, 'export default {\n', rejected, 'the rejection of a broken script');
    expect(String(r.msg)).toContain('scripts/greeter.js');
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 30 ? true : undefined), '30 more ticks');
    expect((await livez(p.health))?.state).toBe('ready');
  });
});
