import { describe, expect, it } from 'vitest';
import type { Quat, Vec3 } from '../../../runtime/core/math/vec.js';
import { createCannonPhysics } from '../../../runtime/core/physics/cannon-physics.js';
import type { PhysicsEngine } from '../../../runtime/core/physics/physics.js';
import type { ColliderComponent, RigidBodyComponent } from '../../../runtime/core/scene/schema.js';
import { defaultComponent } from '../../../runtime/core/scene/validate.js';

const DT = 1 / 60;
const ID: Quat = [0, 0, 0, 1];
const rb = (o: Partial<RigidBodyComponent> = {}): RigidBodyComponent => ({ ...defaultComponent('rigidBody'), ...o });
const common = { offset: [0, 0, 0] as Vec3, friction: 0.4, restitution: 0.1, trigger: false };
const box = (size: Vec3, o: Partial<typeof common> = {}): ColliderComponent => ({ shape: 'box', size, ...common, ...o });
const sphere = (radius: number, o: Partial<typeof common> = {}): ColliderComponent => ({ shape: 'sphere', radius, ...common, ...o });

/** Steps `n` times and returns the last reported pose of every moved body. */
function stepN(p: PhysicsEngine, n: number, poses = new Map<string, Vec3>()): Map<string, Vec3> {
  for (let i = 0; i < n; i++) {
    p.step(DT);
    p.forEachMoved((id, pos) => poses.set(id, pos));
  }
  return poses;
}

function groundAndBox(): PhysicsEngine {
  const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
  // Ground top face at y = 0.
  p.addBody('ground', { rigidBody: rb(), collider: box([20, 1, 20]), position: [0, -0.5, 0], rotation: ID });
  p.addBody('box', { rigidBody: rb({ type: 'dynamic' }), collider: box([1, 1, 1]), position: [0, 5, 0], rotation: ID });
  return p;
}

describe('cannon physics: falling and resting', () => {
  it('drops a dynamic box onto static ground, where it comes to rest on the top face', () => {
    const p = groundAndBox();
    const poses = stepN(p, 180);
    const [x, y, z] = poses.get('box')!;
    expect(y).toBeGreaterThan(0.45);
    expect(y).toBeLessThan(0.55);
    expect(Math.abs(x)).toBeLessThan(0.05);
    expect(Math.abs(z)).toBeLessThan(0.05);
    expect(poses.has('ground')).toBe(false); // static bodies are never reported
  });

  it('puts the resting box to sleep, and stops reporting it as moved', () => {
    const p = groundAndBox();
    stepN(p, 60);
    expect(p.stats()).toMatchObject({ bodies: 2, awake: 1 });
    stepN(p, 360);
    expect(p.stats()).toMatchObject({ bodies: 2, awake: 0 });
    const moved: string[] = [];
    p.step(DT);
    p.forEachMoved((id) => moved.push(id));
    expect(moved).toEqual([]);
  });

  it('wakes a sleeping body on an impulse', () => {
    const p = groundAndBox();
    stepN(p, 420);
    expect(p.stats().awake).toBe(0);
    p.applyImpulse('box', [0, 5, 0]);
    expect(p.stats().awake).toBe(1);
    const y = stepN(p, 5).get('box')![1];
    expect(y).toBeGreaterThan(0.55);
  });

  it('falls freely at g under gravity alone', () => {
    const p = createCannonPhysics({ gravity: [0, -10, 0] });
    p.addBody('b', { rigidBody: rb({ type: 'dynamic', linearDamping: 0 }), collider: sphere(0.5), position: [0, 100, 0], rotation: ID });
    stepN(p, 60);
    expect(p.getLinearVelocity('b')[1]).toBeCloseTo(-10, 5);
  });
});

