/**
 * `keel bots` and its Bot survive what a server sends: a malformed frame ends that bot's
 * connection (reported in the summary) instead of the process, and a second welcome after a
 * scene reload keeps one set of input timers per bot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { Bot } from '../../runtime/node/bot-client.js';
import { encodeServer, MessageType, PROTOCOL_VERSION } from '../../runtime/core/index.js';
import { runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cleanupTemp, crate, ground, HOST, listening, put, scene, sleep, tempDir, until } from './util.js';
import { writeFile } from 'node:fs/promises';

const servers: WebSocketServer[] = [];
const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
  await stopAll();
  await cleanupTemp();
});

/** A server that welcomes each client, then sends it a frame no decoder accepts. */
async function hostileServer(): Promise<string> {
  const port = await freePort();
  const wss = new WebSocketServer({ port, host: HOST });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      ws.send(encodeServer({ type: MessageType.Welcome, protocol: PROTOCOL_VERSION, playerEntity: 'player-1', scene: 'fake', sceneHash: '0'.repeat(64), tickRate: 60, sendRate: 20, tick: 1 }));
      ws.send(new Uint8Array([MessageType.Snapshot, 1, 2, 3]));
    });
  });
  return `ws://${HOST}:${port}`;
}

describe('keel bots', () => {
  it('a malformed frame closes that bot and is reported; the process finishes its run', async () => {
    const url = await hostileServer();
    const r = await runKeel(['bots', '--url', url, '--count', '3', '--duration', '1'], { timeoutMs: 20_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^joined\s+3\/3$/m);
    expect(r.stdout).toMatch(/^malformed\s+3 \(truncated frame: /m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('after a scene reload the second welcome keeps the bot at its input rate', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'live.json', scene('live', [ground(), crate('box-1')]));
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(port), '--log-format', 'json'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    const bot = new Bot({ url: `ws://${HOST}:${port}`, name: 'steady', inputRate: 20 });
    bots.push(bot);
    await bot.start();
    expect(bot.stats.joined).toBe(true);
    // Edit until the server reloads whole and seats the bot again (a tick-rate change cannot apply as a delta).
    for (let attempt = 0; bot.stats.welcomes < 2 && attempt < 10; attempt++) {
      await writeFile(file, JSON.stringify(scene('live', [ground(), crate('box-1'), crate(`box-${attempt + 2}`, 4)], { tickRate: 30 + attempt })));
      await until(() => (bot.stats.welcomes >= 2 ? true : undefined), 'a second welcome', 3000).catch(() => undefined);
    }
    expect(bot.stats.welcomes).toBe(2);
    await until(() => (bot.mirror.byId('box-1') ? true : undefined), 'the new world in the mirror');
    // Timers never fire more often than their period, so one set of them sends at most 20 a
    // second; a second set would send twice that.
    const n0 = bot.stats.inputs;
    const t0 = performance.now();
    await sleep(2000);
    const rate = (bot.stats.inputs - n0) / ((performance.now() - t0) / 1000);
    expect(rate).toBeLessThan(20 * 1.3);
    expect(rate).toBeGreaterThan(0);
    expect(bot.stats.malformed).toBeNull();
    expect(bot.stats.closeCode).toBeNull();
  }, 60_000);
});
