/**
 * What a fleet's instances do when the worst happens to the fleet or to one of them:
 * - process mode: the fleet killed with SIGKILL (no chance to drain) does not leave its
 *   instances serving; each notices its parent is gone, drains and exits, freeing its ports;
 * - thread mode: an instance whose scene script fills its heap is ended at its own heap limit
 *   (--instance-heap-mb) and restarted, while its siblings in the same process keep ticking.
 */
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, cleanupTemp, fleetPorts, getJson, HOST, sleep, startFleet, stopFleets, ticksKeepAdvancing, triggerScene, until } from './util.js';

afterEach(async () => {
  await stopFleets();
  await cleanupTemp();
});

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });

describe('keel fleet resilience', () => {
  it('process mode: instances of a fleet killed with SIGKILL drain and exit, freeing their ports', async () => {
    const { scene } = await triggerScene();
    const p = await fleetPorts(2);
    const fleet = startFleet([
      scene, '--mode', 'process', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health),
      '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--no-watch',
    ]);
    const statusUrl = `http://${HOST}:${p.status}/status`;
    const s = await until(async () => {
      const st = await getJson(statusUrl);
      return st?.healthy === 2 ? st : undefined;
    }, `fleet healthy\n${fleet.output()}`, 40_000, 200);
    const pids = (s.instances as { pid: number }[]).map((i) => i.pid);
    expect(pids.every(alive)).toBe(true);
    process.kill(fleet.pid, 'SIGKILL');
    await until(() => (pids.some(alive) ? undefined : true), `instances ${pids.join(', ')} gone after the fleet was killed`, 15_000, 100);
    for (const port of [p.base, p.base + 1, p.health, p.health + 1]) expect(await bindable(port), `port ${port} free again`).toBe(true);
  }, 90_000);

  it('thread mode: an instance that exhausts its heap is restarted while its siblings keep ticking', async () => {
    const { scene, dir } = await triggerScene();
    const p = await fleetPorts(3);
    const fleet = startFleet([
      scene, '--mode', 'thread', '--count', '3', '--base-port', String(p.base), '--health-base-port', String(p.health),
      '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--no-watch', '--restart-initial-ms', '200',
      '--instance-heap-mb', '96',
    ]);
    const statusUrl = `http://${HOST}:${p.status}/status`;
    const instance = async (id: string) => ((await getJson(statusUrl))?.instances as Record<string, any>[] | undefined)?.find((i) => i.id === id);
    await until(async () => ((await getJson(statusUrl))?.healthy === 3 ? true : undefined), `fleet healthy\n${fleet.output()}`, 40_000, 200);
    const before = (await instance('Instance-02'))!;
    await ticksKeepAdvancing(statusUrl, ['Instance-01', 'Instance-03'], async () => {
      await sleep(500);
      await writeFile(join(dir, 'oom-Instance-02'), '');
      const back = await until(
        async () => {
          const i = await instance('Instance-02');
          return i && i.restarts === 1 && i.health === 'healthy' ? i : undefined;
        },
        `Instance-02 restarted after running out of heap\n${fleet.output()}`,
        40_000,
        200,
      );
      expect(back.threadId).not.toBe(before.threadId);
      expect(back.lastExit.reason).toMatch(/ran out of its 96 MB heap/);
      await sleep(1000);
    });
    expect(alive(fleet.pid)).toBe(true);
    const s = (await getJson(statusUrl))!;
    expect(s.instances.filter((i: any) => i.id !== 'Instance-02').map((i: any) => i.restarts)).toEqual([0, 0]);
    expect(fleet.output()).toContain('filling the heap now');
  }, 90_000);
});
