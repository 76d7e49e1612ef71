/**
 * Helpers for the fleet tests: consecutive free ports, a fleet process in its own process
 * group with every instance PID it ever reported (all killed by PID in afterEach), status
 * polling, and a test scene whose script freezes or crashes one chosen instance on demand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { sleep, TempDirs, until as pollUntil } from '../helpers/wait.js';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { KEEL, REPO } from '../helpers/keel-process.js';

export const HOST = '127.0.0.1';
export { sleep };

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** `n` consecutive ports that were all free on 127.0.0.1 a moment ago. */
export async function consecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

/** Game, health and status ports of a fleet of `count`, in three separate free ranges. */
export async function fleetPorts(count: number): Promise<{ base: number; health: number; status: number }> {
  const base = await consecutivePorts(count);
  let health = await consecutivePorts(count);
  while (health < base + count && health + count > base) health = await consecutivePorts(count);
  let status = await consecutivePorts(1);
  while ((status >= base && status < base + count) || (status >= health && status < health + count)) status = await consecutivePorts(1);
  return { base, health, status };
}

// ---------------------------------------------------------------------------------------------

const temps = new TempDirs('keel-fleet-');

/**
 * A scene (in a temp dir that is its asset root) whose script, every 10 ticks, looks for
 * `freeze-<SERVER_ID>`, `oom-<SERVER_ID>` or `crash-<SERVER_ID>` in the dir: it removes the file,
 * then freezes the loop for good, fills the heap until it runs out, or throws outside every
 * fence (an uncaught exception). The environment gives
 * the id in both modes (thread mode starts each worker with its own environment).
 */
export async function triggerScene(): Promise<{ scene: string; dir: string }> {
  const dir = await temps.make();
  await mkdir(join(dir, 'scripts'));
  await writeFile(
    join(dir, 'scripts', 'trigger.js'),
    `import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
const dir = ${JSON.stringify(dir)};
export default {
  update(ctx) {
    if (ctx.world.tick % 10 !== 0) return;
    const id = process.env.SERVER_ID;
    const freeze = join(dir, 'freeze-' + id);
    if (existsSync(freeze)) {
      unlinkSync(freeze);
      ctx.log.warn({ tick: ctx.world.tick }, 'test trigger: freezing the loop now');
      for (;;) {}
    }
    const oom = join(dir, 'oom-' + id);
    if (existsSync(oom)) {
      unlinkSync(oom);
      ctx.log.warn({ tick: ctx.world.tick }, 'test trigger: filling the heap now');
      const hog = [];
      for (;;) hog.push(new Array(1 << 16).fill(hog.length));
    }
    const crash = join(dir, 'crash-' + id);
    if (existsSync(crash)) {
      unlinkSync(crash);
      setImmediate(() => { throw new Error('test trigger: crash'); });
    }
  },
};
`,
  );
  const doc = {
    format: 'keel-scene',
    version: 1,
    name: 'fleet-test',
    settings: { tickRate: 30, maxPlayers: 8 },
    entities: [
      { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [20, 1, 20] } } },
      { id: 'trigger', components: { transform: { position: [0, 1, 0] }, script: { module: 'scripts/trigger.js', props: {}, modes: ['server'] } } },
    ],
  };
  const scene = join(dir, 'fleet-test.json');
  await writeFile(scene, JSON.stringify(doc, null, 2));
  return { scene, dir };
}

export const cleanupTemp = () => temps.cleanup();

// ---------------------------------------------------------------------------------------------

export interface FleetProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  records(): Record<string, any>[];
  /** Resolves with the exit code (or signal name); rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | string>;
}

const fleets = new Set<FleetProcess>();
/** Every instance process PID a fleet reported (process mode), to kill in afterEach. */
const instancePids = new Set<number>();

/** Starts `node dist/keel.mjs fleet ...args` in its own process group. Stop with `stopFleets` in afterEach. */
export function startFleet(args: string[], env: NodeJS.ProcessEnv = {}): FleetProcess {
  const child = spawn(process.execPath, [KEEL, 'fleet', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const onData = (d: string) => {
    out += d;
    for (const m of d.matchAll(/"instancePid":(\d+)/g)) instancePids.add(Number(m[1]));
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exit = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => setImmediate(() => resolve(code ?? signal ?? 'unknown'))));
  const proc: FleetProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    records: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, any>];
          } catch {
            return [];
          }
        }),
    exited: (timeoutMs) =>
      Promise.race([exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`fleet ${child.pid} did not exit within ${timeoutMs} ms\n${out}`)), timeoutMs).unref())]),
  };
  fleets.add(proc);
  void exit.then(() => fleets.delete(proc));
  return proc;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Kills every fleet started here (its process group) and every instance PID seen, by PID. */
export async function stopFleets(): Promise<void> {
  for (const f of fleets) {
    try {
      process.kill(-f.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const pid of instancePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const end = Date.now() + 5000;
  while (Date.now() < end && ([...fleets].some((f) => alive(f.pid)) || [...instancePids].some(alive))) await sleep(50);
  instancePids.clear();
}

export { alive };

// ---------------------------------------------------------------------------------------------

export async function getJson(url: string, timeoutMs = 2000): Promise<Record<string, any> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as Record<string, any>;
  } catch {
    return null;
  }
}

/** Polls `probe` (every 100 ms, for up to 20 s unless told) until it returns a value. */
export const until = <T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000, intervalMs = 100): Promise<T> =>
  pollUntil(probe, what, timeoutMs, intervalMs);

/** `Cpus_allowed_list` of a process, or of one of its threads. */
export function cpusAllowed(pid: number, tid?: number): string | null {
  try {
    const file = tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`;
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Watches the tick counters of some instances through the fleet status while `during` runs:
 * fails if any of them did not advance across any window of `windowMs` (they never stopped).
 */
export async function ticksKeepAdvancing(statusUrl: string, ids: string[], during: () => Promise<void>, windowMs = 4000): Promise<Map<string, number[]>> {
  const seen = new Map<string, { at: number; tick: number }[]>(ids.map((id) => [id, []]));
  let done = false;
  const poller = (async () => {
    while (!done) {
      const s = await getJson(statusUrl, 1500);
      const now = Date.now();
      for (const i of (s?.instances ?? []) as Record<string, any>[]) {
        if (seen.has(i.id) && typeof i.tick === 'number') seen.get(i.id)!.push({ at: now, tick: i.tick });
      }
      await sleep(250);
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await poller;
  }
  for (const [id, samples] of seen) {
    if (samples.length < 2) throw new Error(`too few samples of ${id}`);
    for (let i = 0; i < samples.length; i++) {
      // The first later sample at least windowMs on must show a higher tick.
      const later = samples.find((s) => s.at - samples[i]!.at >= windowMs);
      if (later && later.tick <= samples[i]!.tick) throw new Error(`${id} did not tick between ${samples[i]!.at} and ${later.at} (tick ${samples[i]!.tick})`);
    }
  }
  return new Map([...seen].map(([id, s]) => [id, s.map((x) => x.tick)]));
}
