import * as CANNON from 'cannon-es';
import type { Quat, Vec3 } from '../math/vec.js';
import type { ColliderComponent } from '../scene/schema.js';
import type { HeightfieldData } from './heightfield.js';
import type { BodyDesc, ContactEvent, PhysicsEngine, PhysicsContactPoint, PhysicsOptions, PhysicsStats } from './physics.js';

// cannon's Plane and Heightfield face +Z; keel is Y-up, so both are turned -90° about X.
const Z_UP_TO_Y_UP = new CANNON.Quaternion().setFromEuler(-Math.PI / 2, 0, 0);

const BODY_TYPE = {
  static: CANNON.Body.STATIC,
  dynamic: CANNON.Body.DYNAMIC,
  kinematic: CANNON.Body.KINEMATIC,
} as const;

/** The cannon-es implementation of {@link PhysicsEngine}. Resting bodies sleep, so idle scenes cost little. */
export function createCannonPhysics(options: PhysicsOptions): PhysicsEngine {
  return new CannonPhysics(options);
}

class CannonPhysics implements PhysicsEngine {
  private readonly world: CANNON.World;
  private readonly bodies = new Map<string, CANNON.Body>();
  private readonly ids = new Map<CANNON.Body, string>();
  private readonly materials = new Map<string, CANNON.Material>();
  private readonly surface = new Map<CANNON.Material, { friction: number; restitution: number }>();
  private readonly moving = new Set<CANNON.Body>();
  private contacts: ContactEvent[] = [];
  private skipped = 0;
  private readonly frictionGravity = new CANNON.Vec3();

  constructor(options: PhysicsOptions) {
    this.world = new CANNON.World({ gravity: new CANNON.Vec3(...options.gravity), allowSleep: true });
    // Sweep-and-prune scales with many bodies where the default naive broadphase is O(n²).
    this.world.broadphase = new CANNON.SAPBroadphase(this.world);
    this.world.frictionGravity = this.frictionGravity;
    const contact = (ended: boolean) => (e: { bodyA?: CANNON.Body; bodyB?: CANNON.Body }) => {
      if (!e.bodyA || !e.bodyB) return;
      const a = this.ids.get(e.bodyA);
      const b = this.ids.get(e.bodyB);
      if (a === undefined || b === undefined) return;
      const trigger = e.bodyA.isTrigger || e.bodyB.isTrigger;
      this.contacts.push(ended ? { a, b, trigger, ended } : { a, b, trigger });
    };
    this.world.addEventListener('beginContact', contact(false));
    this.world.addEventListener('endContact', contact(true));
  }

  addBody(entityId: string, desc: BodyDesc): void {
    if (this.bodies.has(entityId)) this.removeBody(entityId);
    const rb = desc.rigidBody;
    const body = new CANNON.Body({
      type: BODY_TYPE[rb.type],
      mass: rb.type === 'dynamic' ? Math.max(rb.mass, 1e-6) : 0,
      linearDamping: rb.linearDamping,
      angularDamping: rb.angularDamping,
      fixedRotation: rb.fixedRotation,
      allowSleep: rb.allowSleep,
      isTrigger: desc.collider?.trigger ?? false,
      position: new CANNON.Vec3(...desc.position),
      quaternion: new CANNON.Quaternion(...desc.rotation),
    });
    body.sleepSpeedLimit = 0.1;
    body.sleepTimeLimit = 0.5;
    if (desc.collider) {
      const c = desc.collider;
      const [shape, orientation] = this.makeShape(c, desc.heightfield);
      shape.material = this.material(c.friction, c.restitution);
      const offset = new CANNON.Vec3(...c.offset);
      if (c.shape === 'heightfield' && desc.heightfield) {
        // Centre the terrain on the entity: cannon puts sample (0,0) at the shape origin.
        const hf = desc.heightfield;
        offset.x -= ((hf.rows - 1) * c.elementSize) / 2;
        offset.z += ((hf.cols - 1) * c.elementSize) / 2;
      }
      body.addShape(shape, offset, orientation);
    }
    this.world.addBody(body);
    this.bodies.set(entityId, body);
    this.ids.set(body, entityId);
    if (rb.type !== 'static') this.moving.add(body);
    // A body placed into a resting pile (or rebuilt larger) must push what sleeps there.
    this.wakeOverlapping(body);
  }

