/**
 * /readyz through the real CLI: 503 "starting: ..." while the scene loads (and the game port is
 * not bound yet), 200 "ready" while running, 503 "draining: ..." from the first moment of a
 * graceful shutdown, before the game port closes.
 *
 * Observing draining: a drain at 60 Hz lasts a few tens of ms. At --tick-rate 1 the loop sleeps
 * up to a second between ticks, and stop() waits for that sleep to end before it closes the
 * game port; signalling right after a tick leaves ~1 s in which the instance is draining with
 * its game port still open. That makes the order observable through the CLI, without timing luck.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import {
  ARENA,
  cleanupTemp,
  connect,
  get,
  healthUrl,
  ports,
  sceneWithScript,
  serveArgs,
  signalRightAfterTick,
  tryConnect,
  until,
  waitHttp,
  waitReady,
  type HttpResult,
} from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const SLOW_SCRIPT = `// Loading this module takes 1.5 s (top-level await), like a slow asset load.
await new Promise((r) => setTimeout(r, 1500));
export default { update() {} };
`;

describe('/readyz', () => {
  it('answers 503 "starting" while the scene loads, with the game port not yet bound, then 200 "ready"', async () => {
    const scene = await sceneWithScript('slow-load', SLOW_SCRIPT);
    const p = await ports();
    const proc = startKeel(serveArgs(scene, p, ['--id', 'Slow-1']));

    // The health listener is up while the script module is still loading.
    const first = await waitHttp(p, '/readyz', () => true, 'the health listener', 10_000, 20);
    expect(first.status).toBe(503);
    expect(first.json).toMatchObject({ ready: false, state: 'starting', id: 'Slow-1', world: 'slow-load' });
    expect(first.json!.reason).toMatch(/^starting/);
    expect(proc.stdout()).not.toMatch(/Listening on/);

    // Alive (the process is fine, just not ready), and the game port is not bound yet.
    const live = await get(healthUrl(p, '/livez'));
    expect(live?.status).toBe(200);
    expect(live?.json).toMatchObject({ state: 'starting', stalled: false, lastTickAgeMs: null });
    const early = await tryConnect(p.port, 2000);
    expect(early.refused, JSON.stringify(early)).toBe(true);

    // Every answer until ready says why it is not ready; then 200 "ready".
    const seen: HttpResult[] = [first];
    const ready = await until(async () => {
      const r = await get(healthUrl(p, '/readyz'));
      if (r) seen.push(r);
      return r?.status === 200 ? r : undefined;
    }, '/readyz 200', 15_000, 25);
    const before = seen.slice(0, -1);
    expect(before.length).toBeGreaterThan(5); // ~1.5 s of loading at 25 ms a poll
    for (const r of before) {
      expect(r.status).toBe(503);
      expect(r.json?.reason).toMatch(/^starting/);
    }
    expect(before.some((r) => r.json?.reason === 'starting: loading scene')).toBe(true);
    expect(ready.json).toMatchObject({ ready: true, reason: 'ready', state: 'ready' });
    await proc.waitForText('Listening on', 5000);

    // While running it stays 200, and the game port takes connections.
    const client = await connect(p.port);
    const again = await get(healthUrl(p, '/readyz'));
    expect(again?.status).toBe(200);
    expect(again?.json?.reason).toBe('ready');
    client.ws.terminate();
  }, 40_000);

  it('answers 503 "draining" from the start of a SIGTERM drain, while the game port is still open', async () => {
    const p = await ports();
    const proc = startKeel(serveArgs(ARENA, p, ['--id', 'Drain-1', '--tick-rate', '1', '--shutdown-grace-ms', '10000']));
    await waitReady(p);
    const client = await connect(p.port);

    await signalRightAfterTick(proc.pid, p, 'SIGTERM');
    const draining = await waitHttp(p, '/readyz', (r) => r.status !== 200, '/readyz to leave 200', 3000, 10);
    expect(draining.status).toBe(503);
    expect(draining.json).toMatchObject({ ready: false, state: 'draining', id: 'Drain-1' });
    expect(draining.json!.reason).toMatch(/^draining/);

    // Draining is not dead: /livez still 200.
    const live = await get(healthUrl(p, '/livez'));
    expect(live?.status).toBe(200);
    expect(live?.json).toMatchObject({ state: 'draining', stalled: false });

    // The game port is still open (so /readyz turned first), and turns new players away with 1001.
    const late = await tryConnect(p.port, 3000);
    expect(late).toEqual({ refused: false, code: 1001, reason: 'server shutting down' });
    expect(client.ws.readyState).toBe(client.ws.OPEN); // turned away at once, before the drain closes everyone
    const still = await get(healthUrl(p, '/readyz'));
    expect(still === null || (still.status === 503 && /^draining/.test(String(still.json?.reason)))).toBe(true);

    expect(await client.closed(5000)).toEqual({ code: 1001, reason: 'server shutting down' });
    const exit = await proc.exited(10_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    // The health listener goes last, with the process.
    expect(await get(healthUrl(p, '/readyz'))).toBeNull();
  }, 40_000);
});
