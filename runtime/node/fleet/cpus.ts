import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPU lists in the kernel's syntax (`0-3`, `0,2,4`, `0-1,6`), as `taskset -c` takes them and
 * `Cpus_allowed_list` in /proc/PID/status shows them.
 *
 * Node has no binding for sched_setaffinity(2) and an addon is not worth a dependency, so
 * pinning runs util-linux `taskset`: `taskset -a -p -c LIST PID` sets the mask of every thread
 * of a process, `taskset -p -c LIST TID` that of one thread.
 */

/** Parses a list; returns the sorted, distinct CPU numbers, or a reason it is not a list. */
export function parseCpuList(text: string): number[] | string {
  const s = text.trim();
  if (s === '') return 'is empty';
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?$/.exec(part);
    if (!m) return `"${part}" is not a CPU number or range (use 0-3 or 0,2,4)`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `range ${part.trim()} runs backwards`;
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The shortest kernel-syntax form of a set of CPUs: [0,1,2,5] → "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The CPUs this process may run on: its own `Cpus_allowed_list` (a container or an outer
 * taskset may have narrowed it), else 0..availableParallelism-1.
 */
export function allowedCpus(): number[] {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) {
      const list = parseCpuList(m[1]!);
      if (typeof list !== 'string' && list.length > 0) return list;
    }
  } catch {
    /* not Linux */
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

/** Checks a parsed list against the CPUs this process may use; returns a reason when it does not fit. */
export function checkCpus(list: readonly number[], allowed: readonly number[] = allowedCpus()): string | null {
  const bad = list.filter((c) => !allowed.includes(c));
  if (bad.length === 0) return null;
  return `CPU${bad.length > 1 ? 's' : ''} ${formatCpuList(bad)} not available (this process may use ${formatCpuList(allowed)})`;
}

/**
 * One CPU set per instance. With as many CPUs as instances or more, each instance gets a share
 * of its own (`0-3` over 2 instances: `0-1`, `2-3`); with fewer, instances take the CPUs in turn
 * (`0-1` over 3 instances: `0`, `1`, `0`).
 */
export function spreadCpus(count: number, cpus: readonly number[]): number[][] {
  const out: number[][] = [];
  if (cpus.length >= count) {
    const per = Math.floor(cpus.length / count);
    const extra = cpus.length % count;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const n = per + (i < extra ? 1 : 0);
      out.push(cpus.slice(at, at + n));
      at += n;
    }
  } else {
    for (let i = 0; i < count; i++) out.push([cpus[i % cpus.length]!]);
  }
  return out;
}

/** Resolves null when `taskset` runs here, else why not. */
export function tasksetAvailable(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('taskset', ['--version'], { timeout: 5000 }, (err) => resolve(err ? `taskset (util-linux) is not available: ${err.message}` : null));
  });
}

/**
 * Pins a process (every thread it has now: `-a`) or, with `allThreads` false, one thread by its
 * TID. Threads created later inherit the mask of the thread that creates them.
 */
export function pin(id: number, cpus: readonly number[], allThreads = true): Promise<void> {
  const args = [...(allThreads ? ['-a'] : []), '-p', '-c', formatCpuList(cpus), String(id)];
  return new Promise((resolve, reject) => {
    execFile('taskset', args, { timeout: 5000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`taskset ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** The CPUs a process or thread may run on now, from /proc; null when it cannot be read. */
export function cpusOf(pid: number, tid?: number): string | null {
  try {
    const file = tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`;
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
