/**
 * Delta hot reload through a real `keel serve`, real files written atomically (temp file renamed
 * over the scene) and a real WebSocket bot: an edit moves a crate and the bot's mirror sees it; a
 * dynamic body nobody edited keeps its velocity; the bot stays seated and is not moved; a script
 * edit restarts only its entities; an invalid edit is logged once with its pointer while the world
 * keeps running; a tick-rate change reloads whole and is announced; /metrics counts each result.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../runtime/node/bot-client.js';
import { writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { cleanupTemp, HOST, listening, put, scene, tempDir, until, type Entity } from '../cli/util.js';
import { freePort } from '../helpers/ports.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const marker = (name: string) => `export default { start(ctx) { ctx.log.info({ entity: ctx.entity.id }, '${name} started'); } };\n`;
// Sets its entity moving at 1 m/s along x once, at start: a restart would set it again.
const pusher = `export default { start(ctx) { ctx.entity.setVelocity([1, 0, 0]); ctx.log.info({ entity: ctx.entity.id }, 'pusher started'); } };\n`;

function entities(boxX: number): Entity[] {
  return [
    { id: 'box', components: { transform: { position: [boxX, 0, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
    {
      id: 'slider',
      components: {
        transform: { position: [0, 10, 0] },
        rigidBody: { type: 'dynamic', mass: 1, linearDamping: 0, angularDamping: 0 },
        collider: { shape: 'sphere', radius: 0.5 },
        script: { module: 'scripts/pusher.js', props: {}, modes: ['server'] },
      },
    },
    { id: 'marked-1', components: { transform: { position: [0, 0, 5] }, script: { module: 'scripts/marker.js', props: {}, modes: ['server'] } } },
    { id: 'marked-2', components: { transform: { position: [0, 0, 6] }, script: { module: 'scripts/marker.js', props: {}, modes: ['server'] } } },
    { id: 'other', components: { transform: { position: [0, 0, 7] }, script: { module: 'scripts/other.js', props: {}, modes: ['server'] } } },
    { id: 'spawn', components: { transform: { position: [20, 0, 0] }, spawnPoint: {} } },
  ];
}

// No gravity: the slider moves at a constant 1 m/s and the player stays where the bot leaves it.
const settings = (tickRate = 60) => ({ gravity: [0, 0, 0], tickRate });

async function metric(healthPort: number, result: string): Promise<number> {
  const text = await (await fetch(`http://${HOST}:${healthPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = text.match(new RegExp(`^keel_scene_reloads_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** The first log record from index `from` on that matches `pred`, waiting for it (bounded). */
const recordAfter = (proc: KeelProcess, from: number, pred: (r: Record<string, unknown>) => boolean, what: string) =>
  until(() => proc.records().slice(from).find(pred), what, 10_000);

