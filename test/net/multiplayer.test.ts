/**
 * Players over real sockets against a real server process: join and leave, seeing each other
 * move, refusals with their reasons, and bad clients dropped without hurting good ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bot } from '../../runtime/node/bot-client.js';
import { mintJoinToken } from '../../runtime/node/join-token.js';
import { encodeClient, MessageType, PROTOCOL_VERSION } from '../../runtime/core/index.js';
import { freePort } from '../helpers/ports.js';
import { until as pollUntil } from '../helpers/wait.js';
import { REPO, startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';

const bots: Bot[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(extra: string[] = [], scene = 'scenes/arena.json'): Promise<{ proc: KeelProcess; url: string }> {
  const port = await freePort();
  const proc = startKeel(['serve', scene, '--port', String(port), '--host', '127.0.0.1', '--log-format', 'json', '--no-watch', ...extra]);
  await proc.waitForRecord((r) => String(r.msg).startsWith('Listening on'));
  return { proc, url: `ws://127.0.0.1:${port}` };
}

async function bot(url: string, name: string, token?: string): Promise<Bot> {
  const b = new Bot({ url, name, ...(token ? { token } : {}) });
  bots.push(b);
  await b.start();
  return b;
}

/** The shared bounded poll (in time and attempts), over a plain condition. */
const until = (cond: () => boolean, what: string, ms = 10_000) => pollUntil(() => (cond() ? true : undefined), what, ms, 20);

/** A raw socket for sending frames a well-behaved client never would. */
function raw(url: string): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('open', () => resolve({ ws, closed }));
    ws.on('error', reject);
  });
}

