import RAPIER from '@dimforge/rapier3d-compat';
import type { Quat, Vec3 } from '../math/vec.js';
import type { ColliderComponent } from '../scene/schema.js';
import type { HeightfieldData } from './heightfield.js';
import type { BodyDesc, ContactEvent, PhysicsEngine, PhysicsFactory, PhysicsOptions, PhysicsStats } from './physics.js';

type Rapier = typeof RAPIER;

/**
 * Makes Rapier's WebAssembly module usable on this thread and returns the factory. The compat
 * package carries its WASM inline (base64), so nothing is fetched or served. Initialising is
 * per thread (each worker has its own WASM instance): the first call on a thread pays ~150 ms,
 * later calls return at once. Callers await this before the instance reports ready, so the
 * tick itself stays synchronous.
 */
export async function loadRapierPhysics(): Promise<PhysicsFactory> {
  await initRapier();
  return (options) => new RapierPhysics(RAPIER, options);
}

/**
 * One initialisation per thread, shared by every instance on it. This is the one module-level
 * value here, on purpose: the WASM instance it guards is itself per thread (module state inside
 * the package), and a second concurrent `init()` would replace the instance under the worlds
 * built on the first. It holds no game state.
 */
let ready: Promise<void> | undefined;
function initRapier(): Promise<void> {
  ready ??= RAPIER.init().catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  return ready;
}

/**
 * cannon's damping removes the fraction `d` of the velocity per second (v·(1−d)^dt); Rapier
 * divides by (1 + k·dt) each step, ≈ v·e^(−k·dt). The same decay needs k = −ln(1−d).
 */
export function rapierDamping(fractionPerSecond: number): number {
  return fractionPerSecond >= 1 ? 1e6 : -Math.log(1 - fractionPerSecond);
}

/**
 * Rapier's heightfield is a column-major matrix whose rows run along +Z and columns along +X,
 * centred on the collider. A `.khf` is row-major with its rows along X, so its memory already is
 * that matrix with rows = the file's cols; but keel (as cannon lays it out) puts sample (i, 0)
 * at the +Z edge and Rapier puts matrix row 0 at −Z, so each run of `cols` samples is reversed.
 * The copy costs nothing extra: Rapier copies the heights into WASM memory anyway, so a
 * heightfield cannot share the SharedArrayBuffer the way cannon's row views do.
 */
export function heightfieldToRapier(hf: HeightfieldData): Float32Array {
  const { rows, cols, heights } = hf;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[base + cols - 1 - j] = heights[base + j]!;
  }
  return out;
}

/** The Rapier implementation of {@link PhysicsEngine}, behaving like the cannon-es one as far as the scene format promises. */
class RapierPhysics implements PhysicsEngine {
  private readonly R: Rapier;
  private readonly world: RAPIER.World;
  private readonly events: RAPIER.EventQueue;
  private readonly bodies = new Map<string, RAPIER.RigidBody>();
  /** Rigid-body handle to entity id. */
  private readonly ids = new Map<number, string>();
  /** Collider handle to entity id, and whether it is a sensor. */
  private readonly colliders = new Map<number, { id: string; sensor: boolean }>();
  private readonly moving = new Set<RAPIER.RigidBody>();
  private contacts: ContactEvent[] = [];
  private touching = 0;
  private skipped = 0;

  constructor(R: Rapier, options: PhysicsOptions) {
    this.R = R;
    const [x, y, z] = options.gravity;
    this.world = new R.World({ x, y, z });
    this.events = new R.EventQueue(true);
  }

  addBody(entityId: string, desc: BodyDesc): void {
    if (this.bodies.has(entityId)) this.removeBody(entityId);
    const R = this.R;
    const rb = desc.rigidBody;
    const bd =
      rb.type === 'dynamic' ? R.RigidBodyDesc.dynamic() : rb.type === 'kinematic' ? R.RigidBodyDesc.kinematicVelocityBased() : R.RigidBodyDesc.fixed();
    const [px, py, pz] = desc.position;
    const [qx, qy, qz, qw] = desc.rotation;
    bd.setTranslation(px, py, pz)
      .setRotation({ x: qx, y: qy, z: qz, w: qw })
      .setLinearDamping(rapierDamping(rb.linearDamping))
      .setAngularDamping(rapierDamping(rb.angularDamping))
      .setCanSleep(rb.allowSleep);
    if (rb.fixedRotation) bd.lockRotations();
    const mass = Math.max(rb.mass, 1e-6);
    // A dynamic body without a shape still falls with its mass, as in cannon.
    if (rb.type === 'dynamic' && !desc.collider) bd.setAdditionalMass(mass);
    const body = this.world.createRigidBody(bd);
    if (desc.collider) {
      const cd = this.colliderDesc(desc.collider, desc.heightfield);
      if (rb.type === 'dynamic') cd.setMass(mass);
      const collider = this.world.createCollider(cd, body);
      this.colliders.set(collider.handle, { id: entityId, sensor: desc.collider.trigger });
    }
    this.bodies.set(entityId, body);
    this.ids.set(body.handle, entityId);
    if (rb.type !== 'static') this.moving.add(body);
  }

