import type { ColliderComponent, RigidBodyComponent } from '../scene/schema.js';
import type { Quat, Vec3 } from '../math/vec.js';
import type { HeightfieldData } from './heightfield.js';

/** What the world asks of a physics engine. cannon-es and Rapier implement it; systems see only this. */
export interface PhysicsEngine {
  addBody(entityId: string, desc: BodyDesc): void;
  removeBody(entityId: string): void;
  hasBody(entityId: string): boolean;
  step(dt: number): void;
  /** Calls `fn` for every non-static body that moved in the last step (sleeping bodies are skipped). */
  forEachMoved(fn: (entityId: string, position: Vec3, rotation: Quat) => void): void;
  /** Teleports a body and wakes it. */
  setTransform(entityId: string, position: Vec3, rotation?: Quat): void;
  setLinearVelocity(entityId: string, v: Vec3): void;
  getLinearVelocity(entityId: string): Vec3;
  applyImpulse(entityId: string, impulse: Vec3): void;
  /** Contacts that began or ended during the last step, each pair once per change. */
  drainContacts(): ContactEvent[];
  /** Changes gravity for every body (optional: an engine without it keeps the start value). */
  setGravity?(gravity: Vec3): void;
  stats(): PhysicsStats;
  /** Whether the entity's body sleeps (false without a body); for debug views. */
  isSleeping?(entityId: string): boolean;
  /** Points where bodies touch now, world space; for debug views (an engine may return none). */
  contactPoints?(): PhysicsContactPoint[];
  dispose(): void;
}

export interface PhysicsContactPoint {
  a: string;
  b: string;
  point: Vec3;
}

export interface BodyDesc {
  rigidBody: RigidBodyComponent;
  collider?: ColliderComponent;
  position: Vec3;
  rotation: Quat;
  /** Present when `collider.shape` is 'heightfield': the decoded asset. */
  heightfield?: HeightfieldData;
}

export interface ContactEvent {
  a: string;
  b: string;
  /** True when either side is a trigger: an overlap, no collision response. */
  trigger: boolean;
  /** Set when the pair stopped touching (left the trigger); absent when the contact began. */
  ended?: true;
}

export interface PhysicsStats {
  bodies: number;
  awake: number;
  contacts: number;
  /** Steps skipped because every movable body was asleep. */
  skippedSteps: number;
}

export interface PhysicsOptions {
  gravity: Vec3;
}

export type PhysicsFactory = (options: PhysicsOptions) => PhysicsEngine;
