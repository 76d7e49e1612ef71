/**
 * The editor's browser tests on the shared browser helpers (browser-helpers.ts): a dev server
 * with the repo's Vite config (read and write plugins) on a free 127.0.0.1 port over a temp copy
 * of the scenes folder, and a headless chromium page whose console is recorded. On failure the
 * test keeps a screenshot and the console log under test-results/browser/.
 */
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { REPO } from '../helpers/keel-process.js';
import { launchBrowser, saveArtifacts, startWeb, watchPage, type WatchedPage } from './browser-helpers.js';

export interface EditorHarness {
  url: string;
  scenesDir: string;
  server: ViteDevServer;
  browser: Browser;
  page: Page;
  /** `type: text` of every console message of the page. */
  console: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Keeps a screenshot and the console log of the page under test-results/browser/<name>. */
  keep(name: string): Promise<void>;
  /** A screenshot of the page as it is, test-results/editor/screens/<name>.png (for looking at). */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Copies the repo's scenes folder into `dir` and serves it; opens a 1280x720 page. */
export async function startEditor(dir: string): Promise<EditorHarness> {
  const scenesDir = join(dir, 'scenes');
  await cp(join(REPO, 'scenes'), scenesDir, { recursive: true });
  // A dependency cache per vitest worker: files running side by side never share one.
  const { server, url } = await startWeb(`editor-${process.env.VITEST_POOL_ID ?? '0'}`, scenesDir);
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const watched: WatchedPage = watchPage(await context.newPage(), 'editor');
  const page = watched.page;
  return {
    url,
    scenesDir,
    server,
    browser,
    page,
    console: watched.console,
    errors: watched.errors,
    keep: (name: string) => saveArtifacts(name, [watched]),
    async shot(name: string) {
      const out = join(REPO, 'test-results', 'editor', 'screens');
      await mkdir(out, { recursive: true });
      await page.screenshot({ path: join(out, `${name}.png`) });
    },
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}

/** Opens the editor on a scene and waits until its debug handle is up. */
export async function openScene(h: EditorHarness, scene: string): Promise<void> {
  await h.page.goto(`${h.url}/editor/?scene=${scene}`);
  await h.page.waitForFunction(() => (window as unknown as { keelEditor?: { ready: boolean } }).keelEditor?.ready === true, null, { timeout: 60_000 });
}

/**
 * Drags the selection's gizmo along its X handle: `moves` mouse moves `step` pixels apart, one
 * animation frame after each; `during` runs before the button is released, and its result is
 * returned. Fails when nothing is selected (no gizmo).
 */
export async function dragGizmoX<T>(h: EditorHarness, moves: number, step: number, during: () => Promise<T>): Promise<T> {
  const at = await h.page.evaluate(() => (window as unknown as { keelEditor: { gizmoHandle(axis: string): { x: number; y: number } | null } }).keelEditor.gizmoHandle('X'));
  if (!at) throw new Error('no gizmo to drag: nothing is selected');
  const m = h.page.mouse;
  await m.move(at.x, at.y);
  await m.down();
  for (let i = 1; i <= moves; i++) {
    await m.move(at.x + i * step, at.y);
    await h.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  }
  const result = await during();
  await m.up();
  return result;
}
