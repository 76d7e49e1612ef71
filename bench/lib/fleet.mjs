/**
 * `keel fleet` under a bench: N instances on free loopback ports, its /status, and stopping it
 * and every instance process by PID.
 *
 * Exports:
 *   startFleet(opts) -> Promise<FleetHandle>
 *       Starts `node dist/keel.mjs fleet <scene>` on 127.0.0.1 with free game, health and status
 *       ports and waits until /status reports every instance healthy. Retries on fresh ports
 *       (up to 3 tries) when it does not get there, since another program may take a port
 *       between the check and the bind. opts:
 *         { repo, scene, count, mode: 'process' | 'thread', cpus?: string (a --cpus list),
 *           extraArgs?: string[], maxLifeS: number, startTimeoutMs?: number,
 *           signal?: AbortSignal, progress?: (msg) => void }
 *       Where coreutils `timeout` exists the fleet runs under `timeout -k 5 maxLifeS`, so it is
 *       told to stop (SIGTERM, which drains its instances) even if the bench itself dies.
 *   FleetHandle:
 *       { h (lib/proc.mjs handle), basePort, statusPort, healthPorts: number[], count, mode,
 *         last (the latest /status report or null), status(timeoutMs) -> Promise<report>,
 *         instancePids() -> number[] (every instance PID seen, process mode), stop(graceMs) }
 *   stopFleet(fleet, graceMs = 5000)
 *       SIGTERM to the fleet PID (from /status; the spawned PID before that), waits up to
 *       graceMs, then SIGKILL to the fleet and to every instance PID /status ever listed that is
 *       still a keel process. Resolves when the fleet process has exited (bounded).
 *   commandAvailable(cmd, args = ['--version']) -> Promise<boolean>
 *   pidAlive(pid) -> boolean
 *
 * Instance PIDs are also killed (SIGKILL) from a process 'exit' handler, since the runner's own
 * handler only knows the PIDs it spawned (the fleet's), not the fleet's children.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort, httpGet } from './net.mjs';
import { sleep, spawnTracked } from './proc.mjs';

const HEALTH_OFFSET = 1000;
const STATUS_OFFSET = 2000;

/** Instance PIDs of fleets not yet stopped, for the exit handler. */
const instancePidsLive = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of instancePidsLive) if (isKeelProcess(pid)) killQuiet(pid, 'SIGKILL');
  });
}

/** @param {number} pid */
export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/** Still one of keel's processes (not a PID the kernel has since given to something else)? @param {number} pid */
function isKeelProcess(pid) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('keel');
  } catch {
    return false;
  }
}

/** @param {number} pid @param {NodeJS.Signals} sig */
function killQuiet(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {}
}

/** @param {string} cmd @param {string[]} [args] */
export function commandAvailable(cmd, args = ['--version']) {
  return new Promise((resolve) => execFile(cmd, args, { timeout: 5000 }, (err) => resolve(!err)));
}

let hasTimeout = /** @type {Promise<boolean> | null} */ (null);

/**
 * @param {{ repo: string, scene: string, count: number, mode: 'process' | 'thread', cpus?: string, extraArgs?: string[],
 *   maxLifeS: number, startTimeoutMs?: number, signal?: AbortSignal, progress?: (msg: string) => void }} opts
 */
export async function startFleet(opts) {
  installExitHook();
  hasTimeout ??= commandAvailable('timeout');
  const wrap = await hasTimeout;
  const offsets = [
    ...Array.from({ length: opts.count }, (_, i) => i),
    ...Array.from({ length: opts.count }, (_, i) => HEALTH_OFFSET + i),
    STATUS_OFFSET,
  ];
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000 + 1000 * opts.count;
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const basePort = await freePort({ offsets });
    const args = [
      'dist/keel.mjs',
      'fleet',
      opts.scene,
      '--count', String(opts.count),
      '--base-port', String(basePort),
      '--health-base-port', String(basePort + HEALTH_OFFSET),
      '--status-port', String(basePort + STATUS_OFFSET),
      '--status-host', '127.0.0.1',
      '--host', '127.0.0.1',
      '--mode', opts.mode,
      '--view', 'log',
      '--log-format', 'json',
      ...(opts.cpus ? ['--cpus', opts.cpus] : []),
      ...(opts.extraArgs ?? []),
    ];
    const life = String(Math.max(10, Math.ceil(opts.maxLifeS)));
    const h = wrap
      ? spawnTracked('timeout', ['-k', '5', life, process.execPath, ...args], { cwd: opts.repo })
      : spawnTracked(process.execPath, args, { cwd: opts.repo });
    const fleet = makeFleet(h, basePort, opts);
    try {
      await waitHealthy(fleet, startTimeoutMs, opts);
      return fleet;
    } catch (err) {
      await stopFleet(fleet, 3000);
      lastErr = new Error(`${opts.mode} fleet of ${opts.count}: ${/** @type {Error} */ (err).message}\n${h.output().slice(-1500)}`);
      if (opts.signal?.aborted) throw lastErr;
    }
  }
  throw lastErr;
}

