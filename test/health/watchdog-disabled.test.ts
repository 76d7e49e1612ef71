/**
 * A frozen loop with the watchdog off (--watchdog-ms 0): the instance stays up answering 503
 * (to /livez, `keel health`, /metrics), and --health-file stops being touched, so an exec probe
 * or an orchestrator's HTTP probe is what replaces it.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import {
  cleanupTemp,
  FREEZE_LINE,
  freezeScene,
  get,
  healthUrl,
  parseExposition,
  ports,
  samplesOf,
  SCENES,
  serveArgs,
  sleep,
  tempDir,
  until,
  waitHttp,
  waitReady,
} from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const STALL_MS = 1000;

describe('a frozen loop with the watchdog disabled', () => {
  it('with --watchdog-ms 0 a frozen instance keeps answering 503 and does not exit; keel health exits 1', async () => {
    const scene = await freezeScene(60);
    const p = await ports();
    const frozen = startKeel(serveArgs(scene, p, ['--assets', SCENES, '--stall-ms', String(STALL_MS), '--watchdog-ms', '0']));
    await frozen.waitForText(FREEZE_LINE, 20_000);
    const first = await waitHttp(p, '/livez', (r) => r.status === 503, '/livez 503', 5000, 20);
    const stuckTick = first.json!.tick as number;

    // `keel health` (livez by default, and readyz) against the stalled instance: exit 1, printing the 503.
    const [live, ready] = await Promise.all([
      runKeel(['health'], { env: { SERVER_HEALTH_PORT: String(p.health) } }),
      runKeel(['health', 'readyz'], { env: { SERVER_HEALTH_PORT: String(p.health) } }),
    ]);
    expect(live.code, live.stderr).toBe(1);
    expect(live.stdout).toMatch(/^503 /);
    expect(ready.code, ready.stderr).toBe(1);
    expect(ready.stdout).toMatch(/^503 .*game loop stalled/);

    // /metrics still answers from the health thread, saying the loop is stalled.
    const metrics = await get(healthUrl(p, '/metrics'), 5000);
    expect(metrics?.status).toBe(200);
    const exp = parseExposition(metrics!.text);
    expect(samplesOf(exp, 'keel_loop_stalled')[0]?.value).toBe(1);
    expect(samplesOf(exp, 'keel_last_tick_age_seconds')[0]?.value).toBeGreaterThan(STALL_MS / 1000);

    // Well past what a watchdog would have allowed: still there, still 503, same tick.
    const since = Date.now();
    for (let i = 0; i < 12 && Date.now() - since < 3000; i++) {
      await sleep(300);
      const r = await get(healthUrl(p, '/livez'));
      expect(r?.status).toBe(503);
      expect(r?.json?.tick).toBe(stuckTick);
    }
    expect(Date.now() - since).toBeGreaterThanOrEqual(3000);
    expect(frozen.child.exitCode).toBeNull();
    expect(frozen.records().some((r) => r.level === 60)).toBe(false);

    const killed = await frozen.stop('SIGKILL', 0);
    expect(killed.signal).toBe('SIGKILL');
  }, 40_000);

  it('--health-file is touched while healthy and no longer once the loop is stalled', async () => {
    const scene = await freezeScene(300); // about 5 s of normal ticking
    const p = await ports();
    const file = join(await tempDir(), 'alive');
    const mtime = () => stat(file).then((s) => s.mtimeMs, () => undefined);
    const proc = startKeel(serveArgs(scene, p, ['--assets', SCENES, '--stall-ms', String(STALL_MS), '--watchdog-ms', '0', '--health-file', file]));

    await waitReady(p);
    const m1 = await until(mtime, 'the health file to exist', 5000);
    await sleep(1200);
    const m2 = await mtime();
    expect(proc.stdout()).not.toContain(FREEZE_LINE); // still healthy when m2 was read
    expect(m2).toBeGreaterThan(m1);
    await sleep(1200);
    const m3 = await mtime();
    expect(m3).toBeGreaterThan(m2!);

    await proc.waitForText(FREEZE_LINE, 20_000);
    await waitHttp(p, '/livez', (r) => r.status === 503, '/livez 503', 5000, 20);
    const stopped = await mtime();
    await sleep(1500);
    expect(await mtime()).toBe(stopped);
    expect(Date.now() - stopped!).toBeGreaterThanOrEqual(1500);
    expect(proc.child.exitCode).toBeNull();
  }, 40_000);
});
