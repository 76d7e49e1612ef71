/** The fleet's small parts: CPU lists, spreading, backoff, the tick p99 in the heartbeat, shared heightfields, the status table. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { encodeHeightfield } from '../../runtime/core/index.js';
import { AssetRoot } from '../../runtime/node/assets.js';
import { Heartbeat } from '../../runtime/node/health/heartbeat.js';
import { Backoff } from '../../runtime/node/fleet/backoff.js';
import { checkCpus, formatCpuList, parseCpuList, spreadCpus } from '../../runtime/node/fleet/cpus.js';
import { instanceId, resolveFleetConfig } from '../../runtime/node/fleet/fleet-config.js';
import { renderMemory, renderTable } from '../../runtime/node/fleet/status-view.js';
import { REPO } from '../helpers/keel-process.js';

describe('CPU lists', () => {
  it('parses and formats the kernel syntax', () => {
    expect(parseCpuList('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('0,2,4')).toEqual([0, 2, 4]);
    expect(parseCpuList(' 4, 0-1 ,1')).toEqual([0, 1, 4]);
    expect(parseCpuList('')).toBe('is empty');
    expect(parseCpuList('2-1')).toMatch(/backwards/);
    expect(parseCpuList('x')).toMatch(/not a CPU number/);
    expect(formatCpuList([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(checkCpus([0, 1], [0, 1])).toBeNull();
    expect(checkCpus([0, 3], [0, 1])).toMatch(/CPU 3 not available/);
  });

  it('spreads instances: shares of their own when there are enough CPUs, in turn when not', () => {
    expect(spreadCpus(2, [0, 1, 2, 3])).toEqual([[0, 1], [2, 3]]);
    expect(spreadCpus(3, [0, 1, 2, 3])).toEqual([[0, 1], [2], [3]]);
    expect(spreadCpus(3, [0, 1])).toEqual([[0], [1], [0]]);
    const cfg = resolveFleetConfig({ scene: 'x', flags: { count: '3', cpus: 'auto' }, serveFlags: {}, env: {}, stdoutIsTTY: false, allowed: [0, 1] });
    expect(cfg.cpus).toEqual([[0], [1], [0]]);
  });

  it('names instances Instance-01.. with width for the count', () => {
    expect(instanceId('Instance-', 0, 3)).toBe('Instance-01');
    expect(instanceId('Instance-', 99, 120)).toBe('Instance-100');
    expect(instanceId('gs-', 4, 1000)).toBe('gs-0005');
  });
});

describe('restart backoff', () => {
  it('doubles to the cap and starts over after a stable run', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 4000, stableMs: 60_000 });
    expect([b.delay(10), b.delay(10), b.delay(10), b.delay(10), b.delay(10)]).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(b.delay(61_000)).toBe(500);
    expect(b.delay(10)).toBe(1000);
  });
});

describe('heartbeat tick p99', () => {
  it('publishes the 99th percentile of recent tick durations', () => {
    const hb = new Heartbeat();
    for (let i = 1; i <= 240; i++) hb.beat(i, 0, 0, i === 240 || i === 239 || i === 238 ? 50 : 1);
    // Another view of the same memory, as the fleet or the health thread has it.
    const seen = new Heartbeat(hb.buffer).read();
    expect(seen.tick).toBe(240);
    expect(seen.tickP99Ms).toBe(50);
  });
});

describe('shared heightfields', () => {
  it('a heightfield read once is used by another thread without a copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-fleet-assets-'));
    try {
      await writeFile(join(dir, 'h.khf'), encodeHeightfield(2, 2, new Float32Array([1, 2, 3, 4])));
      const root = new AssetRoot(dir);
      const mine = await root.heightfield('h.khf');
      const shared = root.shared();
      expect(shared).toHaveLength(1);
      expect(shared[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
      // Another root built from it uses the same memory rather than reading the file again.
      const other = await new AssetRoot(dir, shared).heightfield('h.khf');
      expect(other.heights.buffer).toBe(mine.heights.buffer);
      // On a worker thread: an AssetRoot given the shared buffers writes through to this thread's view.
      const assetsUrl = pathToFileURL(join(REPO, 'dist/runtime/node/assets.js')).href;
      const code = `import { workerData, parentPort } from 'node:worker_threads';
import { AssetRoot } from ${JSON.stringify(assetsUrl)};
const root = new AssetRoot(workerData.dir, workerData.shared);
const h = await root.heightfield('h.khf');
h.heights[0] = 42;
parentPort.postMessage(h.heights.buffer instanceof SharedArrayBuffer);`;
      const file = join(dir, 'worker.mjs');
      await writeFile(file, code);
      const sharedBack = await new Promise<boolean>((resolve, reject) => {
        const w = new Worker(file, { workerData: { dir, shared } });
        w.once('message', (m: boolean) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
      expect(sharedBack).toBe(true);
      expect(mine.heights[0]).toBe(42);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('status table', () => {
  it('shows id, port, players, tick p99, CPU %, RSS, restarts and health', () => {
    const lines = renderTable([
      { id: 'Instance-01', port: 7000, healthPort: 8000, adminPort: null, mode: 'process', pid: 123, threadId: null, tid: null, state: 'running', health: 'healthy', players: 2, tick: 10, tickP99Ms: 1.25, cpuPercent: 3.5, rssBytes: 80 * 1048576, heapUsedBytes: null, cpus: '0', cpusAllowed: '0', restarts: 1, uptimeS: 5, lastExit: null, nextStartInMs: null },
      { id: 'Instance-02', port: 7001, healthPort: 8001, adminPort: null, mode: 'process', pid: null, threadId: null, tid: null, state: 'restarting', health: 'down', players: null, tick: null, tickP99Ms: null, cpuPercent: null, rssBytes: null, heapUsedBytes: null, cpus: null, cpusAllowed: null, restarts: 2, uptimeS: null, lastExit: null, nextStartInMs: 1500 },
    ]);
    expect(lines[0]).toMatch(/^ID\s+PORT\s+PID\/THREAD\s+PLAYERS\s+TICK P99\s+CPU %\s+RSS\s+RESTARTS\s+CPUS\s+HEALTH$/);
    expect(lines[1]).toMatch(/^Instance-01\s+7000\s+123\s+2\s+1\.25 ms\s+3\.5%\s+80 MB\s+1\s+0\s+healthy$/);
    expect(lines[2]).toMatch(/Instance-02\s+7001\s+-\s+-\s+-\s+n\/a\s+n\/a\s+2\s+any\s+down \(restart in 1\.5 s\)$/);
  });

  it('adds the admin port beside the game port when the fleet has an admin channel', () => {
    const row = { id: 'Instance-01', port: 7000, healthPort: 8000, adminPort: 7780, mode: 'thread', pid: 9, threadId: 1, tid: null, state: 'running', health: 'healthy', players: 0, tick: 3, tickP99Ms: 0.5, cpuPercent: 1, rssBytes: null, heapUsedBytes: 20 * 1048576, cpus: null, cpusAllowed: null, restarts: 0, uptimeS: 1, lastExit: null, nextStartInMs: null } as const;
    const lines = renderTable([row, { ...row, id: 'Instance-02', port: 7001, adminPort: 7781 }]);
    expect(lines[0]).toMatch(/^ID\s+PORT\s+ADMIN\s+PID\/THREAD\s+PLAYERS\s/);
    expect(lines[1]).toMatch(/^Instance-01\s+7000\s+7780\s+t1\s+0\s+0\.50 ms\s/);
    expect(lines[2]).toMatch(/^Instance-02\s+7001\s+7781\s+t1\s/);
  });
});

describe('fleet memory line', () => {
  const MB = 1048576;
  it('thread mode: the one process, and the heightfields held once for every instance', () => {
    const line = renderMemory({ mode: 'thread', count: 10, memory: { processes: 1, rssBytes: 566 * MB, pssBytes: 555 * MB, assetBytes: 64 * MB, assetCopies: 1 } });
    expect(line).toBe('memory  rss 566 MB  pss 555 MB  (1 process: the fleet and its 10 instance threads)  heightfields 64 MB, one copy shared by all 10 instances');
  });
  it('process mode: summed over the fleet and its instance processes, one heightfield copy each', () => {
    const line = renderMemory({ mode: 'process', count: 10, memory: { processes: 11, rssBytes: 1600 * MB, pssBytes: 1200 * MB, assetBytes: 64 * MB, assetCopies: 10 } });
    expect(line).toBe('memory  rss 1600 MB  pss 1200 MB  (11 processes: the fleet and 10 instances)  heightfields 64 MB, 10 copies (one per instance process)');
  });
  it('no heightfields, no PSS (not Linux): n/a and no asset part', () => {
    const line = renderMemory({ mode: 'process', count: 1, memory: { processes: 2, rssBytes: 120 * MB, pssBytes: null, assetBytes: 0, assetCopies: 0 } });
    expect(line).toBe('memory  rss 120 MB  pss n/a  (2 processes: the fleet and 1 instance)');
  });
});
