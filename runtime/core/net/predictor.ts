import type { Quat, Vec3 } from '../math/vec.js';
import type { SceneDocument } from '../scene/schema.js';
import type { HeightfieldData } from '../physics/heightfield.js';
import { POSITION_SCALE, type PlayerInput } from '../protocol/messages.js';
import { RunMode } from '../run-mode.js';
import { silentLogger } from '../log.js';
import { Simulation } from '../sim/simulation.js';
import { Players, type Player } from './players.js';

/** A correction at least this large (metres) moves the drawn player at once instead of easing. */
export const SNAP_DISTANCE = 2;
/** Rate at which a small correction is eased out of the drawn position, 1/s (≈ 90 % in 0.23 s). */
export const SMOOTHING_RATE = 10;
/** Inputs remembered for reconciliation and replay (4 s at 60 Hz). */
const HISTORY = 256;
/** Snapshots round positions to 1/POSITION_SCALE m: a prediction within half of that per axis agrees with the server. */
const WIRE_TOLERANCE = 0.5 / POSITION_SCALE + 1e-9;
/** Velocities travel as f32: closer than this (m/s) they agree. */
const VELOCITY_TOLERANCE = 1e-3;

/** One reconciliation: the input acknowledged, the prediction's error for it and the no-prediction lag, metres. */
export interface Reconciliation {
  seq: number;
  error: number;
  lag: number;
}

/**
 * Client-side prediction of the own player. The player runs in a local simulation of the
 * scene's static geometry through the same `Players` controller as on the server, one input
 * per tick; each input is remembered with the position and velocity it led to.
 *
 * Reconciliation: a snapshot says which input the server applied last (`inputSeq`) and where
 * the player was then, and how fast it moved. When that differs from what was predicted for
 * that input, the body is put at the server's position with the server's velocity and every
 * later input is replayed on top of it, so the prediction continues from the server's state. The difference
 * between the old and the new prediction becomes a visual offset that decays at
 * SMOOTHING_RATE, so small corrections never snap; corrections past SNAP_DISTANCE (a teleport,
 * a respawn) apply at once.
 */
export class Predictor {
  private readonly inputs: (PlayerInput | null)[] = new Array<PlayerInput | null>(HISTORY).fill(null);
  /** Per remembered input: position x, y, z and velocity x, y, z after it. */
  private readonly state = new Float64Array(HISTORY * 6);
  private head = 0;
  private count = 0;
  /** Sequence numbers inside the local simulation: replays reuse inputs under fresh numbers. */
  private localSeq = 0;
  private dt = 1 / 60;
  /** Visual offset still to ease out, metres. */
  private readonly offset: Vec3 = [0, 0, 0];
  private readonly drawn: Vec3 = [0, 0, 0];
  private placed = false;
  /**
   * Each reconciliation (the benchmark reads them): the input acknowledged, the error found for
   * it in metres, and how far the server's position lay from the newest prediction (what a
   * client drawing the server's state instead of predicting would be off by).
   */
  readonly log: Reconciliation[] = [];

  /**
   * Predicts `player` in `sim`, a simulation that holds only what never moves besides it
   * (`predictionScene`): every body in it is the player's to push. `players` is the controller;
   * its `step` runs as the `player-input` system, or in `step` and replays here.
   */
  constructor(
    readonly sim: Simulation,
    private readonly players: Players,
    private readonly player: Player,
  ) {}

  /** A predictor with a simulation of its own, advanced by `step` (tests, tools). */
  static forScene(scene: SceneDocument, heightfields: ReadonlyMap<string, HeightfieldData>): Predictor {
    const sim = new Simulation({ scene: predictionScene(scene), mode: RunMode.Client, logger: silentLogger(), heightfields, defaultSystems: false });
    const players = new Players(sim, { attach: false });
    return new Predictor(sim, players, players.join(''));
  }

  /** Whether the body has been put where the server says it is. */
  get ready(): boolean {
    return this.placed;
  }

  /** Puts the body at the server's position (on join and after a respawn), at rest unless `velocity` says otherwise. */
  place(position: Readonly<Vec3>, velocity: Readonly<Vec3> = [0, 0, 0]): void {
    this.setBody(position, [velocity[0], velocity[1], velocity[2]]);
    this.offset[0] = this.offset[1] = this.offset[2] = 0;
    this.count = 0;
    this.placed = true;
  }

  /** Queues `input` for the controller's next step (under a local number: replays reuse inputs). */
  enqueue(input: PlayerInput): void {
    this.players.enqueue(this.player, [{ ...input, seq: ++this.localSeq }]);
  }

  /** After the tick of `dt` that applied `input`: remembers where it left the player. */
  record(input: PlayerInput, dt: number): void {
    this.dt = dt;
    const at = this.head;
    this.inputs[at] = input;
    this.remember(at);
    this.head = (this.head + 1) % HISTORY;
    this.count = Math.min(HISTORY, this.count + 1);
  }

  /** Applies one input for one tick (the controller, then physics) and remembers where it left the player. */
  step(input: PlayerInput, dt: number): void {
    this.enqueue(input);
    this.advance(dt);
    this.record(input, dt);
  }

  /** The player's velocity in the prediction, m/s (a copy). */
  get velocity(): Vec3 {
    const v = this.sim.physics.getLinearVelocity(this.player.entityId);
    return [v[0], v[1], v[2]];
  }

