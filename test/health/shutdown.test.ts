/**
 * Graceful shutdown through the real CLI: SIGTERM/SIGINT drain and exit 0 within
 * --shutdown-grace-ms, connected players get close code 1001 "server shutting down", late
 * connections are turned away, a second signal exits at once (143/130), and a drain that
 * outlasts the grace period exits 4. Slow drains use --tick-rate 1 (see readiness.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { ARENA, cleanupTemp, connect, get, healthUrl, ports, serveArgs, signalRightAfterTick, tryConnect, waitHttp, waitReady } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const GRACE_MS = 5000;

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s with a connected client drains and exits 0 within --shutdown-grace-ms', async (signal) => {
    const p = await ports();
    const proc = startKeel(serveArgs(ARENA, p, ['--id', `Stop-${signal}`, '--shutdown-grace-ms', String(GRACE_MS)]));
    await waitReady(p);
    const client = await connect(p.port);
    const closed = client.closed(GRACE_MS + 2000);

    const sentAt = Date.now();
    proc.child.kill(signal);
    const exit = await proc.exited(GRACE_MS + 5000);
    const took = Date.now() - sentAt;

    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(exit.signal).toBeNull();
    expect(took).toBeLessThan(GRACE_MS);
    expect(await closed).toEqual({ code: 1001, reason: 'server shutting down' });

    const recs = proc.records();
    const received = recs.findIndex((r) => String(r.msg).startsWith(`${signal} received`));
    const stopped = recs.findIndex((r) => /^Stopped after \d+ ticks/.test(String(r.msg)));
    expect(received, exit.stdout).toBeGreaterThanOrEqual(0);
    expect(stopped, exit.stdout).toBeGreaterThan(received);
    expect(recs[received]).toMatchObject({ level: 30, signal, graceMs: GRACE_MS, id: `Stop-${signal}`, world: 'arena' });
    expect(String(recs[stopped]!.msg)).toContain(`(${signal})`);
    expect(recs[stopped]!.ticks).toBeGreaterThan(0);
    expect(recs.some((r) => Number(r.level) >= 50)).toBe(false);
    expect(await get(healthUrl(p, '/livez'))).toBeNull();
  }, 30_000);

  it('turns away a connection attempted while draining (closed with 1001 or refused)', async () => {
    const p = await ports();
    const proc = startKeel(serveArgs(ARENA, p, ['--tick-rate', '1', '--shutdown-grace-ms', String(GRACE_MS)]));
    await waitReady(p);
    const client = await connect(p.port);

    await signalRightAfterTick(proc.pid, p, 'SIGINT');
    await waitHttp(p, '/readyz', (r) => r.status === 503, '/readyz 503 draining', 3000, 10);
    const late = await tryConnect(p.port, 3000);
    if (late.refused) expect(late.error).toMatch(/ECONNREFUSED/);
    else {
      expect(late).toEqual({ refused: false, code: 1001, reason: 'server shutting down' });
      // Turned away at once, not merely closed along with everyone at the end of the drain.
      expect(client.ws.readyState).toBe(client.ws.OPEN);
    }
    expect(await client.closed(GRACE_MS)).toEqual({ code: 1001, reason: 'server shutting down' });
    const exit = await proc.exited(GRACE_MS + 5000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(exit.stdout).toContain('SIGINT received');
    expect(exit.stdout).toMatch(/Stopped after \d+ ticks \(SIGINT\)/);
  }, 30_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('a second %s while draining exits at once with %i', async (signal, code) => {
    const p = await ports();
    const proc = startKeel(serveArgs(ARENA, p, ['--tick-rate', '1', '--shutdown-grace-ms', '20000']));
    await waitReady(p);

    await signalRightAfterTick(proc.pid, p, signal);
    await waitHttp(p, '/readyz', (r) => r.status === 503 && /^draining/.test(String(r.json?.reason)), '/readyz draining', 3000, 10);
    proc.child.kill(signal);
    const exit = await proc.exited(5000);

    expect(exit.code, exit.stdout + exit.stderr).toBe(code);
    expect(exit.stdout).toContain(`${signal} received: draining`);
    expect(exit.stdout).toContain(`Second ${signal}: exiting at once`);
    expect(exit.stdout).not.toMatch(/Stopped after/);
  }, 30_000);

  it('exits 4 when the drain outlasts --shutdown-grace-ms', async () => {
    const p = await ports();
    const proc = startKeel(serveArgs(ARENA, p, ['--tick-rate', '1', '--shutdown-grace-ms', '200']));
    await waitReady(p);

    const sentAt = Date.now();
    await signalRightAfterTick(proc.pid, p, 'SIGTERM');
    const exit = await proc.exited(10_000);

    expect(exit.code, exit.stdout + exit.stderr).toBe(4);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(200);
    const err = proc.records().find((r) => r.level === 50);
    expect(err).toMatchObject({ graceMs: 200 });
    expect(String(err!.msg)).toContain('Shutdown took longer than 200 ms; exiting with code 4');
    expect(exit.stdout).not.toMatch(/Stopped after/);
  }, 30_000);
});
