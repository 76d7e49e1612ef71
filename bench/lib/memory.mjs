/**
 * Memory of processes from /proc/PID/smaps_rollup (Linux 4.14+).
 *
 * Exports:
 *   smapsRollup(pid)  { rssKiB, pssKiB, pssAnonKiB, pssFileKiB, privateKiB, sharedKiB } of one
 *                     process, or null when it is gone or the file cannot be read.
 *                     PSS (proportional set size) counts each resident page divided by the number
 *                     of processes mapping it, so summed over a group of processes it counts the
 *                     group's shared pages (Node's own code, a file both read) once, where summed
 *                     RSS counts them once per process.
 *   memoryOf(pids)    Sums smapsRollup over pids: { rssKiB, pssKiB, pssAnonKiB, pssFileKiB,
 *                     processes (how many could be read), missing (pids that could not) }.
 *   smapsAvailable()  True when this system has /proc/self/smaps_rollup.
 *   MiB(kib)          KiB to MiB (a number).
 */
import { existsSync, readFileSync } from 'node:fs';

/** @param {number} pid */
export function smapsRollup(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return null;
  }
  /** @param {string} field */
  const kib = (field) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const rssKiB = kib('Rss');
  if (rssKiB === 0) return null; // a zombie maps nothing
  return {
    rssKiB,
    pssKiB: kib('Pss'),
    pssAnonKiB: kib('Pss_Anon'),
    pssFileKiB: kib('Pss_File'),
    privateKiB: kib('Private_Clean') + kib('Private_Dirty'),
    sharedKiB: kib('Shared_Clean') + kib('Shared_Dirty'),
  };
}

/** @param {Iterable<number>} pids */
export function memoryOf(pids) {
  const total = { rssKiB: 0, pssKiB: 0, pssAnonKiB: 0, pssFileKiB: 0, processes: 0, missing: /** @type {number[]} */ ([]) };
  for (const pid of pids) {
    const m = smapsRollup(pid);
    if (!m) {
      total.missing.push(pid);
      continue;
    }
    total.rssKiB += m.rssKiB;
    total.pssKiB += m.pssKiB;
    total.pssAnonKiB += m.pssAnonKiB;
    total.pssFileKiB += m.pssFileKiB;
    total.processes++;
  }
  return total;
}

export const smapsAvailable = () => existsSync('/proc/self/smaps_rollup');

/** @param {number} kib */
export const MiB = (kib) => kib / 1024;
