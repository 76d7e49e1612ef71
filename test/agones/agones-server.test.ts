/**
 * The Agones integration through the real CLI (`node dist/keel.mjs serve`), against a stand-in
 * for the SDK sidecar (./sidecar.ts) on 127.0.0.1 that records each call:
 * - capacity, labels and Ready once the scene is loaded and the game port bound;
 * - Health pings at --agones-health-ms while the loop ticks, and none once it is frozen;
 * - Shutdown on SIGTERM, before the clean exit;
 * - the players List following joins and leaves;
 * - retries with backoff while the sidecar is not up, then everything it missed, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../runtime/node/bot-client.js';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { readFile, writeFile } from 'node:fs/promises';
import { ARENA, cleanupTemp, freezeScene, HOST, ports, sceneWithScript, SCENES, serveArgs, sleep, until, waitHttp, type Ports } from '../health/util.js';
import { SidecarStandIn, type SidecarCall, type SidecarMode } from './sidecar.js';

const sidecars: SidecarStandIn[] = [];
const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  await stopAll();
  await Promise.all(sidecars.splice(0).map((s) => s.close()));
  await cleanupTemp();
});

const CAPACITY_PATH = '/v1beta1/lists/players?updateMask=capacity';

async function sidecar(mode: SidecarMode): Promise<SidecarStandIn> {
  const s = new SidecarStandIn(await freePort());
  sidecars.push(s);
  await s.setMode(mode);
  return s;
}

/** `serve` with the sidecar's port in AGONES_SDK_HTTP_PORT, as Agones sets it (no --agones needed). */
function serveWithAgones(scene: string, p: Ports, s: SidecarStandIn, extra: string[] = []): KeelProcess {
  return startKeel(serveArgs(scene, p, extra), { env: { AGONES_SDK_HTTP_PORT: String(s.port), SERVER_AGONES: undefined } });
}

async function bot(p: Ports, name: string): Promise<Bot> {
  const b = new Bot({ url: `ws://${HOST}:${p.port}`, name });
  bots.push(b);
  await b.start();
  expect(b.stats.joined).toBe(true);
  return b;
}

