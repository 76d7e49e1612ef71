import { quatFromEulerDeg, type Vec3 } from '../math/vec.js';
import type { PlayerInput } from '../protocol/messages.js';
import { validateEntity } from '../scene/validate.js';
import type { Simulation } from '../sim/simulation.js';

/** Movement tuning; the server is authoritative, clients only send intents. */
export const PLAYER_SPEED = 6;
export const JUMP_SPEED = 5.5;
/** Inputs applied per player per tick; more wait for the next tick. */
export const MAX_INPUTS_PER_TICK = 4;
/** Inputs queued per player; past this the oldest are dropped. */
export const MAX_QUEUED_INPUTS = 32;

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

const COLORS = ['#e4572e', '#29335c', '#f3a712', '#669bbc', '#a8c686', '#8e44ad', '#16a085', '#d35400'];

/**
 * Players of one simulation: each joins as a dynamic body at a spawn point (round robin) and
 * moves by the inputs it sends, applied in the tick's network-in phase, bounded and validated.
 */
export class Players {
  private readonly players = new Map<number, Player>();
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
    return player;
  }

  leave(player: Player): void {
    this.players.delete(player.id);
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
      if (!entity || !physics.hasBody(p.entityId) || p.queue.length === 0) continue;
      const batch = p.queue.splice(0, MAX_INPUTS_PER_TICK);
      const input = batch[batch.length - 1]!; // the newest intent wins within a tick
      p.lastSeq = input.seq;
      let { moveX: x, moveZ: z } = input;
      const len = Math.hypot(x, z);
      if (len > 1) {
        x /= len;
        z /= len;
      }
      const v = physics.getLinearVelocity(p.entityId);
      const jump = batch.some((i) => i.jump) && Math.abs(v[1]) < 0.05;
      const next: Vec3 = [x * PLAYER_SPEED, jump ? JUMP_SPEED : v[1], z * PLAYER_SPEED];
      physics.setLinearVelocity(p.entityId, next);
      const yaw = ((input.yaw % (2 * Math.PI)) * 180) / Math.PI;
      physics.setTransform(p.entityId, entity.position, quatFromEulerDeg([0, yaw, 0]));
    }
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
