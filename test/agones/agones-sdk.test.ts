/**
 * The Agones client in-process, against the stand-in sidecar: the Health ping a tick sends is
 * bounded to one in flight and can never throw into the loop; label values are made valid; the
 * settings that switch the integration on resolve as documented.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AgonesSdk, labelValue } from '../../runtime/node/agones/agones-sdk.js';
import { SidecarClient } from '../../runtime/node/agones/sidecar-client.js';
import { ConfigError, DEFAULT_AGONES_HEALTH_MS, DEFAULT_AGONES_PORT, resolveEarlyConfig, SERVE_OPTIONS } from '../../runtime/node/config.js';
import { createLogger } from '../../runtime/node/logger.js';
import { freePort } from '../helpers/ports.js';
import { ARENA, sleep, until } from '../health/util.js';
import { SidecarStandIn } from './sidecar.js';

const lines: Record<string, unknown>[] = [];
const log = createLogger({ id: 'agones-test', world: 'w', level: 'debug', format: 'json', stream: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } });
const sidecars: SidecarStandIn[] = [];
const sdks: AgonesSdk[] = [];
afterEach(async () => {
  sdks.splice(0).forEach((s) => s.close());
  await Promise.all(sidecars.splice(0).map((s) => s.close()));
  lines.length = 0;
});

async function setup(mode: 'up' | 'down' | 'mute', healthIntervalMs = 50) {
  const side = new SidecarStandIn(await freePort());
  sidecars.push(side);
  await side.setMode(mode);
  const sdk = new AgonesSdk({ port: side.port, healthIntervalMs, log, retryMinMs: 20, retryMaxMs: 200 });
  sdks.push(sdk);
  return { side, sdk };
}

/** Calls tick() every `everyMs` for `forMs`, as a loop would. */
async function tickFor(sdk: AgonesSdk, forMs: number, everyMs = 5): Promise<void> {
  const end = Date.now() + forMs;
  while (Date.now() < end) {
    expect(() => sdk.tick()).not.toThrow();
    await sleep(everyMs);
  }
}

describe('AgonesSdk', () => {
  it('has at most one Health ping in flight, however often the loop ticks', async () => {
    const { side, sdk } = await setup('up', 20);
    side.delayMs = 700; // a slow sidecar
    await tickFor(sdk, 500);
    expect(side.to('/health', true)).toHaveLength(1);
    await until(() => (sdk.stats.healthSent === 1 ? true : undefined), 'the slow ping answered', 3000);
    side.delayMs = 0;
    await tickFor(sdk, 300);
    expect(side.to('/health').length).toBeGreaterThan(3);
  });

  it('ticks without throwing and without unhandled rejections while the sidecar refuses or drops requests', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const mode of ['down', 'mute'] as const) {
        const { side, sdk } = await setup(mode, 10);
        sdk.ready();
        sdk.playerConnected('p-1');
        await tickFor(sdk, 300);
        expect(sdk.stats.healthSent).toBe(0);
        expect(sdk.stats.healthFailed).toBeGreaterThan(0);
        if (mode === 'mute') expect(side.to('/health', true).length).toBeGreaterThan(0);
      }
      await sleep(50);
      expect(unhandled).toEqual([]);
      // One warning per outage for pings and one for the other calls, not one per try.
      expect(lines.filter((l) => /^Agones health ping failed/.test(String(l.msg))).length).toBe(2);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('gives up a call the sidecar keeps refusing with an error, and goes on with the rest', async () => {
    const { side, sdk } = await setup('up');
    side.list.capacity = 1;
    sdk.playerConnected('a');
    sdk.playerConnected('b'); // over capacity: "out of range" every time
    sdk.ready();
    await until(() => (lines.some((l) => /^Agones: player b joined failed 5 times; giving up/.test(String(l.msg))) ? true : undefined), 'give-up line', 5000);
    expect(side.list.values).toEqual(['a']);
    expect(side.to('/ready')).toHaveLength(1);
    // A value the sidecar already has counts as done, not as a failure.
    side.list.values.push('c');
    side.list.capacity = 10;
    sdk.playerConnected('c');
    sdk.playerDisconnected('a');
    await until(() => (side.list.values.join() === 'c' ? true : undefined), 'a removed, c kept', 5000);
  });

  it('shutdown() retries while the sidecar is unreachable, within its time limit, and stops pings', async () => {
    const { side, sdk } = await setup('mute');
    const t0 = Date.now();
    const pending = sdk.shutdown(3000);
    await sleep(400);
    await side.setMode('up');
    expect(await pending).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(side.to('/shutdown', true).length).toBeGreaterThan(1);
    await tickFor(sdk, 200);
    expect(side.to('/health', true)).toEqual([]);
    // Bounded: a sidecar that never answers costs at most the limit.
    const { sdk: other } = await setup('down');
    const t1 = Date.now();
    expect(await other.shutdown(500)).toBe(false);
    expect(Date.now() - t1).toBeLessThan(1500);
  });

  it('makes label values valid Kubernetes label values', () => {
    expect(labelValue('arena')).toBe('arena');
    expect(labelValue('My World #2 (test)')).toBe('My-World-2-test');
    expect(labelValue('--x--')).toBe('x');
    expect(labelValue('a'.repeat(80))).toHaveLength(63);
    expect(labelValue('0123456789abcdef')).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
  });

  it('a client call never rejects: a refused port resolves with status 0', async () => {
    const c = new SidecarClient({ port: await freePort() });
    const r = await c.call('POST', '/health', {}, 1000);
    expect(r.status).toBe(0);
    c.close();
    expect((await c.call('POST', '/health', {}, 1000)).status).toBe(0);
  });
});

describe('switching the integration on', () => {
  const early = (flags: Record<string, string>, env: NodeJS.ProcessEnv) => resolveEarlyConfig({ scene: ARENA, flags, env, cwd: process.cwd(), stdoutIsTTY: false });

  it('is off by default, on with --agones, on whenever AGONES_SDK_HTTP_PORT is set, off with SERVER_AGONES=false', () => {
    expect(early({}, {})).toMatchObject({ agones: false, agonesPort: DEFAULT_AGONES_PORT, agonesHealthMs: DEFAULT_AGONES_HEALTH_MS });
    expect(early({ agones: 'true' }, {})).toMatchObject({ agones: true, agonesPort: 9358 });
    expect(early({}, { AGONES_SDK_HTTP_PORT: '9400' })).toMatchObject({ agones: true, agonesPort: 9400 });
    expect(early({}, { AGONES_SDK_HTTP_PORT: '9400', SERVER_AGONES: 'false' })).toMatchObject({ agones: false });
    expect(early({ agonesHealthMs: '500' }, { SERVER_AGONES: 'true' })).toMatchObject({ agones: true, agonesHealthMs: 500 });
  });

  it('names the variable of a bad value', () => {
    expect(() => early({}, { AGONES_SDK_HTTP_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => early({}, { AGONES_SDK_HTTP_PORT: 'abc' })).toThrow(/AGONES_SDK_HTTP_PORT "abc"/);
    expect(() => early({ agonesHealthMs: '5' }, {})).toThrow(/--agones-health-ms "5"/);
  });

  it('lists the options in the table --help and the README are made from', () => {
    const rows = SERVE_OPTIONS.filter((o) => /agones/i.test(o.key)).map((o) => [o.flag, o.env]);
    expect(rows).toEqual([
      ['--agones', 'SERVER_AGONES'],
      ['--agones-port <port>', 'AGONES_SDK_HTTP_PORT'],
      ['--agones-health-ms <ms>', 'SERVER_AGONES_HEALTH_MS'],
    ]);
  });
});
