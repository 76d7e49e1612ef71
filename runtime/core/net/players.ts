import { quatFromEulerDeg, type Vec3 } from '../math/vec.js';
import type { PlayerInput } from '../protocol/messages.js';
import { validateEntity } from '../scene/validate.js';
import type { Simulation } from '../sim/simulation.js';

/** Movement tuning; the server is authoritative, clients only send intents. */
export const PLAYER_SPEED = 6;
export const JUMP_SPEED = 5.5;
/** Inputs queued per player; past this the oldest are dropped. */
export const MAX_QUEUED_INPUTS = 32;
/**
 * Sequence numbers the server may stand in for beyond the newest input it received from a
 * player, by repeating the last one (see `Players`); past this the player coasts and the
 * sequence waits for the client.
 */
export const MAX_GUESSED_INPUTS = 6;
/** Inputs a player may keep waiting for a whole INPUT_WINDOW before the surplus is folded away. */
export const MAX_INPUT_BACKLOG = 3;
/** Ticks over which the smallest input backlog is watched. */
export const INPUT_WINDOW = 60;

export interface Player {
  readonly id: number;
  readonly name: string;
  readonly entityId: string;
  /** Sequence number of the last input applied (or stood in for: see `Players`). */
  lastSeq: number;
  readonly queue: PlayerInput[];
}

/** What the controller keeps per player between ticks. */
interface InputState {
  /** The last input applied, repeated when the next one is missing. */
  last: PlayerInput | null;
  /** The newest sequence number received; those above it up to `lastSeq` were stood in for. */
  realSeq: number;
  /** A stood-in input arrived late and unlike its stand-in: the next missing input waits instead (one tick more of buffer). */
  late: boolean;
  /** A late input asked to jump: the next applied input jumps. */
  jump: boolean;
  /** Smallest backlog left after a tick in this window, and ticks into the window. */
  lowWater: number;
  windowTicks: number;
}

const COLORS = ['#e4572e', '#29335c', '#f3a712', '#669bbc', '#a8c686', '#8e44ad', '#16a085', '#d35400'];

/**
 * Players of one simulation: each joins as a dynamic body at a spawn point (round robin) and
 * moves by the inputs it sends, applied in the tick's network-in phase, bounded and validated.
 *
 * A client predicts its own player by applying input n on its own tick n (runtime/browser/net/
 * predictor.ts), so the server applies exactly one input per tick, in sequence order: the
 * position it reports after input n is then the one the client predicted for n. Inputs arrive
 * in bursts (frame hiccups, network jitter, the server's own catch-up ticks), so the queue is a
 * jitter buffer:
 * - an empty queue with an earlier input at hand repeats that input under the next sequence
 *   number (a straight run stays exactly predicted), at most MAX_GUESSED_INPUTS beyond the
 *   newest received; the client's own input for a stood-in number is then stale, except for its
 *   jump, which the next applied input carries. A late input unlike its stand-in makes the next
 *   empty tick wait instead, one tick more of buffer, so a client always a little late stops
 *   being mispredicted;
 * - a backlog that stayed above MAX_INPUT_BACKLOG for a whole INPUT_WINDOW is needless input lag
 *   (a burst after a stall): the surplus is folded into one tick (the newest intent wins, a jump
 *   in any of them counts), which the client corrects once.
 */
export class Players {
  private readonly players = new Map<number, Player>();
  private readonly inputs = new Map<Player, InputState>();
  private nextId = 1;
  private nextSpawn = 0;

  constructor(private readonly sim: Simulation) {
    sim.addSystem('networkIn', 'player-input', () => this.applyInputs());
  }

  get count(): number {
    return this.players.size;
  }

  values(): IterableIterator<Player> {
    return this.players.values();
  }

  /** Spawns a player entity and returns the player. */
  join(name: string): Player {
    const id = this.nextId++;
    const entityId = `player-${id}`;
    const checked = validateEntity(
      {
        id: entityId,
        name: name || entityId,
        tags: ['player'],
        components: {
          transform: { position: this.spawnPosition() },
          mesh: { shape: 'capsule', radius: 0.4, height: 1 },
          material: { color: COLORS[id % COLORS.length] },
          rigidBody: { type: 'dynamic', mass: 70, fixedRotation: true, linearDamping: 0.05, allowSleep: false },
          collider: { shape: 'sphere', radius: 0.5, friction: 0 },
        },
      },
      'player',
    );
    if (!checked.ok) throw new Error(checked.problems.map((p) => p.message).join('; '));
    this.sim.world.add(checked.entity);
    const player: Player = { id, name, entityId, lastSeq: 0, queue: [] };
    this.players.set(id, player);
    this.inputs.set(player, { last: null, realSeq: 0, late: false, jump: false, lowWater: Infinity, windowTicks: 0 });
    return player;
  }

