/**
 * Whether the instance's ticks keep failing, as readiness sees it. A tick that throws past
 * every fence (an engine bug, a broken replication step) is counted and the loop keeps going,
 * but an instance whose ticks fail is not serving its players: /readyz answers 503 with the
 * reason from the first failure until `clearAfterTicks` ticks in a row have succeeded.
 */
export class TickFailures {
  /** Ticks that threw since start (`keel_tick_errors_total`). */
  total = 0;
  private okStreak = 0;
  private problem: string | null = null;

  constructor(
    private readonly opts: {
      /** Successful ticks in a row after which the instance counts as recovered. */
      clearAfterTicks: number;
      /** Called with the reason when ticks start failing, and with null once they stop. */
      onChange(problem: string | null): void;
    },
  ) {}

  /** Records one tick: `err` is what it threw, or undefined when it completed. */
  record(tick: number, err?: unknown): void {
    if (err === undefined) {
      if (this.problem === null) return;
      if (++this.okStreak < this.opts.clearAfterTicks) return;
      this.problem = null;
      this.opts.onChange(null);
      return;
    }
    this.total++;
    this.okStreak = 0;
    if (this.problem !== null) return;
    const message = err instanceof Error ? err.message : String(err);
    this.problem = `ticks failing since tick ${tick}: ${message.slice(0, 200)}`;
    this.opts.onChange(this.problem);
  }

  /** The current reason, or null while ticks succeed. */
  get failing(): string | null {
    return this.problem;
  }
}
