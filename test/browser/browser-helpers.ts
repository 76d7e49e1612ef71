/**
 * Real headless Chromium against a real Vite dev server, for the browser tests. Every page's
 * console and page errors are recorded; when a test fails, `saveArtifacts` writes each page's
 * screenshot and console log under test-results/browser/<test name>/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { keelViteConfig } from '../../vite.config.js';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';

export const CHROMIUM = process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/**
 * A Vite dev server for the client on a free 127.0.0.1 port, serving `scenesDir` through the
 * scene API. `name` keeps each test file's pre-bundled dependencies apart (files run in parallel).
 */
export async function startWeb(name: string, scenesDir = join(REPO, 'scenes')): Promise<{ server: ViteDevServer; url: string }> {
  const port = await freePort();
  const config = keelViteConfig({ scenesDir, port });
  const server = await createServer({ ...config, configFile: false, logLevel: 'warn', cacheDir: join(REPO, 'node_modules/.vite-test', name) });
  await server.listen();
  return { server, url: `http://127.0.0.1:${port}` };
}

/** A page with its console and page errors recorded. */
export interface WatchedPage {
  page: Page;
  name: string;
  /** `type: text` of every console message. */
  console: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

/** Software WebGL is slow: pages that only need to run (not to be looked at) use a small viewport. */
export async function openPage(browser: Browser, name: string, url: string, viewport = { width: 1280, height: 720 }): Promise<WatchedPage> {
  const w = watchPage(await browser.newPage({ viewport }), name);
  await w.page.goto(url);
  return w;
}

/** Starts recording a page's console and page errors. */
export function watchPage(page: Page, name: string): WatchedPage {
  const w: WatchedPage = { page, name, console: [], errors: [] };
  page.on('console', (m: ConsoleMessage) => {
    const text = m.text();
    if (text.includes('GPU stall due to ReadPixels')) return; // SwiftShader performance notes
    w.console.push(`${m.type()}: ${text}`);
    if (m.type() === 'error') w.errors.push(text);
  });
  page.on('pageerror', (e) => {
    w.console.push(`pageerror: ${e.message}`);
    w.errors.push(`page error: ${e.message}`);
  });
  return w;
}

/** Reads `window.keel.<key>`. */
export function keel<T = unknown>(p: WatchedPage, key: string): Promise<T> {
  return p.page.evaluate((k) => (window as unknown as { keel: Record<string, unknown> }).keel[k], key) as Promise<T>;
}

/** Polls `window.keel` until `pred` holds; returns the handle's plain fields then. */
export async function waitForKeel(p: WatchedPage, what: string, pred: (k: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return until(
    async () => {
      const k = await p.page.evaluate(() => {
        const h = (window as unknown as { keel?: Record<string, unknown> }).keel;
        if (!h) return null;
        const out: Record<string, unknown> = {};
        for (const key of ['mode', 'connected', 'state', 'tick', 'entities', 'players', 'fps', 'pingMs', 'drawCalls', 'framesDrawn', 'framesSkipped', 'camera', 'player', 'banner', 'error', 'playerId', 'sceneHash', 'composition', 'views']) out[key] = h[key];
        return out;
      });
      return k && pred(k) ? k : undefined;
    },
    `${p.name}: ${what}`,
    timeoutMs,
    200,
  );
}

/** Text of the page's error overlay, or '' when none is shown. */
export function overlayText(p: WatchedPage): Promise<string> {
  return p.page.evaluate(() => {
    const o = document.querySelector('.keel-overlay') as HTMLElement | null;
    return o && !o.hidden ? o.innerText : '';
  });
}

/**
 * Colour statistics of a screenshot, decoded by the browser itself: the share of pixels that
 * look like sky (blue), neutral grey (the arena's ground and walls) and warm (the crates), and
 * how many distinct colours there are at 4 bits per channel.
 */
export async function pixelStats(p: WatchedPage, png: Buffer): Promise<{ sky: number; grey: number; warmPixels: number; colours: number }> {
  return p.page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let sky = 0;
    let grey = 0;
    let warm = 0;
    const seen = new Set<number>();
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i]!;
      const g = d[i + 1]!;
      const b = d[i + 2]!;
      seen.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
      if (b > r + 40 && b > 120) sky++;
      else if (Math.abs(r - g) < 16 && b >= g - 4 && b - r < 40 && r > 40 && r < 200) grey++;
      else if (r > b + 40 && r >= g && r > 70) warm++;
    }
    return { sky: sky / n, grey: grey / n, warmPixels: warm, colours: seen.size };
  }, png.toString('base64'));
}

/** Writes each page's screenshot and console log for a failed test. */
export async function saveArtifacts(test: string, pages: readonly WatchedPage[]): Promise<void> {
  const dir = join(REPO, 'test-results', 'browser', test.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 120));
  await mkdir(dir, { recursive: true });
  for (const p of pages) {
    await p.page.screenshot({ path: join(dir, `${p.name}.png`) }).catch(() => {});
    await writeFile(join(dir, `${p.name}.console.log`), p.console.join('\n') + '\n');
  }
}