  private colliderDesc(c: ColliderComponent, hf: HeightfieldData | undefined): RAPIER.ColliderDesc {
    const R = this.R;
    let cd: RAPIER.ColliderDesc;
    switch (c.shape) {
      case 'box':
        cd = R.ColliderDesc.cuboid(c.size[0] / 2, c.size[1] / 2, c.size[2] / 2);
        break;
      case 'sphere':
        cd = R.ColliderDesc.ball(c.radius);
        break;
      case 'cylinder':
        // Exact round cylinder; cannon approximates it with a 12-sided prism.
        cd = R.ColliderDesc.cylinder(c.height / 2, c.radius);
        break;
      case 'plane':
        cd = new R.ColliderDesc(new R.HalfSpace({ x: 0, y: 1, z: 0 }));
        break;
      case 'heightfield': {
        if (!hf) throw new Error(`heightfield collider needs its asset "${c.asset}" loaded`);
        cd = R.ColliderDesc.heightfield(
          hf.cols - 1,
          hf.rows - 1,
          heightfieldToRapier(hf),
          { x: (hf.rows - 1) * c.elementSize, y: 1, z: (hf.cols - 1) * c.elementSize },
          R.HeightFieldFlags.FIX_INTERNAL_EDGES,
        );
        break;
      }
    }
    const [ox, oy, oz] = c.offset;
    cd.setTranslation(ox, oy, oz)
      .setFriction(c.friction)
      .setRestitution(c.restitution)
      // keel averages both colliders' values (cannon does through its contact materials).
      .setFrictionCombineRule(R.CoefficientCombineRule.Average)
      .setRestitutionCombineRule(R.CoefficientCombineRule.Average)
      .setSensor(c.trigger)
      .setActiveEvents(R.ActiveEvents.COLLISION_EVENTS);
    // cannon also reports a kinematic body entering a static trigger; Rapier skips
    // kinematic-fixed pairs unless asked.
    if (c.trigger) {
      cd.setActiveCollisionTypes(R.ActiveCollisionTypes.DEFAULT | R.ActiveCollisionTypes.KINEMATIC_FIXED | R.ActiveCollisionTypes.KINEMATIC_KINEMATIC);
    }
    return cd;
  }

  removeBody(entityId: string): void {
    const body = this.bodies.get(entityId);
    if (!body) return;
    for (let i = 0; i < body.numColliders(); i++) this.colliders.delete(body.collider(i).handle);
    this.ids.delete(body.handle);
    this.bodies.delete(entityId);
    this.moving.delete(body);
    this.world.removeRigidBody(body);
  }

  hasBody(entityId: string): boolean {
    return this.bodies.has(entityId);
  }

  step(dt: number): void {
    this.contacts = [];
    // As with cannon: when every body that can move sleeps, a step changes nothing (whatever
    // would wake one wakes it first), so an idle scene costs no physics.
    for (const body of this.moving) {
      if (!body.isSleeping()) {
        this.world.timestep = dt;
        this.world.step(this.events);
        this.events.drainCollisionEvents((h1, h2, started) => this.collisionEvent(h1, h2, started));
        return;
      }
    }
    this.skipped++;
  }

  private collisionEvent(h1: number, h2: number, started: boolean): void {
    this.touching += started ? 1 : -1;
    const a = this.colliders.get(h1);
    const b = this.colliders.get(h2);
    // A removed body's pairs end with it; its id is gone, as in cannon.
    if (!a || !b) return;
    const trigger = a.sensor || b.sensor;
    this.contacts.push(started ? { a: a.id, b: b.id, trigger } : { a: a.id, b: b.id, trigger, ended: true });
  }

  forEachMoved(fn: (entityId: string, position: Vec3, rotation: Quat) => void): void {
    for (const body of this.moving) {
      if (body.isSleeping()) continue;
      const p = body.translation();
      const q = body.rotation();
      fn(this.ids.get(body.handle)!, [p.x, p.y, p.z], [q.x, q.y, q.z, q.w]);
    }
  }

  private need(entityId: string): RAPIER.RigidBody {
    const body = this.bodies.get(entityId);
    if (!body) throw new Error(`entity "${entityId}" has no physics body`);
    return body;
  }

  setTransform(entityId: string, position: Vec3, rotation?: Quat): void {
    const body = this.need(entityId);
    body.setTranslation({ x: position[0], y: position[1], z: position[2] }, true);
    if (rotation) body.setRotation({ x: rotation[0], y: rotation[1], z: rotation[2], w: rotation[3] }, true);
  }

  setLinearVelocity(entityId: string, v: Vec3): void {
    this.need(entityId).setLinvel({ x: v[0], y: v[1], z: v[2] }, true);
  }

  getLinearVelocity(entityId: string): Vec3 {
    const v = this.need(entityId).linvel();
    return [v.x, v.y, v.z];
  }

  applyImpulse(entityId: string, impulse: Vec3): void {
    this.need(entityId).applyImpulse({ x: impulse[0], y: impulse[1], z: impulse[2] }, true);
  }

  drainContacts(): ContactEvent[] {
    const out = this.contacts;
    this.contacts = [];
    return out;
  }

  isSleeping(entityId: string): boolean {
    return this.bodies.get(entityId)?.isSleeping() ?? false;
  }

  stats(): PhysicsStats {
    let awake = 0;
    for (const b of this.moving) if (!b.isSleeping()) awake++;
    return { bodies: this.bodies.size, awake, contacts: this.touching, skippedSteps: this.skipped };
  }

  dispose(): void {
    this.bodies.clear();
    this.ids.clear();
    this.colliders.clear();
    this.moving.clear();
    // The world lives in WASM memory, which the garbage collector does not see: free it.
    this.events.free();
    this.world.free();
  }
}
