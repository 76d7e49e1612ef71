import type { Logger } from '../log.js';
import type { Quat, Vec3 } from '../math/vec.js';
import type { HeightfieldData } from '../physics/heightfield.js';
import type { PhysicsEngine, PhysicsFactory } from '../physics/physics.js';
import { createCannonPhysics } from '../physics/cannon-physics.js';
import type { RunMode } from '../run-mode.js';
import { normaliseAssetPath } from '../scene/paths.js';
import type { EntityDocument, SceneDocument } from '../scene/schema.js';
import { defaultComponent, SceneError, validateEntity } from '../scene/validate.js';
import type { EntityApi, ScriptDefinition, WorldApi } from '../scripts/script.js';
import { ScriptHost, type ScriptHostOptions } from '../scripts/script-host.js';
import { parentsFirst, World, type Entity } from '../world/world.js';
import type { SceneEdit } from '../edit/scene-edit.js';
import { applyLiveEdit, reconcileWorld, type SceneDiff } from '../edit/live-edit.js';

/**
 * The phases of one tick, in the order they run. Network in applies queued client input,
 * physics steps bodies and copies their poses back, scripts react, replication out sends the
 * result. Each phase is a list of systems; plugins (the server's transport, a client's
 * prediction) add theirs without the simulation knowing what they are.
 */
export const TICK_PHASES = ['networkIn', 'physics', 'scripts', 'replicationOut'] as const;
export type TickPhase = (typeof TICK_PHASES)[number];

export interface TickContext {
  readonly tick: number;
  readonly dt: number;
  /** Simulated seconds since the scene started, including this tick. */
  readonly time: number;
  readonly sim: Simulation;
}
export type System = (ctx: TickContext) => void;

export interface SimulationOptions {
  scene: SceneDocument;
  mode: RunMode;
  logger: Logger;
  physics?: PhysicsFactory;
  /** Script modules keyed by normalised asset path (see `normaliseAssetPath`). */
  scripts?: ReadonlyMap<string, ScriptDefinition>;
  /** Heightfield assets keyed by normalised asset path. */
  heightfields?: ReadonlyMap<string, HeightfieldData>;
  /** Told of each script instance disabled after throwing (the server's admin channel streams these). */
  onScriptError?: ScriptHostOptions['onError'];
  /**
   * Whether the constructor adds the `physics-step` and `scripts` systems (default true), for
   * callers that step a bare Simulation (tests, tools, the client's predictor). An `App` builds
   * its simulation with false and lets `PhysicsPlugin` and `ScriptsPlugin` add them.
   */
  defaultSystems?: boolean;
}

/** A system as registered: its name, and the phase it runs in. */
export interface SystemEntry {
  readonly phase: TickPhase;
  readonly name: string;
}

/**
 * One running scene: world, physics and scripts, stepped by whoever owns the clock. `tick` is
 * pure with respect to time: the caller passes `dt` and the tick number, so tests step it
 * without sleeping and the server, browser and editor drive it with their own clocks.
 */
export class Simulation {
  readonly world: World;
  readonly physics: PhysicsEngine;
  readonly scripts: ScriptHost;
  readonly mode: RunMode;
  private readonly systemsByPhase = new Map<TickPhase, { name: string; run: System }[]>(TICK_PHASES.map((p) => [p, []]));
  private readonly heightfields: ReadonlyMap<string, HeightfieldData>;
  private readonly logger: Logger;
  private currentTick = 0;
  private elapsed = 0;
  private doc: SceneDocument;

