import type { Logger } from '../log.js';
import type { Quat, Vec3 } from '../math/vec.js';
import type { RunMode } from '../run-mode.js';
import type { EntityDocument, MaterialComponent } from '../scene/schema.js';

/**
 * A scene script: an ES module under the scene's asset root whose default export is an object
 * of hooks. Hooks are synchronous and run inside the tick's scripts phase. A hook that throws
 * disables the script for that entity only.
 *
 * ```js
 * export default {
 *   start(ctx) { ctx.state.t = 0; },
 *   update(ctx, dt) { ctx.state.t += dt; },
 *   collision(ctx, other) { ctx.log.info({ other: other.id }, 'hit'); },
 *   destroy(ctx) {},
 * };
 * ```
 */
export interface ScriptDefinition<P = Record<string, unknown>> {
  start?(ctx: ScriptContext<P>): void;
  update?(ctx: ScriptContext<P>, dt: number): void;
  collision?(ctx: ScriptContext<P>, event: CollisionInfo): void;
  /** The contact that `collision` reported has ended (the other body left the trigger). */
  collisionEnd?(ctx: ScriptContext<P>, event: CollisionInfo): void;
  destroy?(ctx: ScriptContext<P>): void;
}

/** Identity helper that gives a script module its types. */
export function defineScript<P = Record<string, unknown>>(definition: ScriptDefinition<P>): ScriptDefinition<P> {
  return definition;
}

export type ScriptHook = 'start' | 'update' | 'collision' | 'collisionEnd' | 'destroy';

export interface ScriptContext<P = Record<string, unknown>> {
  readonly entity: EntityApi;
  readonly props: Readonly<P>;
  /** Free-form state that belongs to this script on this entity. */
  readonly state: Record<string, unknown>;
  readonly world: WorldApi;
  readonly log: Logger;
  readonly mode: RunMode;
}

export interface CollisionInfo {
  other: EntityApi;
  trigger: boolean;
}

/** What a script may do to an entity. Pose setters teleport; velocity moves kinematic bodies smoothly. */
export interface EntityApi {
  readonly id: string;
  readonly name: string;
  readonly tags: readonly string[];
  readonly position: Readonly<Vec3>;
  readonly rotation: Readonly<Quat>;
  setPosition(position: Vec3): void;
  setRotation(rotation: Quat): void;
  getVelocity(): Vec3;
  setVelocity(velocity: Vec3): void;
  applyImpulse(impulse: Vec3): void;
  setMaterial(material: Partial<MaterialComponent>): void;
  readonly alive: boolean;
}

export interface WorldApi {
  /** Tick number of the tick being run. */
  readonly tick: number;
  /** Simulated seconds since the scene started. */
  readonly time: number;
  find(id: string): EntityApi | undefined;
  findByTag(tag: string): EntityApi[];
  /** Adds an entity (validated like a scene entity) and returns it. */
  spawn(entity: EntityDocument): EntityApi;
  remove(id: string): boolean;
}

/** Finds script modules by their asset path; the node and browser layers supply one. */
export interface ScriptLoader {
  load(modulePath: string): Promise<ScriptDefinition>;
}