  /** Wakes sleeping bodies whose bounds touch `body`'s: a sleeping body ignores a change beside it. */
  private wakeOverlapping(body: CANNON.Body): void {
    if (body.shapes.length === 0) return;
    body.updateAABB();
    const margin = 0.05;
    const box = new CANNON.AABB({
      lowerBound: new CANNON.Vec3(body.aabb.lowerBound.x - margin, body.aabb.lowerBound.y - margin, body.aabb.lowerBound.z - margin),
      upperBound: new CANNON.Vec3(body.aabb.upperBound.x + margin, body.aabb.upperBound.y + margin, body.aabb.upperBound.z + margin),
    });
    for (const other of this.moving) {
      if (other === body || other.sleepState !== CANNON.Body.SLEEPING) continue;
      other.updateAABB();
      if (other.aabb.overlaps(box)) other.wakeUp();
    }
  }

  private makeShape(c: ColliderComponent, hf: HeightfieldData | undefined): [CANNON.Shape, CANNON.Quaternion | undefined] {
    switch (c.shape) {
      case 'box':
        return [new CANNON.Box(new CANNON.Vec3(c.size[0] / 2, c.size[1] / 2, c.size[2] / 2)), undefined];
      case 'sphere':
        return [new CANNON.Sphere(c.radius), undefined];
      case 'cylinder':
        return [new CANNON.Cylinder(c.radius, c.radius, c.height, 12), undefined];
      case 'plane':
        return [new CANNON.Plane(), Z_UP_TO_Y_UP];
      case 'heightfield': {
        if (!hf) throw new Error(`heightfield collider needs its asset "${c.asset}" loaded`);
        // Row views over the shared buffer: cannon reads data[i][j], so no per-instance copy is made.
        const rows: Float32Array[] = [];
        for (let i = 0; i < hf.rows; i++) rows.push(hf.heights.subarray(i * hf.cols, (i + 1) * hf.cols));
        return [new CANNON.Heightfield(rows as unknown as number[][], { elementSize: c.elementSize }), Z_UP_TO_Y_UP];
      }
    }
  }

  /**
   * One cannon material per (friction, restitution) pair. Left alone, cannon multiplies the two
   * colliders' values (0.4 against 0.4 gives 0.16); keel averages them, as most engines do by
   * default, so a scene's numbers mean what they say. Each new material gets a contact
   * material with every existing one (and itself), looked up by cannon in O(1).
   */
  private material(friction: number, restitution: number): CANNON.Material {
    const key = `${friction}/${restitution}`;
    let m = this.materials.get(key);
    if (m) return m;
    // -1 tells cannon to take both values from the contact material instead of multiplying.
    m = new CANNON.Material({ friction: -1, restitution: -1 });
    this.materials.set(key, m);
    this.surface.set(m, { friction, restitution });
    for (const [other, o] of this.surface) {
      this.world.addContactMaterial(
        new CANNON.ContactMaterial(m, other, { friction: combinedFriction(friction, o.friction), restitution: (restitution + o.restitution) / 2 }),
      );
    }
    return m;
  }

  removeBody(entityId: string): void {
    const body = this.bodies.get(entityId);
    if (!body) return;
    // What rested on it must fall.
    this.wakeOverlapping(body);
    this.world.removeBody(body);
    this.bodies.delete(entityId);
    this.ids.delete(body);
    this.moving.delete(body);
  }

  hasBody(entityId: string): boolean {
    return this.bodies.has(entityId);
  }

