/**
 * The live link's "done when", end to end: `npm start` (scripts/dev.mjs, the real dev stack: keel
 * serve with its admin channel, and the Vite dev server) over a temp copy of the scenes folder; a
 * client page joined to the server with its player walking; the editor attached to the server's
 * live view with no typing. The editor drags crate-01 with the gizmo and saves: the client page's
 * `window.keel` shows the crate at its new position (bounded at 5 s for a loaded machine; the figure, a fraction of a second on a quiet one, is kept in test-results/editor/live-e2e.json), the editor's live view shows it
 * there too, and the client's player kept moving on the same connection (same player id, never
 * out of `connected`, its tick advancing throughout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';
import { until } from '../cli/util.js';
import { launchBrowser, openPage, saveArtifacts, waitForKeel, type WatchedPage } from './browser-helpers.js';

const temps = new TempDirs('keel-live-e2e-');
let stack: ChildProcess | null = null;
let out = '';
let browser: Browser;
let web = '';
let game = 0;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  const dir = await temps.make();
  const scenes = join(dir, 'scenes');
  await cp(join(REPO, 'scenes'), scenes, { recursive: true });
  const [g, w, a] = [await freePort(), await freePort(), await freePort()];
  game = g;
  web = `http://127.0.0.1:${w}`;
  stack = spawn(process.execPath, [join(REPO, 'scripts/dev.mjs'), join(scenes, 'arena.json')], {
    cwd: REPO,
    env: { ...process.env, SERVER_PORT: String(g), KEEL_WEB_PORT: String(w), SERVER_ADMIN_PORT: String(a), SERVER_HEALTH_PORT: '0', KEEL_SCENES_DIR: scenes, SERVER_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  stack.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  [browser] = await Promise.all([
    launchBrowser(),
    until(() => (/Editor  http/.test(out) && /Listening on/.test(out) ? true : undefined), `the dev stack to start\n${out}`, 60_000),
  ]);
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await saveArtifacts(ctx.task.name, pages);
});
afterAll(async () => {
  await browser?.close();
  if (stack && stack.exitCode === null && stack.signalCode === null) {
    const gone = new Promise((r) => stack!.once('exit', r));
    process.kill(stack.pid!, 'SIGINT');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
    if (stack.exitCode === null && stack.signalCode === null) process.kill(stack.pid!, 'SIGKILL');
  }
  await temps.cleanup();
});

interface Handle {
  doc: { entities: { id: string; components: { transform?: { position: number[] } } }[] };
  dirty: boolean;
  selection: string[];
  gizmoHandle(axis: 'X'): { x: number; y: number } | null;
}

describe('done when: an editor save reaches a playing client and the live view', () => {
  it('a dragged and saved crate moves in the client and the live view while the player keeps playing', async () => {
    const client = await openPage(browser, 'client', `${web}/client/?scene=arena&server=ws://127.0.0.1:${game}&name=player`, { width: 640, height: 360 });
    pages.push(client);
    const joined = await waitForKeel(client, 'the client to join', (k) => k.connected === true && typeof k.playerId === 'string' && Array.isArray(k.player));
    const playerId = joined.playerId as string;
    const crateIn = (p: WatchedPage) => p.page.evaluate(() => (window as unknown as { keel: { entity(id: string): { position: number[] } | null } }).keel.entity('crate-01')?.position ?? null);
    const crate0 = await until(async () => (await crateIn(client)) ?? undefined, 'crate-01 in the client', 20_000);

    const editor = await openPage(browser, 'editor', `${web}/editor/?scene=arena`);
    pages.push(editor);
    const e = editor.page;
    await e.waitForFunction(() => (window as unknown as { keelEditor?: { ready: boolean } }).keelEditor?.ready === true, null, { timeout: 60_000 });
    const ed = <T>(fn: (k: Handle) => T): Promise<T> => e.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;
    await e.click('[data-action="attach"]');
    await e.click('[data-action="attach-dev"]');
    await e.locator('[data-live-entity="crate-01"]').waitFor({ timeout: 20_000 });
    const liveCrate = () => e.evaluate(() => (window as unknown as { keelLive: { state(): { objects: Record<string, { position: number[] }> } } }).keelLive.state().objects['crate-01']?.position ?? null);
    expect(Math.abs((await until(async () => (await liveCrate()) ?? undefined, 'crate-01 in the live view', 10_000))[0]! - crate0[0]!)).toBeLessThan(0.05);
    // Fold the Live panel to work in the viewport.
    await e.click('[data-action="live-collapse"]');
    await e.locator('.live-panel.collapsed').waitFor();

    // Drag crate-01 along X with the gizmo (real mouse events).
    await e.click('[data-entity-id="crate-01"]');
    await until(async () => ((await ed((k) => k.selection)).join() === 'crate-01' ? true : undefined), 'crate-01 selected', 10_000);
    const at = (await ed((k) => k.gizmoHandle('X')))!;
    expect(at).not.toBeNull();
    await e.mouse.move(at.x, at.y);
    await e.mouse.down();
    for (let i = 1; i <= 8; i++) await e.mouse.move(at.x + (120 * i) / 8, at.y);
    await e.mouse.up();
    const x = (await ed((k) => k.doc.entities.find((en) => en.id === 'crate-01')!.components.transform!.position))[0]!;
    expect(x).toBeGreaterThan(crate0[0]! + 0.4);

    // The player starts walking; then the editor saves.
    const samples: { state: unknown; tick: number; player: number[]; playerId: unknown }[] = [];
    const sample = async () => {
      const k = await client.page.evaluate(() => {
        const h = (window as unknown as { keel: { state: unknown; tick: number; player: number[]; playerId: unknown } }).keel;
        return { state: h.state, tick: h.tick, player: [...h.player], playerId: h.playerId };
      });
      samples.push(k);
    };
    await client.page.keyboard.down('KeyW');
    try {
      await sample();
      await e.keyboard.press('Control+s');
      await until(async () => ((await ed((k) => k.dirty)) === false ? true : undefined), 'the save', 15_000);
      const saved = performance.now();
      let seenMs = NaN;
      await until(async () => {
        await sample();
        const p = await crateIn(client);
        if (p && Math.abs(p[0]! - x) < 0.05) return (seenMs = performance.now() - saved);
        return undefined;
      }, `the client to show crate-01 at x = ${x}\n${out.slice(-3000)}`, 10_000);
      // The live view of the server shows it there too (the page draws in software on a busy
      // machine: bounded generously; the figure is kept in the artifact).
      let lastLive: number[] | null = null;
      let liveMs = NaN;
      await until(async () => {
        lastLive = await liveCrate();
        return lastLive && Math.abs(lastLive[0]! - x) < 0.05 ? (liveMs = performance.now() - saved) : undefined;
      }, 'the live view to show the moved crate', 15_000).catch((err: Error) => {
        throw new Error(`${err.message}; it last showed crate-01 at ${JSON.stringify(lastLive)}`);
      });
      await sample();
      const results = join(REPO, 'test-results', 'editor');
      await mkdir(results, { recursive: true });
      await writeFile(join(results, 'live-e2e.json'), `${JSON.stringify({ saveToClientMs: Math.round(seenMs), saveToLiveViewMs: Math.round(liveMs), samples: samples.length, x }, null, 1)}\n`);
      // Within a fraction of a second on a quiet machine (the figure is in the artifact; the
      // bench's live suite measures it properly); bounded here so a machine under load passes
      // and a path that loses the edit or reloads the page does not.
      expect(seenMs, `save to client: ${seenMs.toFixed(0)} ms`).toBeLessThan(5000);
    } finally {
      await client.page.keyboard.up('KeyW');
    }

    // The player kept playing on the same connection: always connected, the same id, the tick
    // always advancing, and it walked on through the reload.
    for (const s of samples) {
      expect(s.state).toBe('connected');
      expect(s.playerId).toBe(playerId);
    }
    for (let i = 1; i < samples.length; i++) expect(samples[i]!.tick).toBeGreaterThanOrEqual(samples[i - 1]!.tick);
    expect(samples.at(-1)!.tick).toBeGreaterThan(samples[0]!.tick);
    const first = samples[0]!.player;
    const last = samples.at(-1)!.player;
    expect(Math.hypot(last[0]! - first[0]!, last[2]! - first[2]!)).toBeGreaterThan(0.5);
    // The server applied it as a delta (no full reload, nobody re-seated).
    expect(out).toMatch(/"result":"delta"/);
    expect(out).not.toMatch(/"result":"full"/);
    await e.screenshot({ path: join(REPO, 'test-results', 'editor', 'screens', 'editor-live-e2e.png') }).catch(() => undefined);
    expect(client.errors).toEqual([]);
    expect(editor.errors).toEqual([]);
  }, 180_000);
});
