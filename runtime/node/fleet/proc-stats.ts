import { readFileSync } from 'node:fs';

/**
 * CPU time and memory of a process or one of its threads, read from /proc (Linux). Elsewhere
 * every reading is null and the status view shows n/a.
 */

/** Clock ticks per second of /proc's utime and stime: 100 on every Linux Node supports. */
const CLK_TCK = 100;

/** utime + stime in seconds of `/proc/PID/stat` or `/proc/PID/task/TID/stat`; null when gone. */
export function cpuSeconds(pid: number | 'self', tid?: number): number | null {
  try {
    const text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces; count fields after its closing one.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLK_TCK : null;
  } catch {
    return null;
  }
}

/** Resident set size in bytes from /proc/PID/status (VmRSS); null when gone. */
export function rssBytes(pid: number | 'self'): number | null {
  try {
    const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Proportional set size in bytes from /proc/PID/smaps_rollup (Linux 4.14+): each resident page
 * divided by the number of processes mapping it, so summed over processes that share pages
 * (Node's own code, say) it counts them once. Null when gone or not available.
 */
export function pssBytes(pid: number | 'self'): number | null {
  try {
    const m = /^Pss:\s*(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU % (100 = one core) between successive samples of one process or thread. */
export class CpuSampler {
  private last: { at: number; cpu: number } | null = null;
  private pct: number | null = null;

  constructor(
    private readonly pid: number | 'self',
    private readonly tid?: number,
  ) {}

  /** Takes a sample; returns the % since the previous one (null on the first or when gone). */
  sample(now = performance.now()): number | null {
    const cpu = cpuSeconds(this.pid, this.tid);
    if (cpu === null) {
      this.last = null;
      this.pct = null;
      return null;
    }
    if (this.last && now > this.last.at) this.pct = Math.max(0, ((cpu - this.last.cpu) / ((now - this.last.at) / 1000)) * 100);
    this.last = { at: now, cpu };
    return this.pct;
  }

  get percent(): number | null {
    return this.pct;
  }
}
