/**
 * Scrapes do not cost the game loop: /metrics is served from a snapshot the game thread
 * renders at most every METRICS_REFRESH_MS, however many scrapers there are. The server's own
 * counter of renders (keel_metrics_renders_total) says what 200 concurrent scrapes a second cost
 * the game thread; every scrape must still get the whole text. How late ticks run meanwhile is
 * a speed figure that depends on the machine: `npm run bench -- --only server` measures it
 * against control windows ("What scrapes cost the loop").
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { METRICS_REFRESH_MS } from '../../runtime/node/health/health-endpoint.js';
import { ARENA, cleanupTemp, get, healthUrl, HOST, parseExposition, ports, samplesOf, serveArgs, sleep, waitReady, type Ports } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

/**
 * GET over a raw socket, with the answer kept as bytes: the client's own work per request stays
 * small, so on a two-core machine it steals as little CPU from the server as it can.
 */
function rawGet(port: number, path: string, timeoutMs = 5000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, HOST, () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(chunks.length ? Buffer.concat(chunks) : null);
    });
  });
}

/** Renders and ticks so far, from a snapshot rendered for this read (none shared with an earlier one). */
async function counters(p: Ports): Promise<{ renders: number; ticks: number }> {
  await sleep(METRICS_REFRESH_MS + 100); // past the shared snapshot's life: this scrape renders anew
  const exp = parseExposition((await get(healthUrl(p, '/metrics'), 5000))!.text);
  expect(samplesOf(exp, 'keel_metrics_snapshot_age_seconds')[0]!.value).toBeLessThan(METRICS_REFRESH_MS / 1000);
  return { renders: samplesOf(exp, 'keel_metrics_renders_total')[0]!.value, ticks: samplesOf(exp, 'keel_ticks_total')[0]!.value };
}

const ROUNDS = 3;
const WINDOW_MS = 2000;
const CONCURRENCY = 200;

describe('/metrics under load', () => {
  it('200 concurrent scrapes a second all get the whole text and cost the game thread one render per refresh interval', async () => {
    const p = await ports();
    startKeel(serveArgs(ARENA, p));
    await waitReady(p);
    const OK = Buffer.from('HTTP/1.1 200 ');
    const needle = Buffer.from('keel_tick_lateness_seconds_bucket');
    const windows: { renders: number; allowed: number; ticks: number }[] = [];
    let requests = 0;
    let failures = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const a = await counters(p);
      const t = Date.now();
      for (let burst = 0; burst < WINDOW_MS / 1000; burst++) {
        const started = Date.now();
        const answers = await Promise.all(Array.from({ length: CONCURRENCY }, () => rawGet(p.health, '/metrics')));
        requests += answers.length;
        failures += answers.filter((r) => !r || r.indexOf(OK) !== 0 || r.indexOf(needle) < 0).length;
        await sleep(Math.max(0, 1000 - (Date.now() - started)));
      }
      const b = await counters(p);
      // Renders for the window's scrapes, less the closing read's own: one per refresh interval
      // at most (plus one for a snapshot that expired mid-burst), not one per scrape.
      windows.push({ renders: b.renders - a.renders - 1, allowed: Math.ceil((Date.now() - t) / METRICS_REFRESH_MS) + 1, ticks: b.ticks - a.ticks });
    }
    const detail = `per window: ${JSON.stringify(windows)}`;
    expect(requests).toBe(ROUNDS * (WINDOW_MS / 1000) * CONCURRENCY);
    expect(failures, detail).toBe(0);
    for (const w of windows) {
      expect(w.renders, detail).toBeGreaterThan(0);
      expect(w.renders, detail).toBeLessThanOrEqual(w.allowed);
      // The loop kept ticking through the scrapes (60 Hz: about 120 ticks a window).
      expect(w.ticks, detail).toBeGreaterThan(0);
    }
  }, 90_000);
});
