import { performance } from 'node:perf_hooks';

/**
 * The shared memory between an instance's game loop and its health worker. The loop writes
 * with Atomics each tick; the worker reads on its own thread, so it still answers (and
 * notices the stall) while the loop's thread is stuck.
 */
export const HEARTBEAT_SLOTS = {
  /** Bumped by every tick (wraps at 2^31; only change matters). */
  beat: 0,
  /** Ticks run, low 31 bits; the worker reports it. */
  tick: 1,
  state: 2,
  players: 3,
  entities: 4,
  /** 99th percentile of recent tick durations, in microseconds (see TICK_WINDOW). */
  tickP99Us: 5,
} as const;
/** Tick durations the p99 is taken over; it is recomputed every TICK_WINDOW / 4 ticks. */
const TICK_WINDOW = 240;
const INT_SLOTS = 8;
/** Bytes: the int slots, then one float64 with the time of the last beat (epoch ms, sub-ms precise). */
const BYTES = INT_SLOTS * 4 + 8;

/** Epoch milliseconds with sub-millisecond precision, comparable across threads of one process. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Lifecycle as the health endpoints see it. */
export const HealthState = { starting: 0, ready: 1, draining: 2, stopped: 3 } as const;
export type HealthState = (typeof HealthState)[keyof typeof HealthState];
export const HEALTH_STATE_NAMES = ['starting', 'ready', 'draining', 'stopped'] as const;

export class Heartbeat {
  readonly cells: Int32Array;
  private readonly at: Float64Array;
  /** Recent tick durations (ms), kept on the loop's thread only. */
  private readonly durations = new Float64Array(TICK_WINDOW);
  private samples = 0;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.cells = new Int32Array(buffer, 0, INT_SLOTS);
    this.at = new Float64Array(buffer, INT_SLOTS * 4, 1);
  }

  get buffer(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }

  /** Called by the loop after each tick, with how long the tick took when known. */
  beat(tick: number, players: number, entities: number, tickMs?: number): void {
    const c = this.cells;
    Atomics.store(c, HEARTBEAT_SLOTS.tick, tick & 0x7fffffff);
    Atomics.store(c, HEARTBEAT_SLOTS.players, players);
    Atomics.store(c, HEARTBEAT_SLOTS.entities, entities);
    if (tickMs !== undefined) this.recordDuration(tickMs);
    this.stamp();
  }

  private recordDuration(ms: number): void {
    this.durations[this.samples % TICK_WINDOW] = ms;
    this.samples++;
    if (this.samples % (TICK_WINDOW / 4) !== 0 && this.samples !== 1) return;
    const n = Math.min(this.samples, TICK_WINDOW);
    const sorted = this.durations.slice(0, n).sort();
    const p99 = sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)]!;
    Atomics.store(this.cells, HEARTBEAT_SLOTS.tickP99Us, Math.min(0x7fffffff, Math.round(p99 * 1000)));
  }

  /** A state change also counts as a beat: the stall clock restarts from it. */
  setState(state: HealthState): void {
    Atomics.store(this.cells, HEARTBEAT_SLOTS.state, state);
    this.stamp();
  }

  private stamp(): void {
    // Float64 has no Atomics; the Atomics.add after the plain store publishes it (a full barrier),
    // and the reader loads `beat` with Atomics before reading the time.
    this.at[0] = epochNow();
    Atomics.add(this.cells, HEARTBEAT_SLOTS.beat, 1);
  }

  read(): { beat: number; tick: number; state: HealthState; players: number; entities: number; lastBeatAt: number; tickP99Ms: number } {
    const c = this.cells;
    const beat = Atomics.load(c, HEARTBEAT_SLOTS.beat);
    return {
      beat,
      lastBeatAt: this.at[0]!,
      tick: Atomics.load(c, HEARTBEAT_SLOTS.tick),
      state: Atomics.load(c, HEARTBEAT_SLOTS.state) as HealthState,
      players: Atomics.load(c, HEARTBEAT_SLOTS.players),
      entities: Atomics.load(c, HEARTBEAT_SLOTS.entities),
      tickP99Ms: Atomics.load(c, HEARTBEAT_SLOTS.tickP99Us) / 1000,
    };
  }
}