  step(dt: number): void {
    this.contacts = [];
    // When every body that can move is asleep, a step changes nothing (anything that would
    // wake one — a new body, a velocity, an impulse, a teleport — wakes it first), so an idle
    // scene costs no physics at all.
    for (const body of this.moving) {
      if (body.sleepState !== CANNON.Body.SLEEPING) {
        // cannon bounds each step's friction impulse by μ·|frictionGravity|·m, which is a force
        // (μ·g·m) where an impulse (μ·g·m·dt) belongs: left alone, friction is 1/dt times too
        // strong (60× at 60 Hz) and a player set to 6 m/s on a μ = 0.4 contact moves at 2 m/s.
        // Scaling the gravity it uses by dt gives Coulomb friction, what `friction` means.
        this.frictionGravity.copy(this.world.gravity).scale(dt, this.frictionGravity);
        this.world.step(dt);
        return;
      }
    }
    this.skipped++;
  }

  forEachMoved(fn: (entityId: string, position: Vec3, rotation: Quat) => void): void {
    for (const body of this.moving) {
      if (body.sleepState === CANNON.Body.SLEEPING) continue;
      const p = body.position;
      const q = body.quaternion;
      fn(this.ids.get(body)!, [p.x, p.y, p.z], [q.x, q.y, q.z, q.w]);
    }
  }

  private need(entityId: string): CANNON.Body {
    const body = this.bodies.get(entityId);
    if (!body) throw new Error(`entity "${entityId}" has no physics body`);
    return body;
  }

  setTransform(entityId: string, position: Vec3, rotation?: Quat): void {
    const body = this.need(entityId);
    body.position.set(...position);
    body.previousPosition.set(...position);
    body.interpolatedPosition.set(...position);
    if (rotation) body.quaternion.set(...rotation);
    body.wakeUp();
  }

  setLinearVelocity(entityId: string, v: Vec3): void {
    const body = this.need(entityId);
    body.velocity.set(...v);
    body.wakeUp();
  }

  getLinearVelocity(entityId: string): Vec3 {
    const v = this.need(entityId).velocity;
    return [v.x, v.y, v.z];
  }

  applyImpulse(entityId: string, impulse: Vec3): void {
    const body = this.need(entityId);
    body.applyImpulse(new CANNON.Vec3(...impulse));
    body.wakeUp();
  }

  setGravity(gravity: Vec3): void {
    this.world.gravity.set(...gravity);
    for (const body of this.moving) body.wakeUp();
  }

  drainContacts(): ContactEvent[] {
    const out = this.contacts;
    this.contacts = [];
    return out;
  }

  isSleeping(entityId: string): boolean {
    return this.bodies.get(entityId)?.sleepState === CANNON.Body.SLEEPING;
  }

  contactPoints(): PhysicsContactPoint[] {
    const out: PhysicsContactPoint[] = [];
    for (const c of this.world.contacts) {
      const a = this.ids.get(c.bi);
      const b = this.ids.get(c.bj);
      if (a === undefined || b === undefined) continue;
      out.push({ a, b, point: [c.bi.position.x + c.ri.x, c.bi.position.y + c.ri.y, c.bi.position.z + c.ri.z] });
    }
    return out;
  }

  stats(): PhysicsStats {
    let awake = 0;
    for (const b of this.moving) if (b.sleepState !== CANNON.Body.SLEEPING) awake++;
    return { bodies: this.bodies.size, awake, contacts: this.world.contacts.length, skippedSteps: this.skipped };
  }

  dispose(): void {
    // Everything goes at once: nothing is left to wake.
    for (const body of this.bodies.values()) this.world.removeBody(body);
    this.bodies.clear();
    this.ids.clear();
    this.moving.clear();
  }
}

/**
 * Friction of a contact: the average of both colliders', except that a collider with friction 0
 * slides on everything. A body moved by setting its velocity every tick (a player) needs that:
 * cannon's friction, capped per step rather than per second, otherwise eats most of the speed
 * set (a player asking 6 m/s on ground of 0.8 moved at 0.36 m/s).
 */
export function combinedFriction(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : (a + b) / 2;
}
