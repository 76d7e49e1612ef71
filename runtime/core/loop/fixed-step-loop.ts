import { RollingStats } from './rolling-stats.js';

/** Time source for a loop: milliseconds on a monotonic clock, and a way to wait for a moment. */
export interface Clock {
  now(): number;
  /** Resolves at or after `time` (ms on the same clock as `now`). Resolves at once for a past time. */
  sleepUntil(time: number): Promise<void>;
}

export interface FixedStepLoopOptions {
  tickRate: number;
  clock: Clock;
  /** Runs one tick. Must not throw; wrap with your own error policy. */
  tick(dt: number, tickNumber: number): void;
  /** Ticks run back to back to catch up after an overrun, before the schedule is reset. Default 4. */
  maxCatchUp?: number;
  /** Called after a resynchronisation with the number of ticks dropped. */
  onResync?(droppedTicks: number, behindMs: number): void;
  /** Called after each tick with how late it started after its deadline and how long it ran, ms. */
  onTick?(latenessMs: number, durationMs: number): void;
  /** Ticks kept for the lateness and duration figures. Default 3600 (one minute at 60 Hz). */
  window?: number;
}

export interface LoopStats {
  ticks: number;
  /** Ticks that finished after the next tick was due. */
  overruns: number;
  /** Times the schedule was reset because catch-up could not close the gap. */
  resyncs: number;
  droppedTicks: number;
  /** How late each tick started after its deadline, ms. */
  lateness: RollingStats;
  /** How long each tick ran, ms. */
  duration: RollingStats;
}

/**
 * A fixed-timestep loop scheduled against absolute deadlines (start + n·step), so rounding in
 * the sleeps never accumulates into drift. A tick that ends after the next deadline counts as
 * an overrun and the following ticks run back to back to catch up; past `maxCatchUp` ticks
 * behind, the schedule restarts from now and the dropped ticks are reported, instead of
 * spiralling. The clock is injected: the server sleeps, tests use a manual clock.
 */
export class FixedStepLoop {
  readonly stepMs: number;
  readonly stats: LoopStats;
  private running = false;
  private stopped: Promise<void> | null = null;
  private tickNumber = 0;
  private paused = false;
  /** Ticks asked for by `step` while paused, not yet run. */
  private steps = 0;
  /** Set after a pause: the schedule restarts from now instead of catching up the paused time. */
  private rebase = false;
  /** Wakes the paused loop (a step, a resume, a stop). */
  private wake: (() => void) | null = null;
  /** Waiting for the end of the next scheduled tick (`afterNextTick`). */
  private afterTick: (() => void)[] = [];
  /** When the next scheduled tick is due (clock time), or null while none is (paused, stopped, in a tick). */
  private nextDeadline: number | null = null;
  private readonly opts: Required<Omit<FixedStepLoopOptions, 'onResync' | 'onTick'>> & Pick<FixedStepLoopOptions, 'onResync' | 'onTick'>;

  constructor(opts: FixedStepLoopOptions) {
    if (!(opts.tickRate > 0) || !Number.isFinite(opts.tickRate)) throw new Error(`tick rate must be > 0 (got ${opts.tickRate})`);
    this.opts = { maxCatchUp: 4, window: 3600, ...opts };
    this.stepMs = 1000 / opts.tickRate;
    this.stats = {
      ticks: 0,
      overruns: 0,
      resyncs: 0,
      droppedTicks: 0,
      lateness: new RollingStats(this.opts.window),
      duration: new RollingStats(this.opts.window),
    };
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Number of the next tick to run. */
  get nextTick(): number {
    return this.tickNumber;
  }

  /** Starts ticking; the promise settles when `stop` is called and the current tick is done. */
  start(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.running = true;
    this.stopped = this.run();
    return this.stopped;
  }

  /** Stops after the tick in progress. */
  stop(): Promise<void> {
    this.running = false;
    this.releaseAfterTick();
    this.poke();
    return this.stopped ?? Promise.resolve();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Ticks still to run from `step` calls. */
  get pendingSteps(): number {
    return this.steps;
  }

  /** Stops ticking after the tick in progress until `resume` (or `step`). The tick number holds. */
  pause(): void {
    this.paused = true;
    this.releaseAfterTick();
  }

  /**
   * Resolves just after the next scheduled tick ends, when the most time is left before the one
   * after it: main-thread work that would make a tick late if it ran across a deadline (a scene
   * reload's parse and validation) waits for this. Resolves at once when the loop does not run
   * on its schedule (not started, stopped, paused).
   */
  afterNextTick(): Promise<void> {
    if (!this.running || this.paused) return Promise.resolve();
    return new Promise((r) => this.afterTick.push(r));
  }

  /** Milliseconds until the next scheduled tick is due (0 when due or late); Infinity when none is coming. */
  get msToNextTick(): number {
    if (!this.running || this.paused || this.nextDeadline === null) return Infinity;
    return Math.max(0, this.nextDeadline - this.opts.clock.now());
  }

  private releaseAfterTick(): void {
    for (const r of this.afterTick.splice(0)) r();
  }

  /**
   * While paused, runs `n` more ticks (back to back, at once) and stays paused: the tick number
   * moves by exactly `n`. Throws when not paused.
   */
  step(n = 1): void {
    if (!this.paused) throw new Error('step needs a paused loop; pause it first');
    if (!Number.isInteger(n) || n < 1) throw new Error(`step takes a whole number of ticks >= 1 (got ${n})`);
    this.steps += n;
    this.poke();
  }

  /** Ticks again on the schedule, starting now (the paused time is not caught up). Pending steps are dropped. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.steps = 0;
    this.rebase = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async run(): Promise<void> {
    const { clock, maxCatchUp } = this.opts;
    const step = this.stepMs;
    const dt = step / 1000;
    let origin = clock.now();
    let n = 0; // ticks since origin; deadline of the next tick is origin + n * step
    while (this.running) {
      if (this.paused) {
        if (this.steps === 0) {
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
        this.steps--;
        const t = clock.now();
        this.opts.tick(dt, this.tickNumber++);
        this.stats.ticks++;
        this.stats.duration.push(clock.now() - t);
        // A stepped tick has no deadline: it adds nothing to lateness or overruns.
        continue;
      }
      if (this.rebase) {
        this.rebase = false;
        origin = clock.now();
        n = 0;
      }
      const deadline = origin + n * step;
      this.nextDeadline = deadline;
      await clock.sleepUntil(deadline);
      this.nextDeadline = null;
      if (!this.running) break;
      if (this.paused) continue;
      const started = clock.now();
      this.opts.tick(dt, this.tickNumber++);
      const ended = clock.now();
      const lateness = Math.max(0, started - deadline);
      this.stats.ticks++;
      this.stats.lateness.push(lateness);
      this.stats.duration.push(ended - started);
      this.opts.onTick?.(lateness, ended - started);
      // Their work runs as the loop goes to sleep for the next deadline.
      if (this.afterTick.length > 0) this.releaseAfterTick();
      n++;
      const behind = ended - (origin + n * step);
      if (behind > 0) {
        this.stats.overruns++;
        if (behind > maxCatchUp * step) {
          const dropped = Math.floor(behind / step);
          this.stats.resyncs++;
          this.stats.droppedTicks += dropped;
          origin = ended;
          n = 0;
          this.opts.onResync?.(dropped, behind);
        }
      }
    }
  }
}
