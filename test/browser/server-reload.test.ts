/**
 * A connected page follows the server's scene reload without reloading itself: the server
 * watches its scene file, reloads on an edit and welcomes its players again; the page rebuilds
 * its world from the new snapshots.
 */
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';
import { launchBrowser, openPage, saveArtifacts, startWeb, waitForKeel, type WatchedPage } from './browser-helpers.js';

const temp = new TempDirs('keel-reload-');
let browser: Browser;
let web: { server: ViteDevServer; url: string };
let dir: string;
let port: number;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  dir = await temp.make();
  for (const f of ['arena.json', 'scripts', 'models']) await cp(join(REPO, 'scenes', f), join(dir, f), { recursive: true });
  port = await freePort();
  const server = startKeel(['serve', join(dir, 'arena.json'), '--port', String(port), '--host', '127.0.0.1', '--log-format', 'json']);
  [browser, web] = await Promise.all([launchBrowser(), startWeb('server-reload', dir), server.waitForRecord((r) => String(r.msg).startsWith('Listening on'), 20_000)]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.server.close();
  await stopAll();
  await temp.cleanup();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await saveArtifacts(ctx.task.name, pages);
});

describe('server scene reload', () => {
  it('the page follows the reloaded scene without a page reload, rebuilding its view only when the looks changed', async () => {
    const p = await openPage(browser, 'player', `${web.url}/client/?scene=arena&server=ws://127.0.0.1:${port}`, { width: 480, height: 270 });
    pages.push(p);
    const before = await waitForKeel(p, 'the join', (k) => k.connected === true && Array.isArray(k.player));
    // The connected session is the core's client composition.
    expect(String(before.composition).split('\n')[0]).toBe('app client (connected): physics, players, client-net, prediction');
    expect(before.views).toBe(1);
    await p.page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    const file = join(dir, 'arena.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { settings: { environment: { fog: { color: string } } }; entities: unknown[] };
    doc.entities.push({ id: 'added-crate', components: { transform: { position: [2, 3, 2] }, mesh: { shape: 'box' }, material: { color: '#ff00ff' } } });
    await writeFile(file, JSON.stringify(doc, null, 2));
    const after = await waitForKeel(p, 'the reloaded world', (k) => k.connected === true && (k.entities as number) === (before.entities as number) + 1 && Array.isArray(k.player), 40_000);
    expect(after.mode).toBe('connected');
    expect(await p.page.evaluate(() => (window as unknown as { keel: { entity(id: string): unknown } }).keel.entity('added-crate'))).not.toBeNull();
    expect(await p.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

    // The new version has the same looks: once the page has fetched it, the view that draws it stays.
    const hash = createHash('sha256').update(await readFile(file)).digest('hex');
    expect((await waitForKeel(p, 'the page to fetch the new version', (k) => k.sceneHash === hash, 40_000)).views).toBe(1);

    // New fog: the view is built again for it, in the same page, still joined.
    doc.settings.environment.fog.color = '#ff8800';
    await writeFile(file, JSON.stringify(doc, null, 2));
    const refogged = await waitForKeel(p, 'the view rebuilt for the new fog', (k) => k.views === 2, 40_000);
    expect(refogged.connected).toBe(true);
    expect(refogged.entities).toBe(after.entities);
    expect(await p.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    expect(p.errors).toEqual([]);
  }, 120_000);
});
