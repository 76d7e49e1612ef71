/**
 * The client page in local mode (no server): the arena renders, W moves the player, space
 * jumps, and bad addresses or scenes show their messages. Real Chromium, real Vite dev server.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/keel-process.js';
import { TempDirs } from '../helpers/wait.js';
import { keel, launchBrowser, openPage, overlayText, pixelStats, saveArtifacts, startWeb, waitForKeel, type WatchedPage } from './browser-helpers.js';

let browser: Browser;
let web: { server: ViteDevServer; url: string };
const temp = new TempDirs('keel-browser-');
let pages: WatchedPage[] = [];
let scenesDir: string;

beforeAll(async () => {
  // A scenes folder of our own: the arena and its script, plus a scene with mistakes.
  const dir = await temp.make();
  scenesDir = dir;
  await cp(join(REPO, 'scenes/arena.json'), join(dir, 'arena.json'));
  await cp(join(REPO, 'scenes/arena.json'), join(dir, 'reloading.json'));
  await mkdir(join(dir, 'scripts'));
  await cp(join(REPO, 'scenes/scripts'), join(dir, 'scripts'), { recursive: true });
  const broken = JSON.parse(await readFile(join(REPO, 'scenes/arena.json'), 'utf8')) as { settings: Record<string, unknown>; entities: { components: Record<string, unknown> }[] };
  broken.settings.tickRate = 0;
  broken.entities[1]!.components.sparkle = {};
  await writeFile(join(dir, 'broken.json'), JSON.stringify(broken, null, 2));
  // Nothing in it moves by itself: once the player stands, every frame would be the same.
  const still = {
    format: 'keel-scene',
    version: 1,
    name: 'still',
    entities: [
      { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, mesh: { shape: 'box', size: [30, 1, 30] }, material: { color: '#808080' }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [30, 1, 30] } } },
      { id: 'crate', components: { transform: { position: [2, 0.5, -4] }, mesh: { shape: 'box', size: [1, 1, 1] }, material: { color: '#d08030' }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
      { id: 'spawn', components: { transform: { position: [0, 1, 0] }, spawnPoint: {} } },
      { id: 'sun', components: { transform: { position: [5, 10, 5], rotation: [-55, 30, 0] }, light: { kind: 'directional', intensity: 2 } } },
      { id: 'sky-light', components: { light: { kind: 'hemisphere', intensity: 1 } } },
    ],
  };
  await writeFile(join(dir, 'still.json'), JSON.stringify(still, null, 2));
  await cp(join(REPO, 'scenes/models'), join(dir, 'models'), { recursive: true }).catch(() => {});
  [browser, web] = await Promise.all([launchBrowser(), startWeb('local-play', dir)]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.server.close();
  await temp.cleanup();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await saveArtifacts(ctx.task.name, pages);
  await Promise.all(pages.map((p) => p.page.close()));
  pages = [];
});

async function open(name: string, query: string): Promise<WatchedPage> {
  const p = await openPage(browser, name, `${web.url}/client/${query}`);
  pages.push(p);
  return p;
}

describe('local play-test', () => {
  it('renders the arena: sky, grey ground and walls, warm crates, a handful of draw calls', async () => {
    const p = await open('arena', '?scene=arena');
    const k = await waitForKeel(p, 'the player to land', (k) => k.mode === 'local' && Array.isArray(k.player) && (k.tick as number) > 30);
    expect(k.entities).toBeGreaterThan(20);
    expect(k.players).toBe(1);
    // Instanced: the arena's 27 entities draw in a few calls (shadow pass included), not one per mesh.
    expect(k.drawCalls as number).toBeGreaterThan(0);
    expect(k.drawCalls as number).toBeLessThanOrEqual(20);
    const stats = await pixelStats(p, await p.page.screenshot());
    expect(stats.sky).toBeGreaterThan(0.05);
    expect(stats.grey).toBeGreaterThan(0.15);
    expect(stats.warmPixels).toBeGreaterThan(150);
    expect(stats.colours).toBeGreaterThan(60);
    expect(await p.page.locator('.keel-hint').innerText()).toContain('Click to play');
    expect(p.errors).toEqual([]);
  }, 90_000);

  it('holding W moves the player and the camera; space jumps', async () => {
    const p = await open('walk', '?scene=arena');
    const start = await waitForKeel(p, 'the player to land', (k) => Array.isArray(k.player) && Math.abs((k.player as number[])[1]! - 0.5) < 0.05);
    const cam0 = start.camera as number[];
    const pos0 = start.player as number[];
    await p.page.keyboard.down('KeyW');
    const moved = await waitForKeel(p, 'the player to walk 2 m', (k) => dist(k.player as number[], pos0) > 2, 30_000);
    await p.page.keyboard.up('KeyW');
    expect(dist(moved.camera as number[], cam0)).toBeGreaterThan(1);
    const ground = await waitForKeel(p, 'the player to stand still', (k) => Math.abs((k.player as number[])[1]! - 0.5) < 0.05);
    const y0 = (ground.player as number[])[1]!;
    await p.page.keyboard.press('Space');
    await waitForKeel(p, 'the player to rise 0.5 m', (k) => (k.player as number[])[1]! > y0 + 0.5, 30_000);
    await waitForKeel(p, 'the player to land again', (k) => Math.abs((k.player as number[])[1]! - y0) < 0.05, 30_000);
    expect(p.errors).toEqual([]);
  }, 150_000);

  it('does not draw a frame that would show what the last one did, and draws again when something moves', async () => {
    const p = await open('still', '?scene=still');
    await waitForKeel(p, 'the player to land', (k) => Array.isArray(k.player) && Math.abs((k.player as number[])[1]! - 0.5) < 0.02 && (k.tick as number) > 60);
    // Standing still: a second of frames, nearly all of them skipped.
    const a = await waitForKeel(p, 'frames counted', () => true);
    await p.page.waitForTimeout(1000);
    const b = await waitForKeel(p, 'frames counted', () => true);
    const skipped = (b.framesSkipped as number) - (a.framesSkipped as number);
    const drawn = (b.framesDrawn as number) - (a.framesDrawn as number);
    expect(skipped).toBeGreaterThan(5);
    expect(drawn).toBeLessThanOrEqual(2);
    // The canvas still shows the scene (the last frame drawn stays on screen).
    const idle = await pixelStats(p, await p.page.screenshot());
    expect(idle.sky).toBeGreaterThan(0.1);
    expect(idle.grey).toBeGreaterThan(0.1);
    expect(idle.warmPixels).toBeGreaterThan(500); // the crate
    // Walking moves the player and the camera: frames are drawn again.
    await p.page.keyboard.down('KeyW');
    const pos0 = b.player as number[];
    await waitForKeel(p, 'the player to walk 1 m', (k) => dist(k.player as number[], pos0) > 1, 30_000);
    await p.page.keyboard.up('KeyW');
    const c = await waitForKeel(p, 'frames counted', () => true);
    expect((c.framesDrawn as number) - (b.framesDrawn as number)).toBeGreaterThan(3);
    expect(p.errors).toEqual([]);
  }, 120_000);

  it('window.keel is read-only', async () => {
    const p = await open('handle', '?scene=arena');
    await waitForKeel(p, 'the page to start', (k) => k.mode === 'local');
    const result = await p.page.evaluate(() => {
      const w = window as unknown as { keel: { mode: string } };
      const errors: string[] = [];
      try {
        (w.keel as { mode: string }).mode = 'hacked';
      } catch (e) {
        errors.push((e as Error).name);
      }
      try {
        (w as unknown as { keel: unknown }).keel = null;
      } catch (e) {
        errors.push((e as Error).name);
      }
      return { mode: w.keel.mode, errors };
    });
    // Whether or not the assignments throw (that depends on strict mode), nothing changed.
    expect(result.mode).toBe('local');
    expect(await keel(p, 'mode')).toBe('local');
    expect(p.errors).toEqual([]);
  }, 90_000);
});

describe('scene reload', () => {
  it('reloads the scene in the page when its file changes, without a page reload', async () => {
    const p = await open('reload', '?scene=reloading');
    const before = await waitForKeel(p, 'the scene to run', (k) => k.mode === 'local' && Array.isArray(k.player));
    await p.page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const file = join(scenesDir, 'reloading.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { entities: unknown[] };
    doc.entities.push({ id: 'added-crate', components: { transform: { position: [0, 3, 0] }, mesh: { shape: 'box' }, material: { color: '#ff00ff' } } });
    await writeFile(file, JSON.stringify(doc, null, 2));
    const after = await waitForKeel(p, 'the reloaded scene', (k) => (k.entities as number) === (before.entities as number) + 1, 30_000);
    expect(after.mode).toBe('local');
    expect(await p.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(p.errors).toEqual([]);
  }, 90_000);
});

describe('bad input', () => {
  const hostile = [
    ['parent path', '?scene=../package', 'is not a scene name'],
    ['absolute path', `?scene=${encodeURIComponent('/etc/passwd')}`, 'is not a scene name'],
    ['URL', `?scene=${encodeURIComponent('https://example.com/x')}`, 'is not a scene name'],
    ['no scene', '', 'no scene given'],
    ['server not a WebSocket URL', '?scene=arena&server=http://127.0.0.1:1', 'is not a WebSocket address'],
  ] as const;
  for (const [what, query, message] of hostile) {
    it(`refuses a ${what} with a message`, async () => {
      const p = await open(`hostile-${what.replace(/\W+/g, '-')}`, query);
      const k = await waitForKeel(p, 'the error overlay', (k) => k.mode === 'error');
      expect(k.error).toMatch(/refused/);
      expect(await overlayText(p)).toContain(message);
      expect(p.errors).toEqual([]);
    });
  }

  it('a scene that does not exist names the file', async () => {
    const p = await open('missing', '?scene=nowhere');
    await waitForKeel(p, 'the error overlay', (k) => k.mode === 'error');
    const text = await overlayText(p);
    expect(text).toContain('scenes/nowhere.json');
    expect(text).toContain('no such scene');
    // The 404 of the scene request is the browser's own report of the failed fetch.
    expect(p.errors.filter((e) => !/404 \(Not Found\)/.test(e))).toEqual([]);
  });

  it('an invalid scene shows every problem with its file and JSON pointer', async () => {
    const p = await open('broken', '?scene=broken');
    const k = await waitForKeel(p, 'the error overlay', (k) => k.mode === 'error');
    expect(k.error).toBe('Scene cannot load');
    const text = await overlayText(p);
    expect(text).toContain('scenes/broken.json');
    expect(text).toContain('/settings/tickRate');
    expect(text).toContain('/entities/1/components/sparkle');
    expect(text).toContain('2 problems');
    expect(p.errors).toEqual([]);
  });
});

function dist(a: number[], b: number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
}
