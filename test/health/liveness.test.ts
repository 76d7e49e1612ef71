/**
 * Liveness through the real CLI: a scene script freezes the game loop; the health thread keeps
 * answering, /livez and /healthz turn 503 after --stall-ms, the watchdog ends the process with
 * exit code 3 after --watchdog-ms, and a second instance on the same host is unaffected
 * throughout. A stall shorter than the watchdog is survived. (--watchdog-ms 0 and
 * --health-file: watchdog-disabled.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import {
  ARENA,
  cleanupTemp,
  FREEZE_LINE,
  freezeScene,
  get,
  healthUrl,
  ports,
  sceneWithScript,
  SCENES,
  serveArgs,
  sleep,
  waitHttp,
  waitReady,
  type HttpResult,
} from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const STALL_MS = 1000;
const WATCHDOG_MS = 4000;

/** Blocks the loop once, for 2.5 s (past --stall-ms, short of --watchdog-ms), after 60 ticks. */
const HICCUP_SCRIPT = `export default {
  update(ctx) {
    if (ctx.state.done || ctx.world.tick < 60) return;
    ctx.state.done = true;
    ctx.log.warn({ tick: ctx.world.tick }, 'hiccup: blocking the loop for 2500 ms');
    const end = Date.now() + 2500;
    while (Date.now() < end) { /* busy */ }
  },
};
`;

