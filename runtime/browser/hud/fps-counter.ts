/** Length of the window frames are counted over, ms. */
export const FPS_WINDOW_MS = 1000;
/**
 * A frame this close to the window's far edge counts as outside: at a display's exact rate a
 * frame falls right on the edge every time, and clock jitter would make the reading flicker by one.
 */
const EDGE_MS = 1;

/**
 * Frames per second as frames counted over the last second: a whole number that holds still
 * while the frame rate does (an average of per-frame rates jitters with every uneven frame).
 * Until a second has passed it scales the frames seen so far to a second.
 */
export class FpsCounter {
  /** Frame times inside the window, oldest first, in a ring. */
  private times: Float64Array;
  private start = 0;
  private count = 0;
  private first: number | null = null;
  private last = 0;

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity);
  }

  /** Counts a frame drawn at `nowMs`. */
  frame(nowMs: number): void {
    this.first ??= nowMs;
    this.last = nowMs;
    this.expire(nowMs);
    if (this.count === this.times.length) this.grow();
    this.times[(this.start + this.count) % this.times.length] = nowMs;
    this.count++;
  }

  /** Frames per second as of the last frame counted: frames in the last FPS_WINDOW_MS. */
  get fps(): number {
    if (this.first === null) return 0;
    const span = this.last - this.first;
    if (span >= FPS_WINDOW_MS) return this.count;
    // Less than a window of history: the frames so far, intervals between them, per second.
    return span > 0 ? Math.round(((this.count - 1) * 1000) / span) : 0;
  }

  private expire(nowMs: number): void {
    while (this.count > 0 && this.times[this.start]! <= nowMs - FPS_WINDOW_MS + EDGE_MS) {
      this.start = (this.start + 1) % this.times.length;
      this.count--;
    }
  }

  private grow(): void {
    const next = new Float64Array(this.times.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.times[(this.start + i) % this.times.length]!;
    this.times = next;
    this.start = 0;
  }
}
