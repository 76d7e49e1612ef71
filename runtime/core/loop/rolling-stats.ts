/** A fixed-size window of samples with percentiles; no allocation per sample. */
export class RollingStats {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;
  private count = 0;
  private maxSeen = -Infinity;

  constructor(capacity: number) {
    this.samples = new Float64Array(Math.max(1, capacity));
  }

  push(value: number): void {
    this.samples[this.next] = value;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
    this.total += value;
    this.count++;
    if (value > this.maxSeen) this.maxSeen = value;
  }

  /** Samples ever pushed. */
  get n(): number {
    return this.count;
  }

  /** Mean over all samples ever pushed. */
  get mean(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  /** Largest sample ever pushed. */
  get max(): number {
    return this.count === 0 ? 0 : this.maxSeen;
  }

  /** Percentile (0..100) over the window, nearest-rank. */
  percentile(p: number): number {
    if (this.filled === 0) return 0;
    const sorted = this.samples.slice(0, this.filled).sort();
    const rank = Math.min(this.filled - 1, Math.max(0, Math.ceil((p / 100) * this.filled) - 1));
    return sorted[rank]!;
  }
}
