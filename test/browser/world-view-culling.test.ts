/**
 * Culling per instance (three's scene graph, no WebGL): a view synced with a camera draws the
 * entities the camera can see and those whose shadows may reach it, picks through the drawn
 * order, and uploads nothing when nothing changed.
 */
import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { World } from '../../runtime/core/index.js';
import { MeshBatch, WorldView } from '../../runtime/browser/view/index.js';
import { loadScene } from '../core/helpers.js';

/** A row of 1 m boxes along x, every 4 m from -40 to 40; optionally a sun casting shadows over x > 20. */
function setup(sun = false) {
  const entities: unknown[] = [];
  for (let x = -40; x <= 40; x += 4) {
    entities.push({ id: `b${x}`, components: { transform: { position: [x, 0.5, 0] }, mesh: { shape: 'box', size: [1, 1, 1] }, material: { color: '#808080' } } });
  }
  if (sun) {
    // Straight down over x = 30: its shadow camera covers x 0..60 (a 30 m half extent).
    entities.push({ id: 'sun', components: { transform: { position: [30, 20, 0], rotation: [-90, 0, 0] }, light: { kind: 'directional', castShadow: true } } });
  }
  const doc = loadScene(entities);
  const world = new World();
  for (const e of doc.entities) world.add(e);
  return { world, view: new WorldView({ world }) };
}

/** A camera at x = -18 looking along -x: it sees the boxes at x <= -20, none behind it. */
function camera(): THREE.PerspectiveCamera {
  const c = new THREE.PerspectiveCamera(60, 1, 0.1, 200);
  c.position.set(-18, 0.5, 0);
  c.lookAt(-100, 0.5, 0);
  c.updateMatrixWorld();
  return c;
}

const batchOf = (view: WorldView): MeshBatch => {
  let batch: MeshBatch | undefined;
  view.batchRoot.traverse((o) => {
    const b = o.userData.keelBatch as MeshBatch | undefined;
    if (b && b.mesh === o) batch = b;
  });
  return batch!;
};

/** Entity ids the mesh draws, in drawing order, from its own instance buffer. */
function drawnIds(view: WorldView): string[] {
  const b = batchOf(view);
  const drawn = new THREE.Matrix4();
  const own = new THREE.Matrix4();
  const out: string[] = [];
  for (let i = 0; i < b.mesh.count; i++) {
    const slot = b.drawnSlot(i)!;
    // The instance buffer holds the pose of the entity the instance maps to.
    b.mesh.getMatrixAt(i, drawn);
    expect(drawn.equals(b.matrixAt(slot, own))).toBe(true);
    out.push(b.ids[slot]!);
  }
  return out;
}

describe('WorldView culling per instance', () => {
  it('draws every entity without a camera, and with one only those in view', () => {
    const { view } = setup();
    view.sync();
    expect(drawnIds(view)).toHaveLength(21);
    view.sync(camera());
    const seen = drawnIds(view);
    expect(seen.sort()).toEqual(['b-20', 'b-24', 'b-28', 'b-32', 'b-36', 'b-40']);
  });

  it('keeps what a shadow-casting light covers, in view or not', () => {
    const { view } = setup(true);
    view.sync(camera());
    const seen = new Set(drawnIds(view));
    for (const x of [-40, -36, -32, -28, -24, -20]) expect(seen.has(`b${x}`)).toBe(true);
    // Under the sun's shadow camera, though behind the camera: they may shadow what it sees.
    for (const x of [4, 16, 32, 40]) expect(seen.has(`b${x}`)).toBe(true);
    // Neither in view nor under the sun.
    for (const x of [-16, -8, -4]) expect(seen.has(`b${x}`)).toBe(false);
    // Each entity once.
    expect(seen.size).toBe(drawnIds(view).length);
  });

  it('picks through the drawn order, and follows a move into view', () => {
    const { world, view } = setup();
    const cam = camera();
    view.sync(cam);
    // A ray straight ahead hits b-20 first.
    expect(view.pick({ x: 0, y: 0 }, cam)).toBe('b-20');
    // b20 (behind the camera) moves into view, in front of b-20: the slot order and the
    // drawing order differ, and the hit maps back to the right entity.
    world.setPose(world.get('b20')!, [-19.2, 0.5, 0]);
    view.sync(cam);
    expect(drawnIds(view)).toContain('b20');
    expect(view.pick({ x: 0, y: 0 }, cam)).toBe('b20');
  });

  it('uploads nothing when nothing moved and the camera saw the same', () => {
    const { view } = setup();
    const cam = camera();
    view.sync(cam);
    const b = batchOf(view);
    const version = b.mesh.instanceMatrix.version;
    view.sync(cam);
    view.sync(cam);
    expect(b.mesh.instanceMatrix.version).toBe(version);
    // The camera turns around: another set is drawn and uploaded.
    cam.lookAt(100, 0.5, 0);
    cam.updateMatrixWorld();
    view.sync(cam);
    expect(b.mesh.instanceMatrix.version).toBeGreaterThan(version);
    expect(drawnIds(view)).not.toContain('b-40');
  });
});
