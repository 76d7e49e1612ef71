/**
 * The client page joined to a real `keel serve` process: two pages see each other move, a
 * third is refused by a full server with its reason, and a killed server shows the reconnect
 * state until a restarted one is rejoined. Real Chromium, real Vite dev server, real sockets.
 */
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { launchBrowser, openPage, saveArtifacts, startWeb, waitForKeel, type WatchedPage } from './browser-helpers.js';

let browser: Browser;
let web: { server: ViteDevServer; url: string };
let port: number;
let server: KeelProcess;
const pages: WatchedPage[] = [];
/** Chromium's own report of a WebSocket that could not connect (the server was down): expected while reconnecting. */
const REFUSED_SOCKET = /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed/;

async function serve(): Promise<KeelProcess> {
  const p = startKeel(['serve', 'scenes/arena.json', '--port', String(port), '--host', '127.0.0.1', '--max-players', '2', '--log-format', 'json', '--no-watch']);
  await p.waitForRecord((r) => String(r.msg).startsWith('Listening on'), 20_000);
  return p;
}

beforeAll(async () => {
  port = await freePort();
  [browser, web, server] = await Promise.all([launchBrowser(), startWeb('connected-play'), serve()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.server.close();
  await stopAll();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await saveArtifacts(ctx.task.name, pages);
});

async function join(name: string): Promise<WatchedPage> {
  const p = await openPage(browser, name, `${web.url}/client/?scene=arena&server=ws://127.0.0.1:${port}&name=${name}`, { width: 480, height: 270 });
  pages.push(p);
  return p;
}

function position(p: WatchedPage, id: string): Promise<number[] | null> {
  return p.page.evaluate((i) => (window as unknown as { keel: { entity(id: string): { position: number[] } | null } }).keel.entity(i)?.position ?? null, id);
}

/** Waits until the page's only player label reads `name`. */
async function labelled(p: WatchedPage, name: string): Promise<void> {
  const texts = () => p.page.locator('.keel-labels .keel-label').allTextContents();
  let last: string[] = [];
  await until(async () => ((last = await texts()).includes(name) ? true : undefined), `${p.name}'s label reading ${name}`, 40_000, 250).catch((err: Error) => {
    throw new Error(`${err.message}; its labels read ${JSON.stringify(last)}`);
  });
  expect(await texts()).toEqual([name]);
}

describe('connected play-test', () => {
  let alice: WatchedPage;
  let bob: WatchedPage;

  it('two pages join; one walks and the other sees its avatar move', async () => {
    [alice, bob] = await Promise.all([join('alice'), join('bob')]);
    const a = await waitForKeel(alice, 'alice to join and see two players', (k) => k.connected === true && k.players === 2 && typeof k.playerId === 'string' && Array.isArray(k.player));
    const b = await waitForKeel(bob, 'bob to join and see two players', (k) => k.connected === true && k.players === 2 && typeof k.playerId === 'string');
    expect(a.playerId).not.toBe(b.playerId);
    expect(a.tick as number).toBeGreaterThan(0);
    const aliceId = a.playerId as string;
    const seen0 = await position(bob, aliceId);
    expect(seen0).not.toBeNull();
    await alice.page.keyboard.down('KeyW');
    try {
      await until(async () => {
        const p = await position(bob, aliceId);
        return p && Math.hypot(p[0]! - seen0![0]!, p[2]! - seen0![2]!) > 1.5 ? p : undefined;
      }, "alice's avatar to move 1.5 m in bob's page", 40_000, 250);
    } finally {
      await alice.page.keyboard.up('KeyW');
    }
    // Alice's own view moved too (predicted), and the server's ping is measured.
    const moved = await waitForKeel(alice, 'a ping figure', (k) => typeof k.pingMs === 'number');
    expect(Math.hypot((moved.player as number[])[0]! - (a.player as number[])[0]!, (moved.player as number[])[2]! - (a.player as number[])[2]!)).toBeGreaterThan(1);
    // Each draws the other with a label bearing the name it joined with, not its entity id.
    await labelled(bob, 'alice');
    await labelled(alice, 'bob');
    expect(aliceId).not.toBe('alice');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 150_000);

  it('a third page against --max-players 2 shows the full-server banner', async () => {
    const carol = await join('carol');
    const k = await waitForKeel(carol, 'the refusal banner', (k) => k.state === 'refused' && typeof k.banner === 'string' && k.banner.startsWith('Refused'));
    expect(k.banner).toContain('server full (2/2)');
    expect(await carol.page.locator('.keel-banner').innerText()).toContain('server full (2/2)');
    expect(carol.errors).toEqual([]);
    await carol.page.close();
  }, 90_000);

  it('a killed server shows reconnecting; a restarted server is rejoined', async () => {
    await server.stop('SIGKILL', 0);
    const k = await waitForKeel(alice, 'the reconnect banner', (k) => k.state === 'reconnecting' && typeof k.banner === 'string' && k.banner.startsWith('Reconnecting to the server'), 20_000);
    expect(k.banner).toMatch(/\(connection lost\)/);
    expect(await alice.page.locator('.keel-banner').innerText()).toMatch(/Reconnecting to the server/);
    server = await serve();
    const back = await waitForKeel(alice, 'alice to rejoin', (k) => k.connected === true && Array.isArray(k.player), 40_000);
    expect(back.banner).toBeNull();
    await waitForKeel(bob, 'bob to rejoin', (k) => k.connected === true && k.players === 2, 40_000);
    // The restarted server numbers players afresh: each still labels the other by its name.
    await labelled(bob, 'alice');
    await labelled(alice, 'bob');
    for (const p of [alice, bob]) expect(p.errors.filter((e) => !REFUSED_SOCKET.test(e))).toEqual([]);
  }, 120_000);
});