  /** The player's vertical velocity in the prediction, m/s. */
  get velocityY(): number {
    return this.sim.physics.getLinearVelocity(this.player.entityId)[1];
  }

  /**
   * Reconciles with the server's position (and velocity, when known) of the player after input
   * `seq`; returns the position error in metres, or null when that input's prediction is no
   * longer (or not yet) remembered.
   */
  reconcile(seq: number, server: Readonly<Vec3>, velocity?: Readonly<Vec3>): number | null {
    if (!this.placed) return null;
    let found = -1;
    let k = 0;
    for (; k < this.count; k++) {
      const i = (this.head - 1 - k + HISTORY) % HISTORY;
      const input = this.inputs[i];
      if (!input || input.seq < seq) break;
      if (input.seq === seq) {
        found = i;
        break;
      }
    }
    if (found < 0) return null;
    const st = this.state;
    const o = found * 6;
    const dx = server[0] - st[o]!;
    const dy = server[1] - st[o + 1]!;
    const dz = server[2] - st[o + 2]!;
    const error = Math.hypot(dx, dy, dz);
    const now = this.position;
    this.log.push({ seq, error, lag: Math.hypot(server[0] - now[0], server[1] - now[1], server[2] - now[2]) });
    if (this.log.length > 4096) this.log.splice(0, 2048);
    // Inputs up to `seq` are settled: forget them.
    this.count = k;
    // Within the wire's rounding the prediction is the server's: keep its unrounded state.
    const sameVelocity = !velocity || Math.hypot(velocity[0] - st[o + 3]!, velocity[1] - st[o + 4]!, velocity[2] - st[o + 5]!) < VELOCITY_TOLERANCE;
    if (sameVelocity && Math.abs(dx) <= WIRE_TOLERANCE && Math.abs(dy) <= WIRE_TOLERANCE && Math.abs(dz) <= WIRE_TOLERANCE) return error;
    const before = this.position;
    const bx = before[0] + this.offset[0];
    const by = before[1] + this.offset[1];
    const bz = before[2] + this.offset[2];
    this.setBody(server, velocity ? [velocity[0], velocity[1], velocity[2]] : [st[o + 3]!, st[o + 4]!, st[o + 5]!]);
    for (let r = k - 1; r >= 0; r--) {
      const i = (this.head - 1 - r + HISTORY) % HISTORY;
      this.enqueue(this.inputs[i]!);
      this.advance(this.dt);
      this.remember(i);
    }
    const after = this.position;
    if (error >= SNAP_DISTANCE) this.offset[0] = this.offset[1] = this.offset[2] = 0;
    else {
      this.offset[0] = bx - after[0];
      this.offset[1] = by - after[1];
      this.offset[2] = bz - after[2];
    }
    return error;
  }

  /** One step of what a tick runs for the player: the controller (`player-input`), then physics (`physics-step`). */
  private advance(dt: number): void {
    this.players.step();
    this.sim.stepPhysics(dt);
  }

  private remember(i: number): void {
    const p = this.position;
    const v = this.sim.physics.getLinearVelocity(this.player.entityId);
    const o = i * 6;
    this.state[o] = p[0];
    this.state[o + 1] = p[1];
    this.state[o + 2] = p[2];
    this.state[o + 3] = v[0];
    this.state[o + 4] = v[1];
    this.state[o + 5] = v[2];
  }

  private setBody(position: Readonly<Vec3>, velocity: Vec3): void {
    const p: Vec3 = [position[0], position[1], position[2]];
    this.sim.physics.setTransform(this.player.entityId, p);
    this.sim.physics.setLinearVelocity(this.player.entityId, velocity);
    this.sim.world.setPose(this.sim.world.get(this.player.entityId)!, p);
  }

  /** The predicted (simulated) position. */
  get position(): Readonly<Vec3> {
    return this.sim.world.get(this.player.entityId)!.position;
  }

  /** The predicted rotation (the look yaw). */
  get rotation(): Readonly<Quat> {
    return this.sim.world.get(this.player.entityId)!.rotation;
  }

  /** Where to draw the player this frame: the prediction plus the easing offset, decayed by `dtS`. */
  drawnPosition(dtS: number): Readonly<Vec3> {
    const k = Math.exp(-SMOOTHING_RATE * dtS);
    this.offset[0] *= k;
    this.offset[1] *= k;
    this.offset[2] *= k;
    const p = this.position;
    this.drawn[0] = p[0] + this.offset[0];
    this.drawn[1] = p[1] + this.offset[1];
    this.drawn[2] = p[2] + this.offset[2];
    return this.drawn;
  }

  /** Disposes the simulation (for one made by `forScene`). */
  dispose(): void {
    this.sim.dispose();
  }
}

/**
 * The part of a scene a client predicts its player against: what never moves (static colliders)
 * and the spawn points, without scripts. Other bodies are the server's to simulate.
 */
export function predictionScene(scene: SceneDocument): SceneDocument {
  const entities = scene.entities
    .filter((e) => !e.components.rigidBody || e.components.rigidBody.type === 'static')
    .filter((e) => e.components.collider || e.components.spawnPoint)
    .map((e) => {
      const { script: _script, ...components } = e.components;
      return { ...e, components };
    });
  return { ...scene, entities };
}
