/**
 * The live world in the editor's viewport, in a real browser against a real `keel serve
 * --admin-port`. The dev server hands the editor page the admin URL and token (as `npm start`
 * does), so Attach offers "this dev server's instance" with no typing. The server is paused
 * from a Node admin client before the editor attaches, so the crate is still up in the air;
 * the editor's own Resume lets it fall: the viewport's live object for it moves down, the physics
 * overlay shows contact points once it lands, and "show live world" switches the drawing and its
 * banner off and on. A screenshot is kept under test-results/editor/screens/.
 */
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SUBPROTOCOL } from '../../runtime/core/index.js';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';
import { HOST, listening, put, scene, until } from '../cli/util.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

const TOKEN = 'live-world-view-token-0123456789';
const temps = new TempDirs('keel-editor-live-view-');
let h: EditorHarness;
let admin = '';

type Obj = { position: [number, number, number]; sleeping: boolean };
type State = { shown: boolean; frames: number; objects: Record<string, Obj>; contacts: [number, number, number][] };

beforeAll(async () => {
  const dir = await temps.make();
  const file = await put(
    dir,
    'drop.json',
    scene('drop', [
      { id: 'ground', components: { transform: { position: [8, -0.5, 8] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [6, 1, 6] } } },
      { id: 'crate', components: { transform: { position: [8, 6, 8] }, mesh: { shape: 'box', size: [1, 1, 1] }, rigidBody: { type: 'dynamic', mass: 1 }, collider: { shape: 'box', size: [1, 1, 1] } } },
    ]),
  );
  const adminPort = await freePort();
  admin = `ws://${HOST}:${adminPort}`;
  // Read by vite.config.ts, as scripts/dev.mjs sets them.
  process.env.KEEL_ADMIN_URL = admin;
  process.env.KEEL_ADMIN_TOKEN = TOKEN;
  try {
    h = await startEditor(await temps.make());
  } finally {
    delete process.env.KEEL_ADMIN_URL;
    delete process.env.KEEL_ADMIN_TOKEN;
  }
  const proc = startKeel(['serve', file, '--host', HOST, '--port', String(await freePort()), '--admin-port', String(adminPort), '--admin-origin', h.url, '--no-watch'], {
    env: { SERVER_ADMIN_TOKEN: TOKEN },
  });
  await listening(proc);
  // Paused from outside before the crate can fall: the editor attaches to a crate in mid-air.
  const ws = new WebSocket(admin, [ADMIN_SUBPROTOCOL], { headers: { Authorization: `Bearer ${TOKEN}` } });
  const paused = new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; paused?: boolean };
      if (m.type === 'hello') ws.send(JSON.stringify({ type: 'pause' }));
      if (m.type === 'loop' && m.paused) resolve();
    });
    ws.on('error', reject);
  });
  await paused;
  ws.close();
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await h.keep(ctx.task.name);
});
afterAll(async () => {
  await stopAll();
  await h?.close();
  await temps.cleanup();
});

const state = () => h.page.evaluate(() => (window as unknown as { keelLive: { state(): State } }).keelLive.state());

describe('editor: the live world in the viewport', () => {
  it('attaches to the dev server’s own instance with no typing and draws the live world with contacts', async () => {
    const p = h.page;
    await openScene(h, 'arena');
    // The client page is never handed the admin token.
    const clientHtml = await (await fetch(`${h.url}/client/?scene=arena`)).text();
    expect(clientHtml).not.toContain(TOKEN);

    await p.click('[data-action="attach"]');
    const dev = p.locator('[data-action="attach-dev"]');
    await dev.waitFor({ timeout: 10_000 });
    expect(await p.locator('.live-dev code').textContent()).toBe(admin);
    await dev.click();
    await p.locator('.live-panel[data-live-paused="true"]').waitFor({ timeout: 15_000 });

    // Paused: the live crate is drawn up in the air, marked live.
    const up = await until(async () => {
      const s = await state();
      return s.shown && s.objects.crate ? s : undefined;
    }, 'the live crate in the viewport', 15_000);
    expect(up.objects.crate!.position[1]).toBeGreaterThan(5);
    expect(up.objects.ground).toBeDefined();
    expect(await p.locator('.live-world-banner').textContent()).toMatch(/LIVE WORLD · drop @ ws:\/\/127\.0\.0\.1:\d+ · read-only/);
    // The editor's own scene (arena) has no crate with that id: what moves is the server's world.
    expect(await p.evaluate(() => (window as unknown as { keelEditor: { doc: { entities: { id: string }[] } } }).keelEditor.doc.entities.some((e) => e.id === 'crate' ))).toBe(false);

    // Resume from the editor: the crate falls, lands, and the overlay shows where it touches the ground.
    await p.click('[data-action="live-resume"]');
    const fell = await until(async () => {
      const s = await state();
      return s.objects.crate && s.objects.crate.position[1] < 3 ? s : undefined;
    }, 'the live crate to fall', 20_000);
    expect(fell.objects.crate!.position[1]).toBeLessThan(up.objects.crate!.position[1] - 2);
    const landed = await until(async () => {
      const s = await state();
      return s.contacts.length > 0 && s.objects.crate!.position[1] < 1 ? s : undefined;
    }, 'contact points once the crate lands', 20_000);
    // The contacts are where the crate meets the ground (y about 0, within the crate's footprint).
    for (const c of landed.contacts) {
      expect(Math.abs(c[1])).toBeLessThan(0.2);
      expect(Math.abs(c[0] - 8)).toBeLessThan(1);
      expect(Math.abs(c[2] - 8)).toBeLessThan(1);
    }
    await h.shot('editor-live-world');

    // Once at rest the crate goes to sleep and is drawn dimmed.
    await until(async () => ((await state()).objects.crate?.sleeping ? true : undefined), 'the landed crate to sleep (dimmed)', 20_000);

    // "show live world" off: nothing drawn, no banner; on again: back.
    await p.click('[data-action="show-live-world"]');
    await until(async () => ((await state()).shown === false ? true : undefined), 'the live world to hide');
    expect(await p.locator('.live-world-banner').count()).toBe(0);
    await p.click('[data-action="show-live-world"]');
    await until(async () => ((await state()).shown ? true : undefined), 'the live world to show again');
    expect(await p.locator('.live-world-banner').count()).toBe(1);

    // Detach: the live world goes with the connection.
    await p.click('[data-action="detach"]');
    await until(async () => ((await state()).shown === false ? true : undefined), 'the live world to go on detach');
    expect(await p.locator('.live-world-banner').count()).toBe(0);
    expect(h.errors).toEqual([]);
  }, 120_000);
});