describe('cannon physics: kinematic bodies, impulses and teleports', () => {
  it('moves a kinematic body by v * t and ignores gravity', () => {
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    p.addBody('k', { rigidBody: rb({ type: 'kinematic' }), collider: box([1, 1, 1]), position: [1, 2, 3], rotation: ID });
    p.setLinearVelocity('k', [2, 0, -1]);
    const pos = stepN(p, 60).get('k')!;
    expect(pos[0]).toBeCloseTo(3, 6);
    expect(pos[1]).toBeCloseTo(2, 6);
    expect(pos[2]).toBeCloseTo(2, 6);
    expect(p.getLinearVelocity('k')).toEqual([2, 0, -1]);
  });

  it('changes velocity by impulse / mass', () => {
    const p = createCannonPhysics({ gravity: [0, 0, 0] });
    p.addBody('b', { rigidBody: rb({ type: 'dynamic', mass: 2 }), collider: sphere(0.5), position: [0, 0, 0], rotation: ID });
    p.applyImpulse('b', [4, 0, 0]);
    expect(p.getLinearVelocity('b')[0]).toBeCloseTo(2, 9);
  });

  it('teleports a body with setTransform', () => {
    const p = createCannonPhysics({ gravity: [0, 0, 0] });
    p.addBody('b', { rigidBody: rb({ type: 'dynamic' }), collider: sphere(0.5), position: [0, 0, 0], rotation: ID });
    p.setTransform('b', [7, 8, 9]);
    const pos = stepN(p, 1).get('b')!;
    expect(pos).toEqual([7, 8, 9]);
  });

  it('throws for an entity without a body', () => {
    const p = createCannonPhysics({ gravity: [0, 0, 0] });
    expect(() => p.setLinearVelocity('nobody', [1, 0, 0])).toThrow(/has no physics body/);
    expect(() => p.getLinearVelocity('nobody')).toThrow(/has no physics body/);
  });
});

describe('cannon physics: contacts', () => {
  it('reports a contact between touching bodies, each pair once, drained once', () => {
    const p = groundAndBox();
    const contacts = [];
    for (let i = 0; i < 90; i++) {
      p.step(DT);
      contacts.push(...p.drainContacts());
      expect(p.drainContacts()).toEqual([]);
    }
    expect(contacts.length).toBeGreaterThanOrEqual(1);
    expect(contacts[0]).toEqual({ a: 'ground', b: 'box', trigger: false });
  });

  it('reports a sphere trigger overlap with trigger=true and lets the body pass through', () => {
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    p.addBody('zone', { rigidBody: rb(), collider: sphere(1, { trigger: true }), position: [0, 0, 0], rotation: ID });
    p.addBody('ball', { rigidBody: rb({ type: 'dynamic' }), collider: sphere(0.25), position: [0, 3, 0], rotation: ID });
    const contacts = [];
    const poses = new Map<string, Vec3>();
    for (let i = 0; i < 120; i++) {
      stepN(p, 1, poses);
      contacts.push(...p.drainContacts());
    }
    expect(contacts).toContainEqual({ a: 'zone', b: 'ball', trigger: true });
    expect(contacts.every((c) => c.trigger)).toBe(true);
    expect(poses.get('ball')![1]).toBeLessThan(-2); // fell straight through the trigger
  });
});

describe('cannon physics: body bookkeeping', () => {
  it('adds, replaces and removes bodies', () => {
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    p.addBody('a', { rigidBody: rb({ type: 'dynamic' }), collider: sphere(0.5), position: [0, 0, 0], rotation: ID });
    p.addBody('a', { rigidBody: rb({ type: 'dynamic' }), collider: sphere(0.5), position: [0, 10, 0], rotation: ID });
    expect(p.stats().bodies).toBe(1);
    expect(stepN(p, 1).get('a')![1]).toBeGreaterThan(9);
    p.removeBody('a');
    expect(p.hasBody('a')).toBe(false);
    expect(p.stats()).toMatchObject({ bodies: 0, awake: 0 });
    p.removeBody('a'); // removing twice is harmless
    expect(stepN(p, 1).size).toBe(0);
  });

  it('keeps a collider-less dynamic body and a static one apart in stats', () => {
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    p.addBody('s', { rigidBody: rb(), collider: box([1, 1, 1]), position: [0, 0, 0], rotation: ID });
    p.addBody('d', { rigidBody: rb({ type: 'dynamic' }), position: [5, 0, 0], rotation: ID });
    expect(p.stats()).toMatchObject({ bodies: 2, awake: 1 });
    p.dispose();
    expect(p.stats()).toMatchObject({ bodies: 0, awake: 0 });
  });
});