describe('multiplayer', () => {
  it('players join, see each other move, and leave; the server logs who', async () => {
    const { proc, url } = await serve();
    const a = await bot(url, 'alice');
    const b = await bot(url, 'bob');
    expect(a.stats.welcome).toMatchObject({ scene: 'arena', tickRate: 60, sendRate: 20, playerEntity: 'player-1' });
    expect(a.stats.welcome!.sceneHash).toMatch(/^[0-9a-f]{64}$/);
    // Each sees the other's body, and sees it move as the bots wander.
    await until(() => !!a.mirror.byId('player-2') && !!b.mirror.byId('player-1'), 'players in each other mirror');
    const start = [...a.mirror.byId('player-2')!.position];
    await until(() => Math.hypot(...a.mirror.byId('player-2')!.position.map((v, i) => v - start[i]!)) > 0.5, 'bob moving in alice view');
    // The mirror holds the whole scene too.
    expect(a.mirror.byId('ground')?.components).toMatchObject({ mesh: { shape: 'box' } });
    // The acks riding on the inputs reach the server: snapshots become deltas.
    expect(a.stats.deltas).toBeGreaterThan(0);
    await b.close();
    await until(() => !a.mirror.byId('player-2'), 'bob gone from alice view');
    await proc.waitForRecord((r) => /^Player bob left/.test(String(r.msg)));
    expect(proc.records().some((r) => /^Player alice joined as player-1 from 127\.0\.0\.1/.test(String(r.msg)))).toBe(true);
  });

  it('refuses the 51st player of 50 with "server full (50/50)"', async () => {
    const { url } = await serve(['--max-players', '50']);
    const joined = await Promise.all(Array.from({ length: 50 }, (_, i) => bot(url, `p${i}`)));
    expect(joined.every((b) => b.stats.joined)).toBe(true);
    const extra = await bot(url, 'one-too-many');
    expect(extra.stats.joined).toBe(false);
    expect(extra.stats.closeCode).toBe(4001);
    expect(extra.stats.refused).toBe('server full (50/50)');
  }, 60_000);

  it('refuses a wrong protocol version with the reason', async () => {
    const { url } = await serve();
    const { ws, closed } = await raw(url);
    ws.send(encodeClient({ type: MessageType.Hello, protocol: 99, token: '', name: 'old' }));
    expect(await closed).toEqual({ code: 4000, reason: `protocol version 99 not supported (server speaks ${PROTOCOL_VERSION})` });
    const old = await raw(url); // a client of the previous version
    old.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION - 1, token: '', name: 'old' }));
    expect(await old.closed).toEqual({ code: 4000, reason: `protocol version ${PROTOCOL_VERSION - 1} not supported (server speaks ${PROTOCOL_VERSION})` });
  });

  it('garbage, truncated and oversized frames close only their sender; others keep receiving', async () => {
    const { proc, url } = await serve();
    const good = await bot(url, 'good');
    const garbage = await raw(url);
    garbage.ws.send(new Uint8Array([0x7f, 1, 2, 3]));
    expect((await garbage.closed).code).toBe(4003);
    const truncated = await raw(url);
    truncated.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: 'x' }).subarray(0, 3));
    expect(await truncated.closed).toMatchObject({ code: 4003, reason: expect.stringMatching(/^malformed message: truncated/) });
    const big = await raw(url);
    big.ws.send(new Uint8Array(64 * 1024));
    expect((await big.closed).code).toBe(1009);
    const afterBad = good.stats.snapshots;
    await until(() => good.stats.snapshots > afterBad + 10, 'good client still receiving');
    expect(good.stats.closeCode).toBeNull();
    const warnings = proc.records().filter((r) => r.level === 40 && /^Closing 127\.0\.0\.1/.test(String(r.msg)));
    expect(warnings.length).toBe(2); // garbage and truncated, once each, with the address
  });

  it('accepts valid join tokens and refuses expired or forged ones', async () => {
    const secret = 'a-long-enough-secret-for-tests';
    const { url } = await serve(['--join-secret', secret]);
    expect((await bot(url, 'ok', mintJoinToken(secret, 'ok', 60))).stats.joined).toBe(true);
    const expired = await bot(url, 'late', mintJoinToken(secret, 'late', -10));
    expect([expired.stats.closeCode, expired.stats.refused]).toEqual([4002, 'bad join token: expired']);
    const forged = await bot(url, 'forger', mintJoinToken('some-other-secret-entirely', 'forger', 60));
    expect([forged.stats.closeCode, forged.stats.refused]).toEqual([4002, 'bad join token: wrong signature']);
    const none = await bot(url, 'none');
    expect(none.stats.closeCode).toBe(4002);
  });

  it('drops a client that never reads, and keeps ticking and sending to the others meanwhile', async () => {
    // A scene with many entities: a client that never acks gets full snapshots, which fill
    // the socket buffers within seconds when nobody reads them.
    const dir = mkdtempSync(join(tmpdir(), 'keel-slow-'));
    dirs.push(dir);
    const scene = JSON.parse(readFileSync(join(REPO, 'scenes/arena.json'), 'utf8')) as { entities: unknown[]; $schema?: string };
    delete scene.$schema;
    for (let i = 0; i < 600; i++) {
      scene.entities.push({
        id: `pillar-${i}`,
        name: `A pillar with a rather long descriptive name, number ${i}`,
        components: { transform: { position: [i % 30, 0, Math.floor(i / 30)] }, mesh: { shape: 'box', size: [0.2, 3, 0.2] }, material: { color: '#888888' } },
      });
    }
    writeFileSync(join(dir, 'big.json'), JSON.stringify(scene));
    const healthPort = await freePort();
    const { proc, url } = await serve(['--assets', join(REPO, 'scenes'), '--health-port', String(healthPort)], join(dir, 'big.json'));
    const good = await bot(url, 'good');
    // Ticks completed, from the server's own histogram.
    const ticks = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      return Number(/^keel_tick_duration_seconds_count\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
    };
    const t1 = await ticks();
    // The sleeper: says hello, then its socket stops reading.
    const sleeper = await raw(url);
    sleeper.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: 'sleeper' }));
    await until(() => proc.records().some((r) => /joined as/.test(String(r.msg)) && r.name === 'sleeper'), 'sleeper joined');
    (sleeper.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await proc.waitForRecord((r) => r.code === 4005 && /too slow/.test(String(r.reason)), 30_000);
    const t2 = await ticks();
    const before = good.stats.snapshots;
    await until(() => good.stats.snapshots > before + 10, 'good client still receiving');
    // Sends never block the tick: it kept running while the sleeper's buffers filled. What the
    // sleeper cost each tick is a speed figure: `npm run bench -- --only net` measures it ("A
    // client that never reads").
    expect(t2 - t1).toBeGreaterThan(30);
  }, 60_000);

  it('replicates what scripts do: spawned and removed entities, changed materials', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-script-net-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'painter.js'),
      `export default {
        update(ctx) {
          const t = ctx.world.tick;
          if (t === 120) ctx.world.spawn({ id: 'spawned-1', components: { transform: { position: [1, 5, 1] }, mesh: { shape: 'sphere' } } });
          if (t === 150) ctx.entity.setMaterial({ color: '#ff0000' });
          if (t === 200) ctx.world.remove('spawned-1');
        },
      };`,
    );
    writeFileSync(
      join(dir, 'scene.json'),
      JSON.stringify({
        format: 'keel-scene',
        version: 1,
        name: 'painter',
        entities: [{ id: 'painter', components: { material: { color: '#00ff00' }, script: { module: 'painter.js' } } }],
      }),
    );
    const { url } = await serve([], join(dir, 'scene.json'));
    const b = await bot(url, 'watcher');
    expect(b.stats.welcome!.tick).toBeLessThan(120); // joined before the script acts
    await until(() => !!b.mirror.byId('spawned-1'), 'spawned entity seen');
    expect(b.mirror.byId('spawned-1')!.components.mesh).toEqual({ shape: 'sphere', radius: 0.5 });
    await until(() => (b.mirror.byId('painter')?.components.material as { color?: string } | undefined)?.color === '#ff0000', 'material change');
    await until(() => b.mirror.lastTick > 200 && !b.mirror.byId('spawned-1'), 'spawned entity removed again');
  });
});

