/**
 * The health thread and its watchdog survive what they watch for: a flood of idle TCP
 * connections on the health port (which once filled the health thread's heap and killed it,
 * silently, taking the watchdog along) leaves /livez answering once the idle sockets time out,
 * and a loop frozen afterwards still ends the process with exit 3. A health thread that dies
 * anyway is logged and restarted on the same port; one that keeps dying ends the instance.
 */
import { writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { HealthMonitor } from '../../runtime/node/health/health-monitor.js';
import { HEALTH_HTTP_LIMITS } from '../../runtime/node/health/health-endpoint.js';
import { cleanupTemp, get, HOST, ports, sceneWithScript, serveArgs, until, waitReady } from './util.js';
import { dirname } from 'node:path';

const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stopAll();
  await cleanupTemp();
});

/** Freezes the loop for good once a file named `freeze` appears beside the scene. */
const FREEZE_ON_FILE = (dir: string) => `import { existsSync } from 'node:fs';
export default {
  update(ctx) {
    if (ctx.world.tick % 10 !== 0 || !existsSync(${JSON.stringify(join(dir, 'freeze'))})) return;
    ctx.log.warn({ tick: ctx.world.tick }, 'freezing the loop now');
    for (;;) {}
  },
};
`;

/**
 * Opens `n` TCP connections to 127.0.0.1:port that never send a byte, in batches the listen
 * backlog holds (past it the kernel leaves a client "connected" to a socket the server has not
 * seen yet); resolves once every one has connected or been closed (bounded in time).
 */
async function flood(port: number, n: number, batch = 250): Promise<{ connected: number }> {
  let connected = 0;
  for (let start = 0; start < n; start += batch) {
    const these: Socket[] = [];
    for (let i = start; i < Math.min(n, start + batch); i++) {
      const s = new Socket();
      these.push(s);
      s.on('error', () => {});
      s.once('connect', () => connected++);
      s.connect(port, HOST);
    }
    sockets.push(...these);
    await until(() => (these.every((s) => !s.connecting) ? true : undefined), `connections ${start}..${start + these.length} settled`, 20_000, 20);
  }
  return { connected };
}

describe('health thread survival', () => {
  it('2000 idle connections to the health port: /livez answers again, and a loop frozen afterwards still exits 3', async () => {
    const probe = await sceneWithScript('flood', 'export default {};');
    const dir = dirname(probe);
    await writeFile(join(dir, 'scripts', 'custom.js'), FREEZE_ON_FILE(dir));
    const p = await ports();
    const proc = startKeel(serveArgs(probe, p, ['--assets', dir, '--stall-ms', '500', '--watchdog-ms', '2000']));
    await waitReady(p);

    const { connected } = await flood(p.health, 2000);
    expect(connected).toBeGreaterThan(0);
    // The idle sockets are closed by the server within its idle timeout; then probes get through.
    const t0 = Date.now();
    const live = await until(async () => ((await get(`http://${HOST}:${p.health}/livez`, 1000))?.status === 200 ? true : undefined), '/livez 200 after the flood', 20_000, 100);
    expect(live).toBe(true);
    expect(Date.now() - t0).toBeLessThan(HEALTH_HTTP_LIMITS.idleSocketMs + 10_000);
    // Every flooding socket was closed by the server: none held for minutes (before the fix they
    // stayed open for 300 s or more). Bounded at 30 s, which a machine under a benchmark's load
    // still meets; the idle timeout itself is 5 s.
    await until(() => (sockets.every((s) => s.destroyed || s.readyState === 'closed') ? true : undefined), 'the server closed every idle socket', 30_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}: ${sockets.filter((s) => !s.destroyed && s.readyState !== 'closed').length} of ${sockets.length} still open`);
    });
    // The cap was hit and said so, once.
    expect(proc.records().filter((r) => /connections open; refusing more/.test(String(r.msg))).length, proc.stdout()).toBe(1);

    await writeFile(join(dir, 'freeze'), '');
    const r = await proc.exited(20_000);
    expect(r.code).toBe(3);
    expect(proc.records().some((rec) => rec.level === 60 && /^Watchdog: game loop frozen/.test(String(rec.msg)))).toBe(true);
    expect(proc.records().some((rec) => /Health thread died/.test(String(rec.msg)))).toBe(false);
  }, 120_000);

  it('a health thread that dies is logged and restarted on the same port; one that keeps dying ends the instance', async () => {
    const port = await freePort();
    const lost: string[] = [];
    const monitor = new HealthMonitor({
      id: 'Survivor-1',
      world: 'w',
      port,
      host: HOST,
      stallMs: 1000,
      watchdogMs: 0,
      healthFile: undefined,
      logLevel: 'error',
      logFormat: 'json',
      exitCode: 3,
      metrics: async () => '',
      onLost: (reason) => lost.push(reason),
    });
    try {
      expect((await monitor.start()).port).toBe(port);
      for (let k = 1; k <= 3; k++) {
        await monitor.killWorkerForTest();
        await until(async () => ((await get(`http://${HOST}:${port}/livez`, 1000))?.status === 200 && monitor.restarts === k ? true : undefined), `health thread back (restart ${k})`, 15_000, 50);
      }
      expect(lost).toEqual([]);
      await monitor.killWorkerForTest(); // the fourth death within a minute
      await until(() => (lost.length === 1 ? true : undefined), 'onLost called', 5_000, 20);
      expect(lost[0]).toMatch(/health thread died 4 times within 60 s/);
    } finally {
      await monitor.stop();
    }
  }, 60_000);
});
