import { performance } from 'node:perf_hooks';
import type { Clock } from '../core/index.js';

/** Below this many ms before a deadline, stop using timers and block precisely instead. */
const PRECISE_WINDOW_MS = 2;

/**
 * The server's clock: sleeps until an absolute deadline without spinning. Node timers have
 * millisecond granularity and often fire a millisecond late, so the clock sleeps on a timer
 * until about 2 ms before the deadline (the event loop stays free for sockets meanwhile),
 * then blocks the thread in `Atomics.wait` for the remainder, which the kernel ends within
 * tens of microseconds. The thread is asleep either way: no busy wait.
 *
 * The timer is set in whole milliseconds: Node arms libuv with the truncated value and, when a
 * fractional timeout comes due a fraction early, re-arms it for one more millisecond, which
 * would wake the thread a third time per tick. Each wake costs CPU on an idle server.
 */
export function createSleepClock(): Clock {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return {
    now: () => performance.now(),
    sleepUntil(deadline: number): Promise<void> {
      return new Promise((resolve) => {
        const wait = (): void => {
          const remaining = deadline - performance.now();
          if (remaining <= 0) return resolve();
          // A whole-ms timer fires up to ~1 ms after its time: what is left then (at most
          // PRECISE_WINDOW_MS + 1) goes to the precise wait, never to a second timer.
          if (remaining > PRECISE_WINDOW_MS + 1) {
            setTimeout(wait, Math.floor(remaining - PRECISE_WINDOW_MS));
            return;
          }
          Atomics.wait(cell, 0, 0, remaining);
          resolve();
        };
        wait();
      });
    },
  };
}
