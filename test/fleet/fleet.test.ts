/**
 * `keel fleet` over real processes, in both modes, three instances each: all healthy and pinned
 * as asked; an instance killed (process mode: kill -9; thread mode: an uncaught exception on its
 * thread) comes back with a new pid or thread while the others keep ticking; a frozen instance
 * is ended by its watchdog and replaced; SIGTERM drains them all and the fleet exits 0.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
