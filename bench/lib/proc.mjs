/**
 * Child processes and their CPU and memory, read from /proc (Linux).
 *
 * Exports:
 *   spawnTracked(cmd, args, options)
 *       Spawns a process and records its PID so `stopAll` (and the runner's SIGINT and exit
 *       handlers) can stop it. Returns a handle:
 *         { pid, child, startedAt (performance.now() just before spawn), output() (the last
 *           64 KiB of stdout+stderr), exited (Promise<{ code, signal }>), stop(graceMs) }
 *       options: { cwd, env, keepOutputBytes = 65536 }. stdin is ignored, stdout and stderr piped
 *       and drained into the ring buffer so a chatty child never blocks on a full pipe.
 *   stopProcess(handle, graceMs = 3000)
 *       SIGTERM by PID, then SIGKILL after graceMs; resolves once the process has exited.
 *   stopAll(graceMs = 2000)
 *       Stops every tracked process still running (in parallel); resolves when all have exited.
 *   killAllSync()
 *       SIGKILL to every tracked process still running; for 'exit' handlers, which cannot wait.
 *   tracked()  PIDs still running that were started here.
 *   CLK_TCK    clock ticks per second of /proc/PID/stat times (from getconf, else 100).
 *   cpuTicks(pid)    utime + stime of the whole process (all threads, dead ones too), in ticks.
 *   cpuNs(pid)       on-CPU time of the live threads summed from /proc/PID/task/TID/schedstat, in
 *                    ns; null where schedstat is missing. Far finer than ticks for idle processes.
 *   cpuSample(pid)   { at (performance.now() ms), ticks, ns } read together.
 *   cpuPercent(a, b) % of one core between two samples: from ns when both have it, else ticks;
 *                    returns { pct, pctTicks, source: 'schedstat' | 'stat' }.
 *   rssKiB(pid)      VmRSS from /proc/PID/status, KiB; null if the process is gone.
 *   threadCount(pid) Threads from /proc/PID/status.
 *   sleep(ms)        Promise that resolves after ms.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @type {Map<number, ReturnType<typeof makeHandle>>} */
const live = new Map();

export const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, keepOutputBytes?: number }} [options]
 */
export function spawnTracked(cmd, args, options = {}) {
  const startedAt = performance.now();
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return makeHandle(child, startedAt, options.keepOutputBytes ?? 65536);
}

/** @param {import('node:child_process').ChildProcess} child @param {number} startedAt @param {number} keep */
function makeHandle(child, startedAt, keep) {
  let out = '';
  const append = (chunk) => {
    out += chunk.toString();
    if (out.length > keep) out = out.slice(out.length - keep);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(exitInfo);
    });
    child.once('error', (err) => {
      append(`spawn error: ${err.message}\n`);
      exitInfo = { code: null, signal: null, error: err.message };
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(exitInfo);
    });
  });
  const handle = {
    pid: /** @type {number} */ (child.pid),
    child,
    startedAt,
    exited,
    output: () => out,
    get exitInfo() {
      return exitInfo;
    },
    /** @param {number} [graceMs] */
    stop: (graceMs) => stopProcess(handle, graceMs),
  };
  if (child.pid !== undefined) live.set(child.pid, handle);
  return handle;
}

/** @param {{ pid: number, exited: Promise<unknown>, exitInfo: unknown }} handle @param {number} [graceMs] */
export async function stopProcess(handle, graceMs = 3000) {
  if (handle.exitInfo || handle.pid === undefined) return handle.exited;
  try {
    process.kill(handle.pid, 'SIGTERM');
  } catch {
    return handle.exited;
  }
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      try {
        process.kill(handle.pid, 'SIGKILL');
      } catch {}
      resolve(undefined);
    }, graceMs);
  });
  await Promise.race([handle.exited, killed]);
  clearTimeout(timer);
  // After SIGKILL the exit event follows promptly; never wait forever for it.
  await Promise.race([handle.exited, sleep(2000)]);
  return handle.exited;
}

export async function stopAll(graceMs = 2000) {
  await Promise.all([...live.values()].map((h) => stopProcess(h, graceMs)));
}

export function killAllSync() {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

export function tracked() {
  return [...live.keys()];
}

/** @param {number} pid */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14 and 15)
}

/** @param {number} pid */
export function cpuNs(pid) {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return total;
  } catch {
    return null;
  }
}

/** @param {number} pid */
export function cpuSample(pid) {
  const ns = cpuNs(pid);
  const ticks = cpuTicks(pid);
  return { at: performance.now(), ticks, ns };
}

/**
 * @param {{ at: number, ticks: number, ns: number | null }} a
 * @param {{ at: number, ticks: number, ns: number | null }} b
 */
export function cpuPercent(a, b) {
  const wallMs = b.at - a.at;
  const pctTicks = (((b.ticks - a.ticks) / CLK_TCK) * 1000 * 100) / wallMs;
  if (a.ns !== null && b.ns !== null && b.ns >= a.ns) return { pct: ((b.ns - a.ns) / 1e6 / wallMs) * 100, pctTicks, source: 'schedstat' };
  return { pct: pctTicks, pctTicks, source: 'stat' };
}

/** @param {number} pid @param {string} field */
function statusField(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** @param {number} pid */
export const rssKiB = (pid) => statusField(pid, 'VmRSS');

/** @param {number} pid */
export const threadCount = (pid) => statusField(pid, 'Threads');
