/**
 * GET /metrics through the real CLI: valid Prometheus text exposition, the instance's series
 * (each labelled with its id and world), prom-client's default process metrics, and counters
 * that move while the instance runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import {
  ARENA,
  cleanupTemp,
  connect,
  family,
  get,
  healthUrl,
  parseExposition,
  ports,
  samplesOf,
  serveArgs,
  sleep,
  until,
  waitReady,
  type Exposition,
  type Ports,
} from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const REQUIRED: Record<string, string> = {
  keel_ticks_total: 'counter',
  keel_tick_duration_seconds: 'histogram',
  keel_tick_lateness_seconds: 'histogram',
  keel_tick_overruns_total: 'counter',
  keel_players: 'gauge',
  keel_entities: 'gauge',
  keel_network_received_bytes_total: 'counter',
  keel_network_sent_bytes_total: 'counter',
  keel_scene_reloads_total: 'counter',
  keel_scene_reload_seconds: 'histogram',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
};

async function scrape(p: Ports): Promise<{ text: string; contentType: string; exp: Exposition }> {
  const res = await fetch(healthUrl(p, '/metrics'), { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, contentType: res.headers.get('content-type') ?? '', exp: parseExposition(text) };
}

/** Every sample belongs to a family with # HELP and # TYPE, and every keel_ sample has the instance labels. */
function checkFamiliesAndLabels(exp: Exposition, labels: { id: string; world: string }): void {
  expect(exp.samples.length).toBeGreaterThan(20);
  for (const s of exp.samples) {
    const fam = family(s.name, exp.type);
    expect(exp.type.has(fam), `# TYPE for ${s.name}`).toBe(true);
    expect(exp.help.has(fam), `# HELP for ${s.name}`).toBe(true);
    if (s.name.startsWith('keel_')) expect(s.labels, s.name).toMatchObject(labels);
  }
}

const single = (exp: Exposition, name: string) => {
  const s = samplesOf(exp, name);
  expect(s, name).toHaveLength(1);
  return s[0]!.value;
};

describe('/metrics', () => {
  it('is Prometheus text with the keel and default series, labelled with id and world, and ticks grow', async () => {
    const p = await ports();
    startKeel(serveArgs(ARENA, p, ['--id', 'Metrics-1']));
    await waitReady(p);

    const first = await scrape(p);
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    checkFamiliesAndLabels(first.exp, { id: 'Metrics-1', world: 'arena' });
    for (const [name, type] of Object.entries(REQUIRED)) {
      expect(first.exp.type.get(name), `TYPE of ${name}`).toBe(type);
      expect(first.exp.samples.some((s) => family(s.name, first.exp.type) === name), `samples of ${name}`).toBe(true);
    }
    // The health thread's own gauges are there too.
    expect(single(first.exp, 'keel_loop_stalled')).toBe(0);
    expect(single(first.exp, 'keel_last_tick_age_seconds')).toBeLessThan(1.5);

    // The histogram: cumulative buckets up to +Inf, which equals _count; _sum present.
    const buckets = samplesOf(first.exp, 'keel_tick_duration_seconds_bucket');
    expect(buckets.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.labels.le).toBe('+Inf');
    const count = single(first.exp, 'keel_tick_duration_seconds_count');
    expect(count).toBeGreaterThan(0);
    expect(buckets.at(-1)!.value).toBe(count);
    expect(single(first.exp, 'keel_tick_duration_seconds_sum')).toBeGreaterThan(0);

    // Values that say something about this instance.
    expect(single(first.exp, 'keel_entities')).toBeGreaterThan(0);
    expect(single(first.exp, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    const reloads = samplesOf(first.exp, 'keel_scene_reloads_total');
    expect(reloads.map((s) => s.labels.result).sort()).toEqual(['delta', 'full', 'rejected']);
    for (const s of reloads) expect(s.value).toBe(0);

    // ~1 s later the tick counter and the histogram count have moved on.
    await sleep(1000);
    const second = await scrape(p);
    checkFamiliesAndLabels(second.exp, { id: 'Metrics-1', world: 'arena' });
    const t1 = single(first.exp, 'keel_ticks_total');
    const t2 = single(second.exp, 'keel_ticks_total');
    expect(t1).toBeGreaterThan(0);
    expect(t2).toBeGreaterThan(t1 + 10);
    expect(single(second.exp, 'keel_tick_duration_seconds_count')).toBeGreaterThan(count);

    // /livez agrees with the counter (both count ticks of this loop).
    const live = await get(healthUrl(p, '/livez'));
    expect(Number(live?.json?.tick)).toBeGreaterThanOrEqual(t2 - 1);
  }, 30_000);

  it('counts bytes received from a client on the game port', async () => {
    const p = await ports();
    startKeel(serveArgs(ARENA, p));
    await waitReady(p);
    const before = single((await scrape(p)).exp, 'keel_network_received_bytes_total');
    const client = await connect(p.port);
    client.ws.send(Buffer.alloc(64, 0xff));
    await until(async () => {
      const n = single((await scrape(p)).exp, 'keel_network_received_bytes_total');
      return n >= before + 64 ? n : undefined;
    }, 'keel_network_received_bytes_total to count 64 bytes', 5000, 100);
    client.ws.terminate();
  }, 30_000);

  // Fails at the time of writing: health-worker.ts writes the id/world labels of its own gauges
  // (keel_last_tick_age_seconds, keel_loop_stalled, keel_metrics_snapshot_age_seconds) without
  // escaping, so a world name with " or \ makes the whole scrape unparsable.
  it('stays valid exposition when the world name has a quote and a backslash', async () => {
    const p = await ports();
    const world = 'Bob\'s "big" arena \\ east';
    startKeel(serveArgs(ARENA, p, ['--id', 'Metrics-Q', '--world', world]));
    await waitReady(p);
    const res = await fetch(healthUrl(p, '/metrics'), { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let exp: Exposition | undefined;
    expect(() => (exp = parseExposition(text))).not.toThrow();
    checkFamiliesAndLabels(exp!, { id: 'Metrics-Q', world });
    expect(samplesOf(exp!, 'keel_last_tick_age_seconds')[0]?.labels.world).toBe(world);
    expect(samplesOf(exp!, 'keel_ticks_total')[0]?.labels.world).toBe(world);
  }, 30_000);
});
