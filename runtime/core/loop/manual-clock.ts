import type { Clock } from './fixed-step-loop.js';

/**
 * Virtual time for deterministic tests: `sleepUntil` jumps the clock forward instead of
 * waiting, and `advance` lets a tick pretend to take time.
 */
export class ManualClock implements Clock {
  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleepUntil(time: number): Promise<void> {
    if (time > this.t) this.t = time;
  }
}
