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
} as const;
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

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.cells = new Int32Array(buffer, 0, INT_SLOTS);
    this.at = new Float64Array(buffer, INT_SLOTS * 4, 1);
  }

  get buffer(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }

  /** Called by the loop after each tick. */
  beat(tick: number, players: number, entities: number): void {
    const c = this.cells;
    Atomics.store(c, HEARTBEAT_SLOTS.tick, tick & 0x7fffffff);
    Atomics.store(c, HEARTBEAT_SLOTS.players, players);
    Atomics.store(c, HEARTBEAT_SLOTS.entities, entities);
    this.stamp();
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

  read(): { beat: number; tick: number; state: HealthState; players: number; entities: number; lastBeatAt: number } {
    const c = this.cells;
    const beat = Atomics.load(c, HEARTBEAT_SLOTS.beat);
    return {
      beat,
      lastBeatAt: this.at[0]!,
      tick: Atomics.load(c, HEARTBEAT_SLOTS.tick),
      state: Atomics.load(c, HEARTBEAT_SLOTS.state) as HealthState,
      players: Atomics.load(c, HEARTBEAT_SLOTS.players),
      entities: Atomics.load(c, HEARTBEAT_SLOTS.entities),
    };
  }
}