describe('liveness and the watchdog', () => {
  it('a frozen loop turns /livez 503 within stall-ms + 1 s while still answering, then exits 3; a second instance keeps ticking', async () => {
    const scene = await freezeScene(180); // about 3 s of normal ticking at 60 Hz
    const pf = await ports();
    const pa = await ports();
    const frozen = startKeel(serveArgs(scene, pf, ['--assets', SCENES, '--id', 'Frozen-1', '--stall-ms', String(STALL_MS), '--watchdog-ms', String(WATCHDOG_MS)]));
    const healthy = startKeel(serveArgs(ARENA, pa, ['--id', 'Healthy-1']));
    // When the freeze line arrives (it is written just before the endless loop starts).
    let frozenAt = 0;
    frozen.child.stdout!.on('data', () => {
      if (!frozenAt && frozen.stdout().includes(FREEZE_LINE)) frozenAt = Date.now();
    });

    // Before the freeze: 200 with the status fields, on /livez and /healthz alike.
    const before = await waitHttp(pf, '/livez', (r) => r.status === 200 && Number(r.json?.tick) > 0, 'frozen-to-be instance ticking', 15_000);
    expect(before.json).toMatchObject({ id: 'Frozen-1', world: 'freeze-test', stalled: false, players: 0 });
    expect(typeof before.json!.tick).toBe('number');
    expect(typeof before.json!.lastTickAgeMs).toBe('number');
    expect(before.json!.lastTickAgeMs).toBeLessThan(STALL_MS);
    expect(typeof before.json!.uptimeS).toBe('number');
    const hzBefore = await get(healthUrl(pf, '/healthz'));
    expect(hzBefore?.status).toBe(200);
    expect(hzBefore?.json).toMatchObject({ id: 'Frozen-1', world: 'freeze-test', stalled: false });
    expect(frozen.stdout()).not.toContain(FREEZE_LINE);

    // The neighbour is sampled every 100 ms from here until the frozen one has exited.
    await waitReady(pa);
    const neighbour: (HttpResult | null)[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 400; i++) {
        neighbour.push(await get(healthUrl(pa, '/livez')));
        await sleep(100);
      }
    })();

    try {
      // `keel health` against the healthy instance.
      const ok = await runKeel(['health'], { env: { SERVER_HEALTH_PORT: String(pa.health) } });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^200 /);

      // The freeze: /livez turns 503 within stall-ms + 1 s of it.
      await frozen.waitForText(FREEZE_LINE, 20_000);
      expect(frozenAt).toBeGreaterThan(0);
      const first503 = await waitHttp(pf, '/livez', (r) => r.status !== 200, '/livez 503 after the freeze', 5000, 20);
      const took = Date.now() - frozenAt;
      expect(first503.status).toBe(503);
      expect(took, `503 came ${took} ms after the freeze`).toBeLessThanOrEqual(STALL_MS + 1000);
      expect(first503.json).toMatchObject({ id: 'Frozen-1', world: 'freeze-test', stalled: true });
      expect(first503.json!.lastTickAgeMs).toBeGreaterThan(STALL_MS);
      const stuckTick = first503.json!.tick as number;
      expect(stuckTick).toBeGreaterThanOrEqual(before.json!.tick as number);

      // Still answering: /healthz alike, /readyz says why, and the age grows while the tick stays.
      const hz = await get(healthUrl(pf, '/healthz'));
      expect(hz?.status).toBe(503);
      expect(hz?.json).toMatchObject({ stalled: true, tick: stuckTick });
      const rz = await get(healthUrl(pf, '/readyz'));
      expect(rz?.status).toBe(503);
      expect(rz?.json?.reason).toBe('game loop stalled');
      await sleep(600);
      const later = await get(healthUrl(pf, '/livez'));
      expect(later?.status).toBe(503);
      expect(later?.json?.tick).toBe(stuckTick);
      expect(later?.json?.lastTickAgeMs).toBeGreaterThanOrEqual((first503.json!.lastTickAgeMs as number) + 400);

      // The watchdog: exit 3 after about --watchdog-ms, with a fatal record naming tick and stall.
      const exit = await frozen.exited(WATCHDOG_MS + 10_000);
      const exitedAfter = Date.now() - frozenAt;
      expect(exit.code, exit.stdout + exit.stderr).toBe(3);
      expect(exitedAfter).toBeGreaterThanOrEqual(WATCHDOG_MS - 1000);
      expect(exitedAfter).toBeLessThanOrEqual(WATCHDOG_MS + 4000);
      const fatal = frozen.records().filter((r) => r.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ id: 'Frozen-1', world: 'freeze-test', tick: stuckTick, exitCode: 3 });
      expect(fatal[0]!.stallMs).toBeGreaterThanOrEqual(WATCHDOG_MS);
      expect(String(fatal[0]!.msg)).toContain(`at tick ${stuckTick}`);
      expect(String(fatal[0]!.msg)).toContain(`frozen for ${String(fatal[0]!.stallMs)} ms`);
      const warn = frozen.records().find((r) => /Game loop stalled/.test(String(r.msg)));
      expect(warn).toMatchObject({ level: 40, tick: stuckTick });
      expect(warn!.stallMs).toBeGreaterThan(STALL_MS);
      expect(await get(healthUrl(pf, '/livez'))).toBeNull(); // gone with the process

      // Give the neighbour a moment past the exit, then check it was 200 and ticking throughout.
      await sleep(300);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(neighbour.length).toBeGreaterThan(20);
    for (const r of neighbour) {
      expect(r?.status).toBe(200);
      expect(r?.json).toMatchObject({ id: 'Healthy-1', world: 'arena', stalled: false });
    }
    const ticks = neighbour.map((r) => r!.json!.tick as number);
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBeGreaterThanOrEqual(ticks[i - 1]!);
    expect(ticks.at(-1)! - ticks[0]!).toBeGreaterThan(120); // > 2 s worth of 60 Hz ticks over ~5 s
    expect(healthy.child.exitCode).toBeNull();
  }, 60_000);

  it('a stall shorter than the watchdog: 503 while it lasts, then 200 again and the instance lives on', async () => {
    const scene = await sceneWithScript('hiccup', HICCUP_SCRIPT);
    const p = await ports();
    const proc = startKeel(serveArgs(scene, p, ['--stall-ms', String(STALL_MS), '--watchdog-ms', String(WATCHDOG_MS)]));
    await proc.waitForText('hiccup: blocking', 20_000);
    const stalled = await waitHttp(p, '/livez', (r) => r.status === 503, '/livez 503 during the hiccup', 5000, 20);
    const stuckTick = stalled.json!.tick as number;
    const back = await waitHttp(p, '/livez', (r) => r.status === 200 && (r.json?.tick as number) > stuckTick, '/livez 200 after the hiccup', 10_000, 20);
    expect(back.json).toMatchObject({ stalled: false, state: 'ready' });
    expect((await get(healthUrl(p, '/readyz')))?.status).toBe(200);
    const recovered = await proc.waitForRecord((r) => /Game loop recovered/.test(String(r.msg)), 5000);
    expect(recovered.tick).toBeGreaterThan(stuckTick);
    // Past the watchdog time counted from the hiccup's start: still running, never a fatal line.
    await sleep(2000);
    expect(proc.child.exitCode).toBeNull();
    expect(proc.records().some((r) => r.level === 60)).toBe(false);
    expect((await get(healthUrl(p, '/livez')))?.status).toBe(200);
  }, 40_000);
});
