import { describe, expect, it } from 'vitest';
import { quatFromEulerDeg, rotateVec, type Vec3 } from '../../../runtime/core/math/vec.js';
import { parentsFirst, World, worldFromScene, type WorldEvent } from '../../../runtime/core/world/world.js';
import type { EntityDocument } from '../../../runtime/core/scene/schema.js';
import { loadScene } from '../helpers.js';

const close = (actual: readonly number[], expected: readonly number[]) =>
  expected.forEach((v, i) => expect(actual[i], `component ${i}`).toBeCloseTo(v, 9));

/** Validated entity documents (defaults applied), in file order. */
const docs = (entities: unknown[]): EntityDocument[] => loadScene(entities).entities;

const at = (id: string, position: Vec3, rotation: Vec3 = [0, 0, 0], parent?: string) => ({
  id,
  ...(parent ? { parent } : {}),
  components: { transform: { position, rotation } },
});

function recordEvents(world: World): string[] {
  const out: string[] = [];
  world.on((e: WorldEvent) => out.push(e.type === 'changed' ? `changed:${e.entity.id}:${e.component}` : `${e.type}:${e.entity.id}`));
  return out;
}

describe('World poses', () => {
  it('uses the local transform as the pose of a root entity', () => {
    const world = worldFromScene(loadScene([at('a', [1, 2, 3], [0, 90, 0])]));
    const a = world.get('a')!;
    expect(a.position).toEqual([1, 2, 3]);
    close(a.rotation, quatFromEulerDeg([0, 90, 0]));
  });

  it('gives an entity without a transform the identity pose', () => {
    const world = worldFromScene(loadScene([{ id: 'bare', components: {} }]));
    expect(world.get('bare')!.position).toEqual([0, 0, 0]);
    expect(world.get('bare')!.rotation).toEqual([0, 0, 0, 1]);
  });

  it('composes a child pose with its parent (rotated, then translated)', () => {
    const world = worldFromScene(loadScene([at('p', [10, 0, 0], [0, 90, 0]), at('c', [1, 0, 0], [0, 0, 0], 'p')]));
    const c = world.get('c')!;
    // +X turned 90° about +Y points to -Z.
    close(c.position, [10, 0, -1]);
    close(c.rotation, quatFromEulerDeg([0, 90, 0]));
  });

  it('applies the child rotation first, then the parent rotation', () => {
    const world = worldFromScene(loadScene([at('p', [0, 0, 0], [0, 90, 0]), at('c', [0, 0, 0], [90, 0, 0], 'p')]));
    // Child: +Y turned 90° about X points to +Z; parent: +Z turned 90° about Y points to +X.
    close(rotateVec(world.get('c')!.rotation, [0, 1, 0]), [1, 0, 0]);
  });

  it('composes rotations down a chain of parents', () => {
    const world = worldFromScene(
      loadScene([at('a', [0, 0, 0], [0, 90, 0]), at('b', [0, 0, 2], [0, 90, 0], 'a'), at('c', [1, 0, 0], [0, 0, 0], 'b')]),
    );
    const qa = quatFromEulerDeg([0, 90, 0]);
    const b = world.get('b')!;
    close(b.position, rotateVec(qa, [0, 0, 2])); // [2, 0, 0]
    close(b.position, [2, 0, 0]);
    const c = world.get('c')!;
    // b faces 180° about Y, so c's local +X becomes -X.
    close(c.position, [1, 0, 0]);
    close(rotateVec(c.rotation, [1, 0, 0]), [-1, 0, 0]);
  });

  it('does not share position arrays with the scene document', () => {
    const scene = loadScene([at('a', [1, 2, 3])]);
    const world = worldFromScene(scene);
    world.get('a')!.position[0] = 99;
    expect(scene.entities[0]!.components.transform!.position).toEqual([1, 2, 3]);
  });
});