  constructor(opts: SimulationOptions) {
    this.doc = opts.scene;
    this.mode = opts.mode;
    this.logger = opts.logger;
    this.heightfields = opts.heightfields ?? new Map();
    this.physics = (opts.physics ?? createCannonPhysics)({ gravity: opts.scene.settings.gravity });
    this.world = new World();
    const worldApi = this.worldApi();
    this.scripts = new ScriptHost({
      mode: opts.mode,
      definitions: opts.scripts ?? new Map(),
      logger: opts.logger,
      world: worldApi,
      entityApi: (e) => this.entityApi(e),
      normalise: normaliseAssetPath,
      ...(opts.onScriptError ? { onError: opts.onScriptError } : {}),
    });
    this.world.on((ev) => {
      if (ev.type === 'added') {
        this.addBody(ev.entity);
        this.scripts.attach(ev.entity);
      } else if (ev.type === 'removed') {
        this.scripts.detach(ev.entity.id);
        this.physics.removeBody(ev.entity.id);
      } else if (ev.type === 'posed') {
        // The world moved it (its parent moved, or its transform or parent changed): its body follows.
        if (this.physics.hasBody(ev.entity.id)) this.physics.setTransform(ev.entity.id, ev.entity.position, ev.entity.rotation);
      } else if (ev.type === 'changed') {
        const c = ev.component;
        if (c === 'rigidBody' || c === 'collider') this.rebuildBody(ev.entity);
        else if (c === 'script') {
          this.scripts.detach(ev.entity.id);
          this.scripts.attach(ev.entity);
        } else if (c === 'transform' && this.physics.hasBody(ev.entity.id)) {
          // A placed body starts at rest where it was put.
          this.physics.setLinearVelocity(ev.entity.id, [0, 0, 0]);
        }
      }
    });
    for (const doc of parentsFirst(opts.scene.entities)) this.world.add(doc);

    if (opts.defaultSystems ?? true) {
      this.addSystem('physics', 'physics-step', ({ dt }) => this.stepPhysics(dt));
      this.addSystem('scripts', 'scripts', ({ dt }) => this.runScripts(dt));
    }
  }

  /** Steps the bodies by `dt` and copies the poses of those that moved into the world. */
  stepPhysics(dt: number): void {
    this.physics.step(dt);
    this.physics.forEachMoved((id, p, q) => {
      const e = this.world.get(id);
      if (e) this.world.setPose(e, p, q);
    });
  }

  /** Runs script hooks: collisions that began or ended in the last step, then `update`. */
  runScripts(dt: number): void {
    for (const c of this.physics.drainContacts()) {
      const a = this.world.get(c.a);
      const b = this.world.get(c.b);
      if (a && b) this.scripts.collision(a, b, c.trigger, c.ended ? 'collisionEnd' : 'collision');
    }
    this.scripts.update(dt);
  }

  /** The scene document as edited so far: the start scene with every edit since applied. */
  get scene(): SceneDocument {
    return this.doc;
  }

  /**
   * Applies a scene edit to the document and the running world together: bodies, poses and
   * scripts follow. Returns the inverse edit. Throws (changing nothing) when the edit does not
   * apply or leaves a touched entity invalid. See runtime/core/edit/live-edit.ts.
   */
  applyEdit(edit: SceneEdit): SceneEdit {
    return applyLiveEdit(this, edit);
  }

  /**
   * Brings the running world in line with `next`, a new version of the document (a reloaded
   * file): entities are matched by id, and only what differs is changed. Returns what differed.
   */
  syncTo(next: SceneDocument): SceneDiff {
    const diff = reconcileWorld(this, this.doc, next);
    this.doc = next;
    return diff;
  }

  /**
   * Brings the world in line with `next` (as {@link syncTo}) after swapping in freshly imported
   * script modules: entities whose script module changed are restarted (destroy, then start next
   * tick); every other script instance keeps its state. Returns what differed and the ids of the
   * restarted entities. On a problem it throws and changes nothing (the old modules stay).
   */
  reload(next: SceneDocument, scripts: ReadonlyMap<string, ScriptDefinition>): { diff: SceneDiff; restarted: string[] } {
    const previous = this.scripts.setDefinitions(scripts);
    let diff: SceneDiff;
    try {
      diff = this.syncTo(next);
    } catch (err) {
      this.scripts.setDefinitions(previous);
      throw err;
    }
    const stale = this.scripts.staleInstances();
    for (const id of stale) {
      this.scripts.detach(id);
      const e = this.world.get(id);
      if (e) this.scripts.attach(e);
    }
    if (stale.length > 0) this.scripts.reorder([...this.world.values()].map((e) => e.id));
    return { diff, restarted: stale };
  }

  get tickNumber(): number {
    return this.currentTick;
  }

  /** Simulated seconds since start. */
  get time(): number {
    return this.elapsed;
  }

  /** Every system, in the order a tick runs them: phase by phase, then in the order added. */
  systems(): SystemEntry[] {
    const out: SystemEntry[] = [];
    for (const phase of TICK_PHASES) for (const s of this.systemsByPhase.get(phase)!) out.push({ phase, name: s.name });
    return out;
  }