/**
 * @param {ReturnType<typeof spawnTracked>} h @param {number} basePort
 * @param {{ count: number, mode: 'process' | 'thread' }} opts
 */
function makeFleet(h, basePort, opts) {
  const pids = new Set();
  const fleet = {
    h,
    basePort,
    statusPort: basePort + STATUS_OFFSET,
    healthPorts: Array.from({ length: opts.count }, (_, i) => basePort + HEALTH_OFFSET + i),
    count: opts.count,
    mode: opts.mode,
    /** @type {any} */
    last: null,
    /** @param {number} [timeoutMs] */
    async status(timeoutMs = 2000) {
      const res = await httpGet(fleet.statusPort, '/status', timeoutMs);
      if (res.status !== 200) throw new Error(`GET /status answered ${res.status}`);
      const report = JSON.parse(res.body);
      fleet.last = report;
      for (const i of report.instances ?? []) {
        if (typeof i.pid === 'number' && i.pid !== report.pid) {
          pids.add(i.pid);
          instancePidsLive.add(i.pid);
        }
      }
      return report;
    },
    instancePids: () => [...pids],
    /** @param {number} [graceMs] */
    stop: (graceMs) => stopFleet(fleet, graceMs),
  };
  return fleet;
}

/**
 * @param {ReturnType<typeof makeFleet>} fleet @param {number} timeoutMs
 * @param {{ count: number, signal?: AbortSignal, progress?: (msg: string) => void }} opts
 */
async function waitHealthy(fleet, timeoutMs, opts) {
  const t0 = Date.now();
  let lastNote = '';
  let lastProgress = 0;
  while (Date.now() - t0 < timeoutMs) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (fleet.h.exitInfo) throw new Error(`the fleet exited while starting (${JSON.stringify(fleet.h.exitInfo)})`);
    try {
      const r = await fleet.status(1000);
      const healthy = r.instances.filter((i) => i.health === 'healthy').length;
      const restarted = r.instances.filter((i) => i.restarts > 0);
      if (restarted.length) throw new Error(`instance ${restarted[0].id} restarted while starting: ${restarted[0].lastExit?.reason ?? '?'}`);
      lastNote = `${healthy}/${r.count} healthy`;
      if (healthy === r.count) return r;
    } catch (err) {
      if (/restarted while starting/.test(String(err))) throw err;
      const msg = String(/** @type {Error} */ (err).message ?? err);
      lastNote = /ECONNREFUSED/.test(msg) ? 'status port not listening yet' : msg;
    }
    if (opts.progress && Date.now() - lastProgress > 2000) {
      lastProgress = Date.now();
      opts.progress(`waiting for ${fleet.mode} fleet of ${fleet.count}: ${lastNote}`);
    }
    await sleep(200);
  }
  throw new Error(`not healthy within ${timeoutMs} ms (${lastNote})`);
}

/** @param {ReturnType<typeof makeFleet>} fleet @param {number} [graceMs] */
export async function stopFleet(fleet, graceMs = 5000) {
  const { h } = fleet;
  // Fresh PIDs: an instance may have been restarted since the last look.
  if (!h.exitInfo) await fleet.status(1000).catch(() => null);
  const fleetPid = typeof fleet.last?.pid === 'number' ? fleet.last.pid : h.pid;
  if (!h.exitInfo) {
    if (pidAlive(fleetPid)) killQuiet(fleetPid, 'SIGTERM');
    else killQuiet(h.pid, 'SIGTERM');
    await Promise.race([h.exited, sleep(graceMs)]);
    if (!h.exitInfo) {
      if (isKeelProcess(fleetPid)) killQuiet(fleetPid, 'SIGKILL');
      killQuiet(h.pid, 'SIGKILL');
    }
  }
  // Instances outlive a fleet that was killed (they run in their own process groups).
  await sleep(50);
  let waits = 0;
  for (const pid of fleet.instancePids()) {
    // A fleet that stopped in time has drained them already; give a late one a moment.
    while (pidAlive(pid) && isKeelProcess(pid) && waits++ < 20) await sleep(50);
    if (pidAlive(pid) && isKeelProcess(pid)) killQuiet(pid, 'SIGKILL');
    instancePidsLive.delete(pid);
  }
  await Promise.race([h.exited, sleep(2000)]);
  return h.exitInfo;
}