  /** The linear velocity of the player's body (what a snapshot tells its client), or undefined without one. */
  velocityOf(player: Player): Vec3 | undefined {
    return this.sim.physics.hasBody(player.entityId) ? this.sim.physics.getLinearVelocity(player.entityId) : undefined;
  }

  leave(player: Player): void {
    this.players.delete(player.id);
    this.inputs.delete(player);
    this.sim.world.remove(player.entityId);
  }

  /**
   * Queues inputs from the network. Inputs at or below the last applied sequence number are
   * stale and ignored (but for the jump of one the server stood in for); past MAX_QUEUED_INPUTS
   * the oldest are dropped. Returns how many were kept.
   */
  enqueue(player: Player, inputs: readonly PlayerInput[]): number {
    const state = this.inputs.get(player);
    let newest = player.queue.length ? player.queue[player.queue.length - 1]!.seq : player.lastSeq;
    let kept = 0;
    for (const input of inputs) {
      if (state && input.seq > state.realSeq && input.seq <= player.lastSeq) {
        // One the server stood in for: it comes late. Its jump must not be lost; and when the
        // repeat differed from it, the buffer is too shallow to keep predictions right.
        state.realSeq = input.seq;
        const last = state.last;
        if (!last || last.moveX !== input.moveX || last.moveZ !== input.moveZ || last.yaw !== input.yaw) state.late = true;
        if (input.jump) state.jump = true;
        continue;
      }
      if (input.seq <= newest) continue;
      newest = input.seq;
      player.queue.push(input);
      kept++;
    }
    if (player.queue.length > MAX_QUEUED_INPUTS) player.queue.splice(0, player.queue.length - MAX_QUEUED_INPUTS);
    return kept;
  }

  private applyInputs(): void {
    const { physics } = this.sim;
    for (const p of this.players.values()) {
      const entity = this.sim.world.get(p.entityId);
      const state = this.inputs.get(p);
      if (!entity || !state || !physics.hasBody(p.entityId)) continue;
      const input = this.nextInput(p, state);
      if (!input) continue; // coasting: the body keeps its velocity
      let { moveX: x, moveZ: z } = input;
      const len = Math.hypot(x, z);
      if (len > 1) {
        x /= len;
        z /= len;
      }
      const v = physics.getLinearVelocity(p.entityId);
      const jump = input.jump && Math.abs(v[1]) < 0.05;
      const next: Vec3 = [x * PLAYER_SPEED, jump ? JUMP_SPEED : v[1], z * PLAYER_SPEED];
      physics.setLinearVelocity(p.entityId, next);
      const yaw = ((input.yaw % (2 * Math.PI)) * 180) / Math.PI;
      physics.setTransform(p.entityId, entity.position, quatFromEulerDeg([0, yaw, 0]));
    }
  }

  /** The input to apply this tick (one per tick, see the class comment), or null to coast. */
  private nextInput(p: Player, state: InputState): PlayerInput | null {
    let input = p.queue.shift();
    if (!input) {
      if (!state.last || state.late || p.lastSeq - state.realSeq >= MAX_GUESSED_INPUTS) {
        state.late = false;
        this.watchBacklog(p, state, 0);
        return null;
      }
      input = { ...state.last, seq: p.lastSeq + 1, jump: false };
    } else {
      state.realSeq = input.seq;
      const surplus = this.watchBacklog(p, state, p.queue.length);
      if (surplus > 0) {
        const folded = p.queue.splice(0, surplus);
        const jump = input.jump || folded.some((i) => i.jump);
        input = { ...folded[folded.length - 1]!, jump };
        state.realSeq = input.seq;
      }
    }
    if (state.jump) input = { ...input, jump: true };
    state.jump = false;
    state.last = input;
    p.lastSeq = input.seq;
    return input;
  }

  /** Tracks the smallest backlog over INPUT_WINDOW; returns how many inputs to fold away now. */
  private watchBacklog(p: Player, state: InputState, backlog: number): number {
    state.lowWater = Math.min(state.lowWater, backlog);
    if (++state.windowTicks < INPUT_WINDOW) return 0;
    const surplus = state.lowWater > MAX_INPUT_BACKLOG ? Math.min(p.queue.length, state.lowWater - MAX_INPUT_BACKLOG) : 0;
    state.lowWater = Infinity;
    state.windowTicks = 0;
    return surplus;
  }

  private spawnPosition(): Vec3 {
    const spawns = [...this.sim.world.values()].filter((e) => e.components.spawnPoint);
    if (spawns.length === 0) return [0, 2, 0];
    const s = spawns[this.nextSpawn++ % spawns.length]!;
    return [s.position[0], s.position[1] + 0.5, s.position[2]];
  }
}
