/**
 * Browser-test harness for the editor: a Vite dev server (the repo's vite.config.ts, read and
 * write plugins) on a free 127.0.0.1 port over a temp copy of the scenes folder, and a headless
 * chromium page whose console errors are collected. On failure the test keeps a screenshot and
 * the console log under test-results/editor/.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface EditorHarness {
  url: string;
  scenesDir: string;
  server: ViteDevServer;
  browser: Browser;
  page: Page;
  console: string[];
  errors: string[];
  /** Keeps a screenshot and the console log of the page under test-results/editor/<name>. */
  keep(name: string): Promise<string>;
  /** A screenshot of the page as it is, test-results/editor/screens/<name>.png (for looking at). */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Copies the repo's scenes folder into `dir` and serves it; opens a 1280x720 page. */
export async function startEditor(dir: string): Promise<EditorHarness> {
  const scenesDir = join(dir, 'scenes');
  await cp(join(REPO, 'scenes'), scenesDir, { recursive: true });
  const port = await freePort();
  process.env.KEEL_SCENES_DIR = scenesDir;
  const server = await createServer({
    configFile: join(REPO, 'vite.config.ts'),
    root: REPO,
    logLevel: 'error',
    server: { port, host: '127.0.0.1', strictPort: true},
  });
  delete process.env.KEEL_SCENES_DIR;
  await server.listen();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${port}` });
  const page = await context.newPage();
  const consoleLines: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    consoleLines.push(`[${m.type()}] ${m.text()}`);
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => {
    consoleLines.push(`[pageerror] ${e.message}`);
    errors.push(e.message);
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    scenesDir,
    server,
    browser,
    page,
    console: consoleLines,
    errors,
    async keep(name: string) {
      const out = join(REPO, 'test-results', 'editor');
      await mkdir(out, { recursive: true });
      const base = join(out, name.replace(/[^A-Za-z0-9_-]+/g, '-'));
      await page.screenshot({ path: `${base}.png` }).catch(() => undefined);
      await writeFile(`${base}.console.log`, consoleLines.join('\n') + '\n');
      return base;
    },
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
