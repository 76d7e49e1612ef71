/**
 * Restart delays: `initialMs`, doubling to `maxMs`; back to `initialMs` once an instance has
 * run `stableMs` without exiting, so a crash a day never waits 30 s.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, stableMs: 60_000 };

export class Backoff {
  private next: number;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.next = opts.initialMs;
  }

  /** The delay before the next restart, given how long the instance ran this time. */
  delay(ranMs: number): number {
    if (ranMs >= this.opts.stableMs) this.next = this.opts.initialMs;
    const d = this.next;
    this.next = Math.min(this.opts.maxMs, this.next * 2);
    return d;
  }
}