const reloadedAfter = (proc: KeelProcess, from: number, result: string) =>
  recordAfter(proc, from, (r) => r.result === result && / reloaded \(/.test(String(r.msg)), `a ${result} reload`);

describe('delta hot reload', () => {
  it('applies edits to the running world without disturbing players, bodies or unrelated scripts', async () => {
    const dir = await tempDir();
    await put(dir, 'scripts/pusher.js', pusher);
    await put(dir, 'scripts/marker.js', marker('marker v1'));
    await put(dir, 'scripts/other.js', marker('other'));
    const file = await put(dir, 'live.json', scene('live', entities(0), settings()));
    const port = await freePort();
    const health = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(port), '--health-port', String(health), '--send-rate', '60'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    const bot = new Bot({ url: `ws://${HOST}:${port}`, name: 'stayer', inputRate: 0.001 });
    await bot.start();
    expect(bot.stats.joined).toBe(true);
    const playerId = bot.stats.welcome!.playerEntity;
    const pos = (id: string) => bot.mirror.byId(id)?.position;
    await until(() => (pos('slider') && pos(playerId) ? true : undefined), 'the slider and the player in the mirror');
    // The slider is moving: its x grows by about 1 m/s.
    await until(() => (pos('slider')![0] > 0.5 ? true : undefined), 'the slider to move');

    // 1. An edit moves the box; the mirror sees it there; nothing else is disturbed.
    const playerBefore = [...pos(playerId)!];
    let from = proc.records().length;
    await writeFileAtomic(file, JSON.stringify(scene('live', entities(5), settings())));
    const applied = await reloadedAfter(proc, from, 'delta');
    expect(applied).toMatchObject({ changed: 1, added: 0, removed: 0, restarted: [] });
    expect(typeof applied.ms).toBe('number');
    await until(() => (Math.abs(pos('box')![0] - 5) < 0.01 ? true : undefined), 'the mirror to show the box at x = 5');
    const sliderX = pos('slider')![0];
    // The slider kept its velocity (no restart, no reset to rest): it keeps moving at 1 m/s.
    await until(() => (pos('slider')![0] > sliderX + 0.3 ? true : undefined), 'the slider to keep moving after the reload');
    expect(Math.abs(pos('slider')![1] - 10)).toBeLessThan(0.01);
    // The bot is still seated (no second welcome), under the same id, where it was.
    expect(bot.stats.welcomes).toBe(1);
    expect(bot.stats.closeCode).toBeNull();
    const playerAfter = pos(playerId)!;
    expect(Math.hypot(playerAfter[0]! - playerBefore[0]!, playerAfter[2]! - playerBefore[2]!)).toBeLessThan(0.5);
    // Clients heard of the new version.
    await until(() => (bot.stats.sceneChanges.length === 1 ? true : undefined), 'the scene change announcement');
    expect(bot.stats.sceneChanges[0]).toMatchObject({ kind: 'delta', scene: 'live' });
    expect(bot.stats.sceneChanges[0]!.sceneHash).toMatch(/^[0-9a-f]{64}$/);
    expect(proc.records().filter((r) => r.msg === 'pusher started')).toHaveLength(1);

    // 2. A script edit restarts only the entities that use it.
    const markerStarts = () => proc.records().filter((r) => r.msg === 'marker v2 started').map((r) => r.entity);
    from = proc.records().length;
    await writeFileAtomic(`${dir}/scripts/marker.js`, marker('marker v2'));
    const scriptReload = await reloadedAfter(proc, from, 'delta');
    expect([...(scriptReload.restarted as string[])].sort()).toEqual(['marked-1', 'marked-2']);
    await until(() => (markerStarts().length === 2 ? true : undefined), 'both marked entities to start v2');
    expect(markerStarts().sort()).toEqual(['marked-1', 'marked-2']);
    expect(proc.records().filter((r) => r.msg === 'other started')).toHaveLength(1);
    expect(proc.records().filter((r) => r.msg === 'pusher started')).toHaveLength(1);

    // 3. An invalid edit: one problem line with file and pointer, the world keeps running.
    const bad = entities(5);
    (bad[1]!.components.rigidBody as Record<string, unknown>).mass = -1;
    from = proc.records().length;
    await writeFileAtomic(file, JSON.stringify(scene('live', bad, settings())));
    const rejected = await recordAfter(proc, from, (r) => r.result === 'rejected', 'the rejection');
    expect(String(rejected.msg)).toContain('live.json');
    expect(String(rejected.msg)).toContain('/entities/1/components/rigidBody/mass');
    // The same bad file saved again is not logged again.
    await writeFileAtomic(file, JSON.stringify(scene('live', bad, settings())) + '\n');
    await until(async () => ((await metric(health, 'rejected')) === 2 ? true : undefined), 'the second rejection to be counted');
    expect(proc.records().filter((r) => r.result === 'rejected')).toHaveLength(1);
    const movedBefore = pos('slider')![0];
    await until(() => (pos('slider')![0] > movedBefore + 0.2 ? true : undefined), 'the world to keep running');
    expect(bot.stats.closeCode).toBeNull();

    // 4. A tick-rate change cannot apply live: a full reload, announced as a swap; the bot is seated again.
    from = proc.records().length;
    await writeFileAtomic(file, JSON.stringify(scene('live', entities(5), settings(30))));
    const full = await reloadedAfter(proc, from, 'full');
    expect(full.result).toBe('full');
    expect(proc.records().slice(from).some((r) => /settings\.tickRate changed \(60 → 30\)/.test(String(r.msg)))).toBe(true);
    await until(() => (bot.stats.welcomes === 2 ? true : undefined), 'the second welcome');
    expect(bot.stats.sceneChanges.at(-1)).toMatchObject({ kind: 'full', scene: 'live' });

    // /metrics may answer from a snapshot up to half a second old.
    await until(async () => ((await metric(health, 'full')) === 1 ? true : undefined), '/metrics to count the full reload');
    expect(await metric(health, 'delta')).toBe(2);
    expect(await metric(health, 'rejected')).toBe(2);

    await bot.close();
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });

  it('reads a scene too large to load between two ticks on its worker thread, and applies its edits as before', async () => {
    const dir = await tempDir();
    // 6000 entities take longer to read than fits between two ticks at 60 Hz (16.7 ms).
    const big = (x: number): Entity[] => [
      { id: 'mover', components: { transform: { position: [x, 0, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
      ...Array.from({ length: 6000 }, (_, i) => ({ id: `e-${i}`, components: { transform: { position: [i % 80, 0, Math.floor(i / 80)] } } })),
      { id: 'spawn', components: { transform: { position: [-5, 0, -5] }, spawnPoint: {} } },
    ];
    const file = await put(dir, 'big.json', scene('big', big(0), settings(60)));
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(port), '--health-port', '0'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    const seen: string[] = [];
    for (let x = 1; x <= 3; x++) {
      const from = proc.records().length;
      const text = JSON.stringify(scene('big', big(x), settings(60)));
      await writeFileAtomic(file, text);
      // The reload of exactly this version (its hash), as a delta that changed the mover alone.
      const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
      const r = await recordAfter(proc, from, (r) => / reloaded \(/.test(String(r.msg)) && r.hash === hash, `the reload of the version with the mover at x = ${x}`);
      expect(r).toMatchObject({ result: 'delta', changed: 1, added: 0, removed: 0 });
      seen.push(String(r.parsedOn));
    }
    // The start-up load said how long a load takes: every reload goes to the worker.
    expect(seen).toEqual(['worker', 'worker', 'worker']);
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });
});
