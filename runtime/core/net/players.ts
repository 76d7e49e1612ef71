import { quatFromEulerDeg, type Vec3 } from '../math/vec.js';
import type { PlayerInput } from '../protocol/messages.js';
import { validateEntity } from '../scene/validate.js';
import type { Simulation } from '../sim/simulation.js';

/** Movement tuning; the server is authoritative, clients only send intents. */
export const PLAYER_SPEED = 6;
export const JUMP_SPEED = 5.5;
/** Inputs queued per player; past this the oldest are dropped. */
export const MAX_QUEUED_INPUTS = 32;
/** Inputs a player may keep waiting for a whole INPUT_WINDOW before the surplus is worked off. */
export const MAX_INPUT_BACKLOG = 3;
/** Ticks over which the smallest input backlog is watched. */
export const INPUT_WINDOW = 60;

export interface Player {
  readonly id: number;
  readonly name: string;
  readonly entityId: string;
  /** Sequence number of the last input applied. */
  lastSeq: number;
  readonly queue: PlayerInput[];
  /** The spawn point entity it was (last) placed at, or null when the scene had none. */
  spawnPoint: string | null;
}

/** A player moved because the spawn point it spawned at left the world. */
export interface Respawn {
  player: Player;
  /** The spawn point that is gone. */
  from: string;
  /** Where it went: another spawn point, or null for the default spot (no spawn point left). */
  to: string | null;
  position: Vec3;
}

/** What the controller keeps per player between ticks. */
interface InputState {
  /** Smallest backlog left after a tick in this window, and ticks into the window. */
  lowWater: number;
  windowTicks: number;
  /** Inputs still to work off two to a tick. */
  surplus: number;
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
 * - a tick with no input queued holds the player's horizontal motion (as an input of no
 *   movement would; it keeps falling): the inputs still cover the same ground, one tick each,
 *   so a straight run, a turn or a stall costs the prediction nothing, and the queue is one
 *   input deeper from then on, riding out jitter of that size;
 * - a backlog that stayed above MAX_INPUT_BACKLOG for a whole INPUT_WINDOW is needless input lag
 *   (a burst after a stall): the surplus is worked off two inputs to a tick, their moves added
 *   (twice the ground in one tick, so on open ground the position after each pair is the one
 *   predicted; the newest look wins, a jump in either counts).
 */
export class Players {
  private readonly players = new Map<number, Player>();
  private readonly inputs = new Map<Player, InputState>();
  private nextId = 1;
  private nextSpawn = 0;

  /**
   * `attach: false` leaves adding {@link step} as a system to the caller (`PlayersPlugin`
   * does, under the name `player-input`); by default the constructor adds it to networkIn.
   */
  constructor(
    private readonly sim: Simulation,
    opts: { attach?: boolean } = {},
  ) {
    if (opts.attach ?? true) sim.addSystem('networkIn', 'player-input', () => this.applyInputs());
  }

  /** The controller, once per tick: applies the players' queued inputs (`PlayersPlugin` runs it as `player-input`). */
  step(): void {
    this.applyInputs();
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
    const spawn = this.nextSpawnPoint();
    const checked = validateEntity(
      {
        id: entityId,
        name: name || entityId,
        tags: ['player'],
        components: {
          transform: { position: spawn.position },
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
    const player: Player = { id, name, entityId, lastSeq: 0, queue: [], spawnPoint: spawn.id };
    this.players.set(id, player);
    this.inputs.set(player, { lowWater: Infinity, windowTicks: 0, surplus: 0 });
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
   * stale and ignored; past MAX_QUEUED_INPUTS the oldest are dropped. Returns how many were kept.
   */
  enqueue(player: Player, inputs: readonly PlayerInput[]): number {
    let newest = player.queue.length ? player.queue[player.queue.length - 1]!.seq : player.lastSeq;
    let kept = 0;
    for (const input of inputs) {
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
      const inputs = this.nextInputs(p, state);
      const v = physics.getLinearVelocity(p.entityId);
      if (inputs.length === 0) {
        // Nothing to apply: hold still on the ground plane, as the client's prediction did not move it this tick.
        if (v[0] !== 0 || v[2] !== 0) physics.setLinearVelocity(p.entityId, [0, v[1], 0]);
        continue;
      }
      // One input, or two while catching up: their moves add up, so the tick covers the ground of both.
      let vx = 0;
      let vz = 0;
      let jump = false;
      for (const input of inputs) {
        let { moveX: x, moveZ: z } = input;
        const len = Math.hypot(x, z);
        if (len > 1) {
          x /= len;
          z /= len;
        }
        vx += x * PLAYER_SPEED;
        vz += z * PLAYER_SPEED;
        jump ||= input.jump;
      }
      const input = inputs[inputs.length - 1]!;
      p.lastSeq = input.seq;
      const next: Vec3 = [vx, jump && Math.abs(v[1]) < 0.05 ? JUMP_SPEED : v[1], vz];
      physics.setLinearVelocity(p.entityId, next);
      const yaw = ((input.yaw % (2 * Math.PI)) * 180) / Math.PI;
      physics.setTransform(p.entityId, entity.position, quatFromEulerDeg([0, yaw, 0]));
    }
  }

  /** The inputs to apply this tick: none, one, or two while working off a surplus (see the class comment). */
  private nextInputs(p: Player, state: InputState): PlayerInput[] {
    const backlog = Math.max(0, p.queue.length - 1);
    state.lowWater = Math.min(state.lowWater, backlog);
    if (++state.windowTicks >= INPUT_WINDOW) {
      if (state.lowWater > MAX_INPUT_BACKLOG) state.surplus = state.lowWater - MAX_INPUT_BACKLOG;
      state.lowWater = Infinity;
      state.windowTicks = 0;
    }
    if (state.surplus > 0 && p.queue.length >= 2) {
      state.surplus--;
      return p.queue.splice(0, 2);
    }
    return p.queue.splice(0, 1);
  }

  /**
   * After a live reload: each player whose spawn point is no longer in the world (removed, or
   * no longer a spawn point) is placed at another one, at rest; everyone else stays where they
   * are. Returns who moved.
   */
  respawnOrphans(): Respawn[] {
    const moved: Respawn[] = [];
    const { world, physics } = this.sim;
    for (const p of this.players.values()) {
      if (p.spawnPoint === null || world.get(p.spawnPoint)?.components.spawnPoint) continue;
      const entity = world.get(p.entityId);
      if (!entity) continue;
      const from = p.spawnPoint;
      const spawn = this.nextSpawnPoint();
      p.spawnPoint = spawn.id;
      world.setPose(entity, [...spawn.position]);
      if (physics.hasBody(p.entityId)) {
        physics.setTransform(p.entityId, spawn.position, entity.rotation);
        physics.setLinearVelocity(p.entityId, [0, 0, 0]);
      }
      moved.push({ player: p, from, to: spawn.id, position: [...spawn.position] });
    }
    return moved;
  }

  /** The next spawn point, round robin, and the spot above it a player stands at. */
  private nextSpawnPoint(): { id: string | null; position: Vec3 } {
    const spawns = [...this.sim.world.values()].filter((e) => e.components.spawnPoint);
    if (spawns.length === 0) return { id: null, position: [0, 2, 0] };
    const s = spawns[this.nextSpawn++ % spawns.length]!;
    return { id: s.id, position: [s.position[0], s.position[1] + 0.5, s.position[2]] };
  }
}
