/**
 * Scrapes do not cost the game loop: /metrics is served from a snapshot the game thread
 * renders at most every METRICS_REFRESH_MS, however many scrapers there are. Measured the way
 * an operator would see it: tick lateness p99 from the server's own histogram, in windows with
 * 200 concurrent scrapes against control windows without, interleaved in the same process so
 * the machine's background noise lands on both.
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

type Buckets = Map<number, number>; // upper bound (s) -> cumulative count; -1: metrics renders so far

/** The tick-lateness histogram, from a snapshot rendered for this scrape (none shared with an earlier one). */
async function lateness(p: Ports): Promise<Buckets> {
  await sleep(METRICS_REFRESH_MS + 100); // past the shared snapshot's life: this scrape renders anew
  const exp = parseExposition((await get(healthUrl(p, '/metrics'), 5000))!.text);
  expect(samplesOf(exp, 'keel_metrics_snapshot_age_seconds')[0]!.value).toBeLessThan(METRICS_REFRESH_MS / 1000);
  const buckets: Buckets = new Map(samplesOf(exp, 'keel_tick_lateness_seconds_bucket').map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value]));
  buckets.set(-1, samplesOf(exp, 'keel_metrics_renders_total')[0]!.value);
  return buckets;
}

const diff = (a: Buckets, b: Buckets): Buckets => new Map([...b].map(([le, n]) => [le, n - (a.get(le) ?? 0)]));
const withoutRenders = (b: Buckets): Buckets => new Map([...b].filter(([le]) => le !== -1));
const sum = (xs: Buckets[]): Buckets => {
  const out: Buckets = new Map();
  for (const x of xs) for (const [le, n] of x) out.set(le, (out.get(le) ?? 0) + n);
  return out;
};

/** p99 in ms, interpolated linearly within its bucket as Prometheus' histogram_quantile does. */
function p99Ms(b: Buckets): number {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const total = b.get(Infinity) ?? 0;
  const rank = total * 0.99;
  let prevLe = 0;
  let prevN = 0;
  for (const le of bounds) {
    const n = b.get(le)!;
    if (n >= rank) {
      if (le === Infinity) return prevLe * 1000;
      return (prevLe + (le - prevLe) * ((rank - prevN) / Math.max(1, n - prevN))) * 1000;
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe * 1000;
}

const ROUNDS = 5;
/**
 * Control-window lateness p99 (ms) below which a 1 ms difference is resolvable: a loop that
 * keeps its deadlines, as on a machine not shared with other work (the README's goal is 1 ms).
 */
const MEASURABLE_P99_MS = 4;
const WINDOW_MS = 2000;

describe('/metrics under load', () => {
  it('200 concurrent scrapes do not move tick lateness p99 by more than 1 ms', async () => {
    const p = await ports();
    startKeel(serveArgs(ARENA, p));
    await waitReady(p);
    await sleep(1000); // past start-up's first ticks
    const control: Buckets[] = [];
    const loaded: Buckets[] = [];
    const perRound: string[] = [];
    const renders: { n: number; allowed: number }[] = [];
    let scrapes = 0;
    let failures = 0;
    const OK = Buffer.from('HTTP/1.1 200 ');
    /** One burst of 200 concurrent GETs of `path` per second of a window; how many failed. */
    const bursts = async (path: string, mustContain: string) => {
      let failed = 0;
      const needle = Buffer.from(mustContain);
      for (let burst = 0; burst < WINDOW_MS / 1000; burst++) {
        const t = Date.now();
        const answers = await Promise.all(Array.from({ length: 200 }, () => rawGet(p.health, path)));
        const took = Date.now() - t;
        failed += answers.filter((r) => !r || r.indexOf(OK) !== 0 || r.indexOf(needle) < 0).length;
        await sleep(Math.max(0, 1000 - took));
      }
      return failed;
    };
    // Control and loaded windows alternate, so noise from the rest of the machine falls on both.
    // The control windows carry the same HTTP traffic to /livez, which the health thread answers
    // without the game thread: what differs is only what a scrape costs the loop.
    for (let round = 0; round < ROUNDS; round++) {
      let a = await lateness(p);
      failures += await bursts('/livez', '"state":"ready"');
      let b = await lateness(p);
      const c = withoutRenders(diff(a, b));
      a = b;
      const t = Date.now();
      failures += await bursts('/metrics', 'keel_ticks_total');
      scrapes += 200 * (WINDOW_MS / 1000);
      b = await lateness(p);
      const ld = diff(a, b);
      // What the 400 scrapes cost the game thread: renders, one per refresh interval at most
      // (plus the one for this window's closing scrape), not one per scrape.
      renders.push({ n: ld.get(-1)! - 1, allowed: Math.ceil((Date.now() - t) / METRICS_REFRESH_MS) + 1 });
      const l = withoutRenders(ld);
      control.push(c);
      loaded.push(l);
      perRound.push(`${p99Ms(l).toFixed(2)}/${p99Ms(c).toFixed(2)}`);
    }
    // Every request was answered in full.
    expect(scrapes).toBe(ROUNDS * (WINDOW_MS / 1000) * 200);
    expect(failures).toBe(0);
    for (const r of renders) expect(r.n, `metrics renders per loaded window: ${JSON.stringify(renders)}`).toBeLessThanOrEqual(r.allowed);
    // Lateness p99, loaded minus control, per round; the median round, so that a burst of noise
    // from elsewhere on a busy machine in one window does not decide it.
    const deltas = loaded.map((l, i) => p99Ms(l) - p99Ms(control[i]!)).sort((x, y) => x - y);
    const median = deltas[Math.floor(deltas.length / 2)]!;
    const controls = control.map(p99Ms).sort((x, y) => x - y);
    const controlMedian = controls[Math.floor(controls.length / 2)]!;
    const [c, l] = [sum(control), sum(loaded)];
    const detail = `lateness p99, median of ${ROUNDS} rounds: ${median.toFixed(3)} ms more with 200 concurrent scrapes than with as many /livez probes (per round, loaded/control ms: ${perRound.join(', ')}; pooled ${p99Ms(l).toFixed(3)}/${p99Ms(c).toFixed(3)} over ${l.get(Infinity)}/${c.get(Infinity)} ticks)`;
    expect(l.get(Infinity), detail).toBeGreaterThan(100);
    // The loop kept its rate through the scrapes (rendering each one on the game thread once
    // cost it about 40 % of its ticks, skipped to catch up; a busy machine's noise, about 15 %).
    expect(l.get(Infinity)!, detail).toBeGreaterThan(0.75 * c.get(Infinity)!);
    // A 1 ms difference can be resolved only while the loop itself keeps its ticks within a few
    // ms of their deadlines. On a machine so busy that even the control windows' p99 is several
    // ms, the CPU the scrapes' bytes take (client, kernel, health thread) competes with the loop
    // for the same two cores and swamps it; the render count and tick rate above still show,
    // on any machine, that scrapes cost the game thread nothing but a render per interval.
    if (controlMedian < MEASURABLE_P99_MS) expect(median, detail).toBeLessThanOrEqual(1);
    else console.log(`machine too busy to resolve 1 ms of lateness p99 (control p99 median ${controlMedian.toFixed(1)} ms): ${detail}`);
    console.log(detail);
  }, 90_000);
});
