/**
 * The world view's active layer on its own (three's scene graph, no WebGL): entities named
 * active are drawn from batches of their own on ACTIVE_LAYER, and `staticRevision` moves with
 * changes to everything else and only with them.
 */
import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { World } from '../../runtime/core/index.js';
import { ACTIVE_LAYER, MeshBatch, WorldView } from '../../runtime/browser/view/index.js';
import { loadScene } from '../core/helpers.js';

const box = (id: string, x: number, parent?: string) => ({
  id,
  ...(parent ? { parent } : {}),
  components: { transform: { position: [x, 0.5, 0] }, mesh: { shape: 'box', size: [1, 1, 1] }, material: { color: '#3366cc' } },
});

function setup() {
  const doc = loadScene([box('a', 0), box('b', 3), box('c', 6), box('a-child', 1, 'a'), { id: 'lamp', components: { transform: { position: [0, 5, 0] }, light: { kind: 'point' } } }]);
  const world = new World();
  for (const e of doc.entities) world.add(e);
  const view = new WorldView({ world });
  view.sync();
  return { world, view };
}

/** Where an entity is drawn: the batch holding it and the slot's translation. */
function drawn(view: WorldView, id: string): { batch: MeshBatch; x: number }[] {
  const out: { batch: MeshBatch; x: number }[] = [];
  view.batchRoot.traverse((o) => {
    const batch = o.userData.keelBatch as MeshBatch | undefined;
    if (!batch || batch.mesh !== o) return;
    const slot = batch.ids.indexOf(id);
    if (slot < 0) return;
    const m = new THREE.Matrix4();
    batch.matrixAt(slot, m);
    out.push({ batch, x: new THREE.Vector3().setFromMatrixPosition(m).x });
  });
  return out;
}

describe('WorldView active layer', () => {
  it('draws active entities from batches of their own on the active layer, and the rest on layer 0', () => {
    const { view } = setup();
    expect(drawn(view, 'a')[0]!.batch.layer).toBe(0);
    const before = view.staticRevision;
    view.setActive(['a', 'a-child']);
    expect(view.staticRevision).toBeGreaterThan(before);
    for (const id of ['a', 'a-child']) {
      const [d] = drawn(view, id);
      expect(d!.batch.layer).toBe(ACTIVE_LAYER);
      expect(d!.batch.mesh.layers.isEnabled(ACTIVE_LAYER)).toBe(true);
      expect(d!.batch.mesh.layers.isEnabled(0)).toBe(false);
    }
    const [b] = drawn(view, 'b');
    expect(b!.batch.layer).toBe(0);
    expect(b!.batch.mesh.layers.isEnabled(0)).toBe(true);
    // Each entity is drawn exactly once, wherever it is.
    for (const id of ['a', 'b', 'c', 'a-child']) expect(drawn(view, id)).toHaveLength(1);
    // Back to layer 0 when no longer active; the active batch goes with its last entity.
    view.setActive(['a-child']);
    expect(drawn(view, 'a')[0]!.batch.layer).toBe(0);
    view.setActive([]);
    const layers = new Set<number>();
    view.batchRoot.traverse((o) => {
      const batch = o.userData.keelBatch as MeshBatch | undefined;
      if (batch) layers.add(batch.layer);
    });
    expect([...layers]).toEqual([0]);
  });

  it('counts a change to the static layer, never a change to an active entity', () => {
    const { world, view } = setup();
    view.setActive(['a', 'a-child']);
    view.sync();
    const rev = view.staticRevision;
    // The active entity and its child move (a drag): the static layer is as it was.
    world.setPose(world.get('a')!, [10, 0.5, 0]);
    view.sync();
    expect(view.staticRevision).toBe(rev);
    expect(drawn(view, 'a')[0]!.x).toBeCloseTo(10);
    expect(drawn(view, 'a-child')[0]!.x).toBeCloseTo(11);
    // Selecting again the same entities changes nothing.
    view.setActive(['a-child', 'a']);
    expect(view.staticRevision).toBe(rev);
    // A static entity moves, is added or removed: it counts.
    world.setPose(world.get('b')!, [4, 0.5, 0]);
    view.sync();
    const moved = view.staticRevision;
    expect(moved).toBeGreaterThan(rev);
    expect(world.remove('c')).toBe(true);
    expect(view.staticRevision).toBeGreaterThan(moved);
    const removed = view.staticRevision;
    view.coarse = true;
    expect(view.staticRevision).toBeGreaterThan(removed);
  });

  it('still picks an active entity', () => {
    const { view } = setup();
    view.setActive(['b']);
    view.sync();
    const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 100);
    camera.position.set(3, 0.5, 10);
    camera.lookAt(3, 0.5, 0);
    camera.updateMatrixWorld();
    expect(view.pick({ x: 0, y: 0 }, camera)).toBe('b');
  });
});
