/**
 * Turns variable frame times into fixed simulation ticks: an accumulator that runs 0..n ticks
 * per frame, clamped so a long frame (a background tab, a debugger pause) costs at most
 * `maxTicksPerFrame` ticks instead of a spiral. The remainder (`alpha`) says how far the frame
 * lies between the last tick and the next, for smoothing.
 */
export class FrameStepper {
  readonly stepMs: number;
  private acc = 0;
  private last: number | null = null;
  tick = 0;

  constructor(
    tickRate: number,
    private readonly maxTicksPerFrame = 5,
  ) {
    this.stepMs = 1000 / tickRate;
  }

  /** Fraction of a step elapsed since the last tick, 0..1. */
  get alpha(): number {
    return this.acc / this.stepMs;
  }

  /** Advances to `nowMs` and calls `step` once per due tick; returns how many ran. */
  advance(nowMs: number, step: (dt: number, tick: number) => void): number {
    if (this.last === null) this.last = nowMs;
    this.acc += Math.max(0, nowMs - this.last);
    this.last = nowMs;
    let n = 0;
    // The epsilon keeps 3 × (1000/60) ms from counting as 2 ticks after rounding.
    while (this.acc + 1e-9 >= this.stepMs && n < this.maxTicksPerFrame) {
      this.acc = Math.max(0, this.acc - this.stepMs);
      step(this.stepMs / 1000, ++this.tick);
      n++;
    }
    if (n === this.maxTicksPerFrame && this.acc >= this.stepMs) this.acc = 0; // drop the backlog
    return n;
  }
}