  /**
   * Adds a system at the end of `phase`, or just before the system named `before` in that phase
   * (an unknown name is refused); returns a function that removes it.
   */
  addSystem(phase: TickPhase, name: string, run: System, order: { before?: string } = {}): () => void {
    const list = this.systemsByPhase.get(phase)!;
    const entry = { name, run };
    if (order.before !== undefined) {
      const at = list.findIndex((s) => s.name === order.before);
      if (at < 0) throw new Error(`system "${name}" is to run before "${order.before}", which is not in phase ${phase} (${list.map((s) => s.name).join(', ') || 'empty'})`);
      list.splice(at, 0, entry);
    } else list.push(entry);
    return () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Runs one fixed step: every phase in order. */
  tick(dt: number, tickNumber: number): void {
    this.currentTick = tickNumber;
    this.elapsed += dt;
    const ctx: TickContext = { tick: tickNumber, dt, time: this.elapsed, sim: this };
    // Indexed loops: unlike for-of, they allocate no iterator per phase and tick.
    for (let p = 0; p < TICK_PHASES.length; p++) {
      const list = this.systemsByPhase.get(TICK_PHASES[p]!)!;
      for (let i = 0; i < list.length; i++) list[i]!.run(ctx);
    }
  }

  dispose(): void {
    this.scripts.dispose();
    this.physics.dispose();
  }

  /** Builds the entity's body again after its rigidBody or collider changed, keeping its velocity when it stays dynamic. */
  private rebuildBody(e: Entity): void {
    const velocity = this.physics.hasBody(e.id) ? this.physics.getLinearVelocity(e.id) : null;
    this.physics.removeBody(e.id);
    this.addBody(e);
    if (velocity && e.components.rigidBody?.type === 'dynamic' && this.physics.hasBody(e.id)) this.physics.setLinearVelocity(e.id, velocity);
  }

  private addBody(e: Entity): void {
    const rb = e.components.rigidBody;
    const collider = e.components.collider;
    if (!rb && !collider) return;
    let heightfield: HeightfieldData | undefined;
    if (collider?.shape === 'heightfield') {
      heightfield = this.heightfields.get(normaliseAssetPath(collider.asset) ?? collider.asset);
      if (!heightfield) {
        this.logger.error({ entity: e.id, asset: collider.asset }, `heightfield ${collider.asset} for entity ${e.id} is not loaded; no collider built`);
        return;
      }
    }
    this.physics.addBody(e.id, {
      rigidBody: rb ?? defaultComponent('rigidBody'), // a collider alone is static
      ...(collider ? { collider } : {}),
      ...(heightfield ? { heightfield } : {}),
      position: e.position,
      rotation: e.rotation,
    });
  }

  private worldApi(): WorldApi {
    const sim = this;
    return {
      get tick() {
        return sim.currentTick;
      },
      get time() {
        return sim.elapsed;
      },
      find: (id) => {
        const e = this.world.get(id);
        return e ? this.entityApi(e) : undefined;
      },
      findByTag: (tag) => [...this.world.values()].filter((e) => e.tags.includes(tag)).map((e) => this.entityApi(e)),
      spawn: (doc: EntityDocument) => {
        const checked = validateEntity(doc, `spawned entity "${doc.id}"`);
        if (!checked.ok) throw new SceneError(checked.problems);
        return this.entityApi(this.world.add(checked.entity));
      },
      remove: (id) => this.world.remove(id),
    };
  }

  private entityApi(e: Entity): EntityApi {
    const { world, physics } = this;
    return {
      id: e.id,
      get name() {
        return e.name;
      },
      get tags() {
        return e.tags;
      },
      get position() {
        return e.position;
      },
      get rotation() {
        return e.rotation;
      },
      get alive() {
        return world.get(e.id) === e;
      },
      setPosition(p: Vec3) {
        if (physics.hasBody(e.id)) physics.setTransform(e.id, p);
        world.setPose(e, [...p]);
      },
      setRotation(q: Quat) {
        if (physics.hasBody(e.id)) physics.setTransform(e.id, e.position, q);
        world.setPose(e, e.position, [...q]);
      },
      getVelocity: () => (physics.hasBody(e.id) ? physics.getLinearVelocity(e.id) : [0, 0, 0]),
      setVelocity(v: Vec3) {
        if (physics.hasBody(e.id)) physics.setLinearVelocity(e.id, v);
      },
      applyImpulse(i: Vec3) {
        if (physics.hasBody(e.id)) physics.applyImpulse(e.id, i);
      },
      setMaterial(m) {
        const base = e.components.material ?? defaultComponent('material');
        world.setComponent(e, 'material', { ...base, ...m });
      },
    };
  }
}
