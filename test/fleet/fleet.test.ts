/**
 * `keel fleet` over real processes, in both modes, three instances each: all healthy and pinned
 * as asked; an instance killed (process mode: kill -9; thread mode: an uncaught exception on its
 * thread) comes back with a new pid or thread while the others keep ticking; a frozen instance
 * is ended by its watchdog and replaced; SIGTERM drains them all and the fleet exits 0. In
 * thread mode the fleet's main thread serves every instance's health endpoints: a frozen
 * instance's /livez turns 503 while the others answer 200, and no instance has a health thread.
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, samplesOf } from '../health/util.js';
import { alive, cleanupTemp, cpusAllowed, fleetPorts, getJson, HOST, sleep, startFleet, stopFleets, ticksKeepAdvancing, triggerScene, until } from './util.js';

afterEach(async () => {
  await stopFleets();
  await cleanupTemp();
});

const COUNT = 3;
const IDS = ['Instance-01', 'Instance-02', 'Instance-03'];

async function fleetOf(mode: 'process' | 'thread', extra: string[] = []) {
  const { scene, dir } = await triggerScene();
  const p = await fleetPorts(COUNT);
  const fleet = startFleet([
    scene,
    '--mode', mode,
    '--count', String(COUNT),
    '--base-port', String(p.base),
    '--health-base-port', String(p.health),
    '--status-port', String(p.status),
    '--host', HOST,
    '--log-format', 'json',
    '--no-watch',
    '--restart-initial-ms', '200',
    '--shutdown-grace-ms', '5000',
    ...extra,
  ]);
  const statusUrl = `http://${HOST}:${p.status}/status`;
  const status = async () => (await getJson(statusUrl)) as Record<string, any> | null;
  const instance = async (id: string) => ((await status())?.instances as Record<string, any>[] | undefined)?.find((i) => i.id === id);
  await until(async () => ((await status())?.healthy === COUNT ? true : undefined), `all ${COUNT} instances healthy\n${fleet.output()}`, 40_000, 200);
  return { fleet, dir, ports: p, statusUrl, status, instance };
}

describe.each(['process', 'thread'] as const)('keel fleet --mode %s', (mode) => {
  it('runs 3 healthy instances on consecutive ports, pinned as asked, and drains them all on SIGTERM', async () => {
    const f = await fleetOf(mode, ['--cpus', '0,1']);
    const s = (await f.status())!;
    expect(s.mode).toBe(mode);
    expect(s.instances.map((i: any) => i.id)).toEqual(IDS);
    expect(s.instances.map((i: any) => i.port)).toEqual([0, 1, 2].map((i) => f.ports.base + i));
    // Two CPUs over three instances: 0, 1, 0.
    const want = ['0', '1', '0'];
    for (const [n, i] of (s.instances as any[]).entries()) {
      expect(i.health).toBe('healthy');
      expect(i.restarts).toBe(0);
      expect(typeof i.tick).toBe('number');
      // Each instance answers on its own health port too.
      const livez = await getJson(`http://${HOST}:${f.ports.health + n}/livez`);
      expect(livez?.id).toBe(i.id);
      if (mode === 'process') {
        expect(i.pid).not.toBe(f.fleet.pid);
        expect(cpusAllowed(i.pid)).toBe(want[n]);
      } else {
        expect(i.pid).toBe(f.fleet.pid);
        expect(i.tid).toBeGreaterThan(0);
        expect(cpusAllowed(f.fleet.pid, i.tid)).toBe(want[n]);
      }
      expect(i.cpusAllowed).toBe(want[n]);
    }
    // Memory of the whole fleet: its one process (thread mode) or it and each instance's.
    await until(async () => ((await f.status())?.memory?.rssBytes > 0 ? true : undefined), 'memory sampled', 5_000, 200);
    const memory = (await f.status())!.memory;
    expect(memory.processes).toBe(mode === 'thread' ? 1 : COUNT + 1);
    expect(memory.rssBytes).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(memory.pssBytes).toBeGreaterThan(0);
    expect(memory.assetBytes).toBe(0); // the scene has no heightfield
    // Log lines are interleaved and tagged with each instance's id.
    const ids = new Set(f.fleet.records().map((r) => r.id));
    for (const id of [...IDS, 'fleet']) expect(ids).toContain(id);

    const pids = (s.instances as any[]).map((i) => i.pid as number);
    process.kill(f.fleet.pid, 'SIGTERM');
    expect(await f.fleet.exited(20_000)).toBe(0);
    const recs = f.fleet.records();
    for (const id of IDS) {
      expect(recs.some((r) => r.id === id && /^Stopped after \d+ ticks/.test(r.msg))).toBe(true);
      expect(recs.some((r) => r.id === 'fleet' && r.instance === id && /stopped \(exited \(code 0\)\)/.test(r.msg))).toBe(true);
    }
    if (mode === 'process') for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 90_000);

  it('brings a dead instance back with a new pid or thread while the others keep ticking', async () => {
    const f = await fleetOf(mode);
    const before = (await f.instance('Instance-02'))!;
    const others = ['Instance-01', 'Instance-03'];
    await ticksKeepAdvancing(f.statusUrl, others, async () => {
      await sleep(1000);
      if (mode === 'process') process.kill(before.pid, 'SIGKILL');
      else await writeFile(join(f.dir, 'crash-Instance-02'), '');
      const back = await until(
        async () => {
          const i = await f.instance('Instance-02');
          return i && i.restarts === 1 && i.health === 'healthy' ? i : undefined;
        },
        `Instance-02 restarted and healthy\n${f.fleet.output()}`,
        40_000,
        200,
      );
      if (mode === 'process') expect(back.pid).not.toBe(before.pid);
      else expect(back.threadId).not.toBe(before.threadId);
      expect(back.lastExit.reason).toMatch(mode === 'process' ? /killed by SIGKILL/ : /crashed \(code 1\)/);
      await sleep(1500);
    });
    const warn = f.fleet.records().find((r) => r.id === 'fleet' && r.instance === 'Instance-02' && r.restarts === 1 && r.level === 40);
    expect(warn?.msg).toMatch(/restarting in \d+ ms \(restart 1\)/);
    const s = (await f.status())!;
    expect(s.instances.filter((i: any) => i.id !== 'Instance-02').map((i: any) => i.restarts)).toEqual([0, 0]);
  }, 90_000);

  it('replaces a frozen instance once its watchdog fires, while the others keep ticking', async () => {
    const f = await fleetOf(mode, ['--stall-ms', '500', '--watchdog-ms', '2000']);
    const before = (await f.instance('Instance-02'))!;
    await ticksKeepAdvancing(f.statusUrl, ['Instance-01', 'Instance-03'], async () => {
      await sleep(1000);
      await writeFile(join(f.dir, 'freeze-Instance-02'), '');
      const back = await until(
        async () => {
          const i = await f.instance('Instance-02');
          return i && i.restarts === 1 && i.health === 'healthy' ? i : undefined;
        },
        `Instance-02 replaced after its watchdog fired\n${f.fleet.output()}`,
        40_000,
        200,
      );
      if (mode === 'process') {
        expect(back.pid).not.toBe(before.pid);
        expect(back.lastExit.code).toBe(3);
        expect(back.lastExit.reason).toMatch(/watchdog/);
      } else {
        expect(back.threadId).not.toBe(before.threadId);
        expect(back.lastExit.reason).toMatch(/fleet watchdog/);
      }
      await sleep(1500);
    });
    const recs = f.fleet.records();
    expect(recs.some((r) => r.id === 'Instance-02' && /freezing the loop now/.test(r.msg))).toBe(true);
    // Who saw the freeze: the instance's own health thread (process) or the fleet (thread).
    const fatal = recs.find((r) => r.level === 60 && /[Ww]atchdog/.test(r.msg));
    expect(fatal?.id).toBe(mode === 'process' ? 'Instance-02' : 'fleet');
    if (mode === 'thread') expect(alive(f.fleet.pid)).toBe(true);
  }, 90_000);

  if (mode === 'process') {
    it('ends and replaces an instance process that stops answering altogether (SIGSTOP)', async () => {
      // Its own watchdog cannot fire in a stopped process: the fleet notices the silence
      // (twice --watchdog-ms plus 5 s) and kills it.
      const f = await fleetOf(mode, ['--stall-ms', '500', '--watchdog-ms', '1000']);
      const before = (await f.instance('Instance-01'))!;
      process.kill(before.pid, 'SIGSTOP');
      const back = await until(
        async () => {
          const i = await f.instance('Instance-01');
          return i && i.restarts === 1 && i.health === 'healthy' ? i : undefined;
        },
        `Instance-01 replaced\n${f.fleet.output()}`,
        40_000,
        200,
      );
      expect(back.pid).not.toBe(before.pid);
      expect(alive(before.pid)).toBe(false);
      expect(back.lastExit.reason).toMatch(/ended by the fleet watchdog \(was killed by SIGKILL\)/);
      expect(f.fleet.records().some((r) => r.id === 'fleet' && r.level === 60 && /has not answered on its health port/.test(r.msg))).toBe(true);
    }, 90_000);
  }
});

describe('keel fleet: shared assets', () => {
  it('thread mode reads the terrain heightfield once and every instance uses that memory', async () => {
    const p = await fleetPorts(COUNT);
    const fleet = startFleet([
      'scenes/terrain.json',
      '--mode', 'thread',
      '--count', String(COUNT),
      '--base-port', String(p.base),
      '--health-base-port', '0',
      '--status-port', String(p.status),
      '--host', HOST,
      '--log-format', 'json',
      '--log-level', 'debug',
      '--no-watch',
    ]);
    const statusUrl = `http://${HOST}:${p.status}/status`;
    await until(async () => ((await getJson(statusUrl))?.healthy === COUNT ? true : undefined), `all healthy\n${fleet.output()}`, 40_000, 200);
    const lines = fleet.records().filter((r) => /heightfields in memory shared/.test(r.msg));
    expect(lines.map((r) => r.id).sort()).toEqual(IDS);
    for (const r of lines) expect(r).toMatchObject({ heightfields: 1, shared: 1 });
    // The status reports the heightfield's bytes and that one copy serves every instance.
    const memory = (await getJson(statusUrl))!.memory;
    expect(memory).toMatchObject({ processes: 1, assetBytes: 2048 * 2048 * 4 + 16, assetCopies: 1 });
    process.kill(fleet.pid, 'SIGTERM');
    expect(await fleet.exited(20_000)).toBe(0);
  }, 90_000);
});

describe('keel fleet --mode thread: health endpoints served by the fleet', () => {
  /** Status and body of GET url (JSON, or text for /metrics); null when nothing answered. */
  async function fetchHealth(url: string): Promise<{ status: number; json: Record<string, any> | null; text: string } | null> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      let json: Record<string, any> | null = null;
      try {
        json = JSON.parse(text) as Record<string, any>;
      } catch {
        /* /metrics */
      }
      return { status: res.status, json, text };
    } catch {
      return null;
    }
  }

  it("a frozen instance's /livez turns 503 from the fleet process while the others stay 200", async () => {
    // No watchdog: the frozen instance stays frozen, and only the stall shows.
    const world = 'Bob\'s "big" arena \\ east';
    // A stall period long enough that a busy 2-core machine does not stall the healthy ones too.
    const f = await fleetOf('thread', ['--stall-ms', '1500', '--watchdog-ms', '0', '--world', world]);
    const health = (n: number, path: string) => fetchHealth(`http://${HOST}:${f.ports.health + n}${path}`);
    for (const n of [0, 1, 2]) expect((await health(n, '/livez'))?.status).toBe(200);
    // A scrape while it runs: the loop thread's metrics, which the fleet keeps as the last snapshot.
    const before = parseExposition((await health(1, '/metrics'))!.text);
    expect(samplesOf(before, 'keel_ticks_total')[0]?.labels).toMatchObject({ id: 'Instance-02', world });
    expect(samplesOf(before, 'keel_loop_stalled')[0]?.value).toBe(0);
    await writeFile(join(f.dir, 'freeze-Instance-02'), '');
    const stalled = await until(
      async () => {
        const r = await health(1, '/livez');
        return r?.status === 503 ? r : undefined;
      },
      `Instance-02 /livez 503 after the freeze\n${f.fleet.output()}`,
      20_000,
      100,
    );
    expect(stalled.json).toMatchObject({ id: 'Instance-02', world, state: 'ready', stalled: true });
    expect(stalled.json!.lastTickAgeMs).toBeGreaterThan(1500);
    const ready = await health(1, '/readyz');
    expect(ready?.status).toBe(503);
    expect(ready?.json).toMatchObject({ ready: false, reason: 'game loop stalled', id: 'Instance-02' });
    expect((await health(1, '/healthz'))?.status).toBe(503);
    // /metrics still answers (the loop thread cannot: its last snapshot), with the live gauges added.
    const metrics = await health(1, '/metrics');
    expect(metrics?.status).toBe(200);
    const exp = parseExposition(metrics!.text);
    expect(samplesOf(exp, 'keel_loop_stalled')[0]).toMatchObject({ value: 1, labels: { id: 'Instance-02', world } });
    expect(samplesOf(exp, 'keel_last_tick_age_seconds')[0]!.value).toBeGreaterThan(1.5);
    expect(samplesOf(exp, 'keel_ticks_total')[0]?.labels.world).toBe(world);
    expect(samplesOf(exp, 'keel_metrics_snapshot_age_seconds')[0]!.value).toBeGreaterThan(0);
    // The others keep answering 200 from the same process, for several stall periods.
    for (let k = 0; k < 3; k++) {
      for (const n of [0, 2]) {
        const r = await health(n, '/livez');
        expect(r?.status).toBe(200);
        expect(r?.json).toMatchObject({ id: IDS[n], stalled: false });
        expect(samplesOf(parseExposition((await health(n, '/metrics'))!.text), 'keel_loop_stalled')[0]?.value).toBe(0);
      }
      await sleep(1500);
    }
    expect((await health(1, '/livez'))?.status).toBe(503);
    // The fleet noticed it on its main thread and said so in the instance's name.
    const warn = f.fleet.records().find((r) => /^Game loop stalled/.test(String(r.msg)));
    expect(warn).toMatchObject({ id: 'Instance-02', thread: 'fleet', pid: f.fleet.pid, level: 40 });
    const s = (await f.status())!;
    expect(s.instances.find((i: any) => i.id === 'Instance-02')).toMatchObject({ health: 'stalled', restarts: 0 });
  }, 90_000);

  it.skipIf(process.platform !== 'linux')('starts one thread per instance: no health thread of its own (counts threads in /proc: Linux only)', async () => {
    // Two fleets side by side, of 1 and of 3: the two more instances add two threads, not four.
    const [one, three] = await Promise.all(
      [1, 3].map(async (count) => {
        const { scene } = await triggerScene();
        const p = await fleetPorts(count);
        const fleet = startFleet([
          scene, '--mode', 'thread', '--count', String(count), '--base-port', String(p.base), '--health-base-port', String(p.health),
          '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--no-watch',
        ]);
        const statusUrl = `http://${HOST}:${p.status}/status`;
        await until(async () => ((await getJson(statusUrl))?.healthy === count ? true : undefined), `fleet of ${count} healthy\n${fleet.output()}`, 40_000, 200);
        // Every instance answers on its own health port.
        for (let n = 0; n < count; n++) expect((await getJson(`http://${HOST}:${p.health + n}/livez`))?.state).toBe('ready');
        return { fleet, statusUrl };
      }),
    );
    // Threads come and go while the fleets settle (libuv's pool, V8's helpers): wait for the
    // difference to be what it should, and report the last counts if it never is.
    const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
    let last = '';
    const diff = await until(
      () => {
        const [t1, t3] = [threads(one!.fleet.pid), threads(three!.fleet.pid)];
        last = `${t1} with 1 instance, ${t3} with 3`;
        return t3 - t1 === 2 ? t3 - t1 : undefined;
      },
      'two more threads with two more instances',
      10_000,
      200,
    ).catch(() => null);
    expect(diff, `threads: ${last}`).toBe(2);
    // Each instance's loop thread is one of the fleet's threads.
    const s = (await getJson(three!.statusUrl))!;
    const tasks = new Set(readdirSync(`/proc/${three!.fleet.pid}/task`).map(Number));
    for (const i of s.instances as any[]) expect(tasks.has(i.tid)).toBe(true);
  }, 90_000);
});
