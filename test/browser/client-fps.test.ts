/**
 * The HUD's frame rate: frames counted over the last second (FpsCounter), on a fake clock and
 * through `window.keel.fps` in a real page, where it must agree with the page's own count of
 * the same animation frames.
 */
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FpsCounter, FPS_WINDOW_MS } from '../../runtime/browser/hud/fps-counter.js';
import { launchBrowser, openPage, saveArtifacts, startWeb, waitForKeel, type WatchedPage } from './browser-helpers.js';

/** Feeds `frames` frames with the given intervals (cycled) from `t0`; returns the last frame time. */
function feed(c: FpsCounter, t0: number, frames: number, intervals: number[], readings?: number[]): number {
  let t = t0;
  for (let i = 0; i < frames; i++) {
    t += intervals[i % intervals.length]!;
    c.frame(t);
    readings?.push(c.fps);
  }
  return t;
}

describe('FpsCounter', () => {
  it('reads frames in the last second: steady through uneven frames, following a change within a second', () => {
    const c = new FpsCounter(8); // small, so the ring grows
    expect(c.fps).toBe(0);
    c.frame(1000);
    expect(c.fps).toBe(0);
    // Half a second at 60 Hz: scaled to a second.
    let t = feed(c, 1000, 30, [1000 / 60]);
    expect(c.fps).toBe(60);
    t = feed(c, t, 90, [1000 / 60]);
    expect(c.fps).toBe(60);
    // Uneven frames, 10 ms and 23.3 ms in turn (60 per second on average, per-frame rates of
    // 100 and 43): the reading holds within one frame of 60.
    const readings: number[] = [];
    t = feed(c, t, 240, [10, 2000 / 60 - 10], readings);
    expect(Math.min(...readings)).toBeGreaterThanOrEqual(59);
    expect(Math.max(...readings)).toBeLessThanOrEqual(61);
    expect(readings.every((r) => Number.isInteger(r))).toBe(true);
    // Down to 30 Hz: after one window it reads 30.
    t = feed(c, t, 30, [1000 / 30]);
    expect(c.fps).toBe(30);
    // One long stall: the frames before it leave the window.
    c.frame(t + FPS_WINDOW_MS + 500);
    expect(c.fps).toBe(1);
  });
});

describe('window.keel.fps', () => {
  let browser: Browser;
  let web: { server: ViteDevServer; url: string };
  const pages: WatchedPage[] = [];

  beforeAll(async () => {
    [browser, web] = await Promise.all([launchBrowser(), startWeb('client-fps')]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.server.close();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await saveArtifacts(ctx.task.name, pages);
  });

  it('is the number of frames the page drew in the last second', async () => {
    const p = await openPage(browser, 'fps', `${web.url}/client/?scene=arena`, { width: 320, height: 180 });
    pages.push(p);
    await waitForKeel(p, 'the arena to run', (k) => k.mode === 'local' && Array.isArray(k.player) && typeof k.fps === 'number' && k.fps > 0);
    // Count the same animation frames in the page for a little over a second, then read both
    // in one frame: the app's counter and the page's own count of frames in the last second.
    const r = await p.page.evaluate(
      () =>
        new Promise<{ fps: unknown; counted: number }>((resolve) => {
          const times: number[] = [];
          const start = performance.now();
          const tick = (now: number) => {
            times.push(now);
            if (now - start < 1300) requestAnimationFrame(tick);
            else resolve({ fps: (window as unknown as { keel: { fps: unknown } }).keel.fps, counted: times.filter((t) => t > now - 1000).length });
          };
          requestAnimationFrame(tick);
        }),
    );
    expect(Number.isInteger(r.fps)).toBe(true);
    expect(r.counted).toBeGreaterThan(0);
    // The app counts in its own callback of the same frames (it may run just before or after ours).
    expect(Math.abs((r.fps as number) - r.counted)).toBeLessThanOrEqual(1);
    expect(p.errors).toEqual([]);
    await p.page.close();
  }, 90_000);
});