const msg = (re: RegExp) => (r: Record<string, unknown>) => re.test(String(r.msg));
const timeOf = (r: Record<string, unknown>) => Date.parse(String(r.time));
const gaps = (calls: SidecarCall[]) => calls.slice(1).map((c, i) => c.at - calls[i]!.at);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('Agones SDK integration', () => {
  it('sends capacity, labels and Ready once the scene is loaded and the port bound; then Health every --agones-health-ms', { timeout: 60_000 }, async () => {
    const s = await sidecar('up');
    const p = await ports();
    const proc = serveWithAgones(ARENA, p, s, ['--max-players', '8', '--agones-health-ms', '250']);
    const loaded = await proc.waitForRecord(msg(/^Scene arena loaded/), 20_000);
    const listening = await proc.waitForRecord(msg(/^Listening on/), 20_000);
    await until(() => (s.to('/ready').length > 0 ? true : undefined), 'POST /ready', 15_000);

    const ready = s.to('/ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.body).toEqual({});
    // Not before the scene was loaded and the game port bound (both logged before the call).
    expect(ready[0]!.at).toBeGreaterThanOrEqual(timeOf(loaded));
    expect(ready[0]!.at).toBeGreaterThanOrEqual(timeOf(listening));
    // Capacity and labels went first, so an allocation right after Ready sees them.
    const index = (c: SidecarCall | undefined) => s.calls.indexOf(c!);
    const capacity = s.to(CAPACITY_PATH);
    expect(capacity.map((c) => [c.method, c.body])).toEqual([['PATCH', { capacity: '8' }]]);
    const labels = s.to('/metadata/label');
    expect(labels.map((c) => [c.method, c.body])).toEqual([
      ['PUT', { key: 'world', value: 'arena' }],
      ['PUT', { key: 'scene-hash', value: loaded.hash }],
    ]);
    expect(String(loaded.hash)).toMatch(/^[0-9a-f]{12}$/);
    expect(index(capacity[0])).toBeLessThan(index(ready[0]));
    expect(index(labels[1])).toBeLessThan(index(ready[0]));
    expect(s.list.capacity).toBe(8);

    // Health: about one per 250 ms while ticking, never in bursts.
    const from = Date.now();
    await sleep(3000);
    const pings = s.to('/health').filter((c) => c.at >= from && c.at <= from + 3000);
    expect(pings.every((c) => c.method === 'POST')).toBe(true);
    expect(pings.length).toBeGreaterThanOrEqual(8); // 12 at exactly 250 ms
    expect(pings.length).toBeLessThanOrEqual(13);
    const g = gaps(pings);
    expect(median(g)).toBeGreaterThanOrEqual(230);
    expect(median(g)).toBeLessThanOrEqual(350);
    // Never in bursts: the gaps are taken where the sidecar (this test process) handles the
    // requests, so a stall of this process can put two of them back to back; a burst from the
    // server would put three or more inside one interval.
    const bunched = g.filter((x, i) => i > 0 && x < 150 && g[i - 1]! < 150).length;
    expect(bunched, `gaps ${g.join(', ')}`).toBe(0);
    expect(proc.records().some(msg(/^Agones: reporting to the SDK sidecar at 127\.0\.0\.1:\d+; Health every 250 ms/))).toBe(true);
  });

  it('sends no Health once the game loop is frozen, while the process lives on', { timeout: 60_000 }, async () => {
    const s = await sidecar('up');
    const p = await ports();
    const scene = await freezeScene(120); // 2 s of ticks at 60 Hz, then an endless loop in a script
    const proc = serveWithAgones(scene, p, s, ['--assets', SCENES, '--stall-ms', '500', '--watchdog-ms', '0', '--agones-health-ms', '200']);
    // The health thread still answers: /livez turns 503 and says how long ago the last tick was.
    const stalled = await waitHttp(p, '/livez', (r) => r.status === 503, '/livez 503 after the freeze', 20_000);
    const frozenAt = Date.now() - Number(stalled.json!.lastTickAgeMs);
    const before = s.to('/health').filter((c) => c.at <= frozenAt);
    expect(before.length).toBeGreaterThanOrEqual(5); // 2 s of ticking at 200 ms
    await sleep(2500);
    // A ping already on its way when the loop froze may land a moment later; none after that.
    expect(s.to('/health', true).filter((c) => c.at > frozenAt + 300)).toEqual([]);
    expect(proc.child.exitCode).toBeNull();
    expect(s.to('/ready')).toHaveLength(1);
  });

  it('sends Shutdown on SIGTERM, then drains and exits 0; no Health after it', { timeout: 60_000 }, async () => {
    const s = await sidecar('up');
    const p = await ports();
    const proc = serveWithAgones(ARENA, p, s, ['--agones-health-ms', '200']);
    await until(() => (s.to('/ready').length > 0 ? true : undefined), 'POST /ready', 20_000);
    await until(() => (s.to('/health').length >= 2 ? true : undefined), 'Health pings', 10_000);
    const sentAt = Date.now();
    const result = await proc.stop('SIGTERM', 15_000);
    expect(result.code).toBe(0);
    const shutdown = s.to('/shutdown');
    expect(shutdown.map((c) => [c.method, c.body])).toEqual([['POST', {}]]);
    expect(shutdown[0]!.at).toBeGreaterThanOrEqual(sentAt);
    expect(s.to('/health', true).filter((c) => c.at > shutdown[0]!.at + 300)).toEqual([]);
    expect(proc.records().some(msg(/^Agones: Shutdown sent/))).toBe(true);
  });

  it('keeps the players List in step with joins and leaves', { timeout: 60_000 }, async () => {
    const s = await sidecar('up');
    const p = await ports();
    serveWithAgones(ARENA, p, s, ['--max-players', '4']);
    await until(() => (s.to('/ready').length > 0 ? true : undefined), 'POST /ready', 20_000);
    await bot(p, 'alice');
    const bob = await bot(p, 'bob');
    await until(() => (s.list.values.length === 2 ? true : undefined), 'two players in the list', 10_000);
    expect(s.list.values).toEqual(['player-1', 'player-2']);
    await bob.close();
    await until(() => (s.list.values.length === 1 ? true : undefined), 'bob gone from the list', 10_000);
    expect(s.list.values).toEqual(['player-1']);
    expect(s.to(/^\/v1beta1\/lists\/players:/).map((c) => [c.method, c.path, c.body])).toEqual([
      ['POST', '/v1beta1/lists/players:addValue', { value: 'player-1' }],
      ['POST', '/v1beta1/lists/players:addValue', { value: 'player-2' }],
      ['POST', '/v1beta1/lists/players:removeValue', { value: 'player-2' }],
    ]);
    expect(s.list.capacity).toBe(4);
  });

  it('updates the scene-hash label on a hot reload, and keeps player ids unique across it', { timeout: 60_000 }, async () => {
    const s = await sidecar('up');
    const p = await ports();
    const scene = await sceneWithScript('reloading', 'export default {};');
    // As serveArgs, but watching the scene file.
    const args = serveArgs(scene, p).filter((a) => a !== '--no-watch');
    const proc = startKeel(args, { env: { AGONES_SDK_HTTP_PORT: String(s.port), SERVER_AGONES: undefined } });
    const loaded = await proc.waitForRecord(msg(/^Scene reloading loaded/), 20_000);
    await until(() => (s.to('/ready').length > 0 ? true : undefined), 'POST /ready', 20_000);
    expect(s.labels.get('scene-hash')).toBe(loaded.hash);
    await bot(p, 'alice'); // player-1
    const bob = await bot(p, 'bob'); // player-2
    await until(() => (s.list.values.length === 2 ? true : undefined), 'two players', 10_000);
    await bots.shift()!.close(); // alice leaves
    await until(() => (s.list.values.join() === 'player-2' ? true : undefined), 'alice gone', 10_000);
    // An edit reloads the scene as a delta: bob keeps his seat and his id.
    const doc = JSON.parse(await readFile(scene, 'utf8')) as { entities: unknown[] };
    doc.entities.push({ id: 'added', components: { transform: { position: [2, 1, 2] } } });
    await writeFile(scene, JSON.stringify(doc, null, 2));
    const reloaded = await proc.waitForRecord(msg(/^Scene reloading reloaded/), 15_000);
    expect(reloaded.hash).not.toBe(loaded.hash);
    await until(() => (s.labels.get('scene-hash') === reloaded.hash ? true : undefined), 'the new scene-hash label', 10_000);
    expect(bob.stats.welcomes).toBe(1);
    // carol joins after the reload under an id of her own.
    await bot(p, 'carol');
    await until(() => (s.list.values.length === 2 ? true : undefined), 'carol in the list', 10_000);
    expect(s.list.values[0]).toBe('player-2');
    const carol = s.list.values[1]!;
    expect(carol).not.toBe('player-2');
    await bob.close();
    await until(() => (s.list.values.length === 1 ? true : undefined), 'bob gone', 10_000);
    expect(s.list.values).toEqual([carol]);
  });

  it('retries with backoff while the sidecar is not up, then sends what it missed, once', { timeout: 90_000 }, async () => {
    const s = await sidecar('mute'); // bound, but every request is dropped unanswered
    const p = await ports();
    const proc = serveWithAgones(ARENA, p, s, ['--agones-health-ms', '200']);
    await proc.waitForRecord(msg(/^Listening on/), 20_000);
    const start = Date.now();
    await proc.waitForRecord(msg(/^Agones sidecar not reachable at 127\.0\.0\.1:\d+ .*retrying with backoff/), 10_000);
    // Players join while the sidecar is away; one of them leaves again before it is back.
    await bot(p, 'early');
    const gone = await bot(p, 'gone');
    await gone.close();
    await proc.waitForRecord(msg(/^Player gone left/), 10_000);
    await sleep(Math.max(0, start + 3000 - Date.now()));
    // Then the port refuses connections for a while.
    await s.setMode('down');
    await sleep(1500);
    // Meanwhile the game went on.
    await waitHttp(p, '/livez', (r) => r.status === 200, '/livez 200 while the sidecar is away');

    // Backoff: the first call (the capacity) was tried again and again, each wait longer.
    const tries = s.to(CAPACITY_PATH, true);
    expect(tries.length).toBeGreaterThanOrEqual(3);
    expect(tries.length).toBeLessThanOrEqual(8); // 100, 200, 400, 800, 1600 ms... not a tight loop
    // Each wait longer: the longest gap is well past the first wait (100 ms), and they were not
    // all alike (a fixed retry period). Judged on the whole list, since one stall of this
    // process can stretch any single gap.
    const g = gaps(tries);
    expect(Math.max(...g), `gaps ${g.join(', ')}`).toBeGreaterThan(2 * Math.min(...g));
    expect(s.to('/ready', true)).toEqual([]); // nothing after it went ahead of it

    await s.setMode('up');
    const upAt = Date.now();
    await until(() => (s.to('/ready').length > 0 ? true : undefined), 'POST /ready once the sidecar is up', 15_000);
    await until(() => (s.list.values.length > 0 ? true : undefined), 'the player who stayed in the list', 10_000);
    // Capped at 5 s between tries.
    expect(s.to('/ready')[0]!.at - upAt).toBeLessThan(7000);
    const answered = s.calls.filter((c) => c.answered && c.path !== '/health');
    expect(answered.map((c) => c.path)).toEqual([CAPACITY_PATH, '/metadata/label', '/metadata/label', '/ready', '/v1beta1/lists/players:addValue']);
    // The one who left while the sidecar was away never reaches it.
    expect(s.list.values).toEqual(['player-1']);
    await until(() => (s.to('/health').length > 0 ? true : undefined), 'Health pings answered', 5000);
    await proc.waitForRecord(msg(/^Agones sidecar reached at/), 5000);
    // One warning for the whole outage, not one per try.
    expect(proc.records().filter(msg(/^Agones sidecar not reachable/))).toHaveLength(1);
  });
});
