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
const SLOT_COUNT = 8;

/** Lifecycle as the health endpoints see it. */
export const HealthState = { starting: 0, ready: 1, draining: 2, stopped: 3 } as const;
export type HealthState = (typeof HealthState)[keyof typeof HealthState];
export const HEALTH_STATE_NAMES = ['starting', 'ready', 'draining', 'stopped'] as const;

export class Heartbeat {
  readonly cells: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOT_COUNT * 4)) {
    this.cells = new Int32Array(buffer);
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
    Atomics.add(c, HEARTBEAT_SLOTS.beat, 1);
  }

  setState(state: HealthState): void {
    Atomics.store(this.cells, HEARTBEAT_SLOTS.state, state);
  }

  read(): { beat: number; tick: number; state: HealthState; players: number; entities: number } {
    const c = this.cells;
    return {
      beat: Atomics.load(c, HEARTBEAT_SLOTS.beat),
      tick: Atomics.load(c, HEARTBEAT_SLOTS.tick),
      state: Atomics.load(c, HEARTBEAT_SLOTS.state) as HealthState,
      players: Atomics.load(c, HEARTBEAT_SLOTS.players),
      entities: Atomics.load(c, HEARTBEAT_SLOTS.entities),
    };
  }
}