describe('parentsFirst and worldFromScene', () => {
  it('places parents before children whatever the file order', () => {
    const order = parentsFirst(docs([at('c', [0, 0, 0], [0, 0, 0], 'b'), at('b', [0, 0, 0], [0, 0, 0], 'a'), at('a', [0, 0, 0])]));
    expect(order.map((e) => e.id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps file order for unrelated entities and places each entity once', () => {
    const order = parentsFirst(docs([at('x', [0, 0, 0]), at('c', [0, 0, 0], [0, 0, 0], 'p'), at('p', [0, 0, 0]), at('y', [0, 0, 0])]));
    expect(order.map((e) => e.id)).toEqual(['x', 'p', 'c', 'y']);
  });

  it('builds a world where a child listed before its parent is still composed', () => {
    const world = worldFromScene(loadScene([at('c', [0, 1, 0], [0, 0, 0], 'p'), at('p', [5, 0, 0])]));
    expect(world.size).toBe(2);
    close(world.get('c')!.position, [5, 1, 0]);
  });

  it('throws on a cycle instead of recursing forever', () => {
    const cyclic = [
      { id: 'a', parent: 'b', components: {} },
      { id: 'b', parent: 'a', components: {} },
    ] as EntityDocument[];
    expect(() => parentsFirst(cyclic)).toThrow(/parent cycle/);
  });
});

describe('World structure and events', () => {
  it('refuses a duplicate id and a missing parent', () => {
    const world = new World();
    const [a, orphan] = docs([at('a', [0, 0, 0]), at('orphan', [0, 0, 0], [0, 0, 0], 'a')]);
    world.add(a!);
    expect(() => world.add(a!)).toThrow(/already exists/);
    const w2 = new World();
    expect(() => w2.add(orphan!)).toThrow(/parent "a" does not exist/);
    expect(w2.size).toBe(0);
  });

  it('defaults name to the id, copies tags and starts at version 1', () => {
    const world = new World();
    const [doc] = docs([{ id: 'a', tags: ['x'], components: {} }]);
    const e = world.add(doc!);
    expect(e).toMatchObject({ id: 'a', name: 'a', parent: null, tags: ['x'], version: 1 });
    e.tags.push('y');
    expect(doc!.tags).toEqual(['x']);
  });

  it('emits added for each entity', () => {
    const world = new World();
    const events = recordEvents(world);
    for (const d of docs([at('a', [0, 0, 0]), at('b', [0, 0, 0], [0, 0, 0], 'a')])) world.add(d);
    expect(events).toEqual(['added:a', 'added:b']);
  });

  it('removes descendants with their ancestor, children first, emitting each removal', () => {
    const world = worldFromScene(
      loadScene([
        at('root', [0, 0, 0]),
        at('kid1', [0, 0, 0], [0, 0, 0], 'root'),
        at('grandkid', [0, 0, 0], [0, 0, 0], 'kid1'),
        at('kid2', [0, 0, 0], [0, 0, 0], 'root'),
        at('other', [0, 0, 0]),
      ]),
    );
    const events = recordEvents(world);
    expect(world.remove('root')).toBe(true);
    expect(events).toEqual(['removed:grandkid', 'removed:kid1', 'removed:kid2', 'removed:root']);
    expect([...world.values()].map((e) => e.id)).toEqual(['other']);
    expect(world.remove('root')).toBe(false);
    expect(events).toHaveLength(4);
  });

  it('setComponent replaces the component, bumps the version and emits changed', () => {
    const world = worldFromScene(loadScene([{ id: 'a', components: { material: {} } }]));
    const events = recordEvents(world);
    const e = world.get('a')!;
    const before = e.components;
    world.setComponent(e, 'material', { ...e.components.material!, color: '#ff0000' });
    expect(e.version).toBe(2);
    expect(e.components.material!.color).toBe('#ff0000');
    expect(before.material!.color).toBe('#cccccc');
    expect(events).toEqual(['changed:a:material']);
  });

  it('setPose bumps the version silently and keeps the rotation when none is given', () => {
    const world = worldFromScene(loadScene([at('a', [0, 0, 0], [0, 0, 90])]));
    const events = recordEvents(world);
    const e = world.get('a')!;
    const rot = e.rotation;
    world.setPose(e, [1, 2, 3]);
    expect(e).toMatchObject({ position: [1, 2, 3], version: 2 });
    expect(e.rotation).toBe(rot);
    world.setPose(e, [0, 0, 0], [0, 0, 0, 1]);
    expect(e.rotation).toEqual([0, 0, 0, 1]);
    expect(e.version).toBe(3);
    expect(events).toEqual([]);
  });

  it('stops notifying a listener after it unsubscribes', () => {
    const world = new World();
    const seen: string[] = [];
    const off = world.on((e) => seen.push(e.entity.id));
    const [a, b] = docs([at('a', [0, 0, 0]), at('b', [0, 0, 0])]);
    world.add(a!);
    off();
    world.add(b!);
    expect(seen).toEqual(['a']);
  });
});
