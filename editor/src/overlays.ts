/**
 * Drawn-only helpers in the viewport: selection boxes, collider wireframes and spawn-point
 * markers. They are rebuilt from the document and the world's poses; nothing here is picked or
 * edited. Those of active entities (the selection and what hangs under it, which a drag moves)
 * sit in `activeGroup`, rebuilt alone while a drag goes on; the rest in `group`, whose every
 * rebuild counts in `staticRevision`.
 */
import * as THREE from 'three';
import type { Components, Entity } from '../../runtime/core/index.js';

/** Half extents of what an entity draws (mesh, else collider, else a small marker). */
export function halfExtents(c: Components): THREE.Vector3 {
  const s = c.transform?.scale ?? [1, 1, 1];
  const m = c.mesh;
  const v = new THREE.Vector3(0.25, 0.25, 0.25);
  if (m?.shape === 'box') v.set(m.size[0] / 2, m.size[1] / 2, m.size[2] / 2);
  else if (m?.shape === 'sphere') v.setScalar(m.radius);
  else if (m?.shape === 'cylinder') v.set(m.radius, m.height / 2, m.radius);
  else if (m?.shape === 'capsule') v.set(m.radius, m.height / 2 + m.radius, m.radius);
  else if (m?.shape === 'plane') v.set(m.size[0] / 2, 0.01, m.size[1] / 2);
  else if (m?.shape === 'model') v.setScalar(0.5);
  return v.multiply(new THREE.Vector3(Math.abs(s[0]), Math.abs(s[1]), Math.abs(s[2])));
}

const SELECT_COLOR = 0xf59e0b;
const COLLIDER_COLOR = 0x22d3ee;
const SPAWN_COLOR = 0xa3e635;

/** What overlays show. */
export interface OverlayOptions {
  colliders: boolean;
  spawns: boolean;
}

/** Builds the overlay objects for the entities of a world into two groups: still and active. */
export class Overlays {
  /** Overlays of entities that are not active. */
  readonly group = new THREE.Group();
  /** Overlays of active entities (the selection's boxes among them). */
  readonly activeGroup = new THREE.Group();
  /** Counts rebuilds of `group`. */
  staticRevision = 0;
  private readonly boxGeometry = new THREE.EdgesGeometry(new THREE.BoxGeometry(2, 2, 2));
  private readonly sphereGeometry = new THREE.EdgesGeometry(new THREE.IcosahedronGeometry(1, 1));
  private readonly cylinderGeometry = new THREE.EdgesGeometry(new THREE.CylinderGeometry(1, 1, 1, 16, 1));
  private readonly coneGeometry = new THREE.ConeGeometry(0.3, 0.8, 12);
  private readonly selectMaterial = new THREE.LineBasicMaterial({ color: SELECT_COLOR, depthTest: false, transparent: true });
  private readonly colliderMaterial = new THREE.LineBasicMaterial({ color: COLLIDER_COLOR, transparent: true, opacity: 0.8 });
  private readonly spawnMaterial = new THREE.MeshBasicMaterial({ color: SPAWN_COLOR, wireframe: true });

  constructor() {
    this.group.name = 'editor overlays';
    this.activeGroup.name = 'editor overlays (active)';
    this.group.add(this.activeGroup);
  }

  /** Rebuilds every overlay for the entities given; those of `active` entities go to `activeGroup`. */
  rebuild(entities: Iterable<Entity>, selected: ReadonlySet<string>, show: OverlayOptions, active: ReadonlySet<string>): void {
    this.clear();
    this.staticRevision++;
    for (const e of entities) this.build(e, selected, show, active.has(e.id) ? this.activeGroup : this.group);
  }

  /** Rebuilds the overlays of the active entities only (the others are unchanged). */
  rebuildActive(active: Iterable<Entity>, selected: ReadonlySet<string>, show: OverlayOptions): void {
    this.activeGroup.clear();
    for (const e of active) this.build(e, selected, show, this.activeGroup);
  }

  private build(e: Entity, selected: ReadonlySet<string>, show: OverlayOptions, into: THREE.Group): void {
    const c = e.components;
    const pose = (o: THREE.Object3D) => {
      o.position.set(e.position[0], e.position[1], e.position[2]);
      o.quaternion.set(e.rotation[0], e.rotation[1], e.rotation[2], e.rotation[3]);
      return o;
    };
    if (selected.has(e.id)) {
      const h = halfExtents(c).multiplyScalar(1.02);
      const box = pose(new THREE.LineSegments(this.boxGeometry, this.selectMaterial));
      box.scale.copy(h);
      box.renderOrder = 10;
      into.add(box);
    }
    const col = c.collider;
    if (show.colliders && col) {
      let o: THREE.Object3D | null = null;
      if (col.shape === 'box') {
        o = new THREE.LineSegments(this.boxGeometry, this.colliderMaterial);
        o.scale.set(col.size[0] / 2, col.size[1] / 2, col.size[2] / 2);
      } else if (col.shape === 'sphere') {
        o = new THREE.LineSegments(this.sphereGeometry, this.colliderMaterial);
        o.scale.setScalar(col.radius);
      } else if (col.shape === 'cylinder') {
        o = new THREE.LineSegments(this.cylinderGeometry, this.colliderMaterial);
        o.scale.set(col.radius, col.height, col.radius);
      }
      if (o) {
        const holder = pose(new THREE.Group());
        o.position.set(col.offset[0], col.offset[1], col.offset[2]);
        holder.add(o);
        into.add(holder);
      }
    }
    if (show.spawns && c.spawnPoint) {
      const cone = pose(new THREE.Mesh(this.coneGeometry, this.spawnMaterial));
      cone.rotateX(Math.PI);
      cone.position.y += 0.4;
      into.add(cone);
    }
  }

  clear(): void {
    // Geometries and materials are shared and kept; only the holders go.
    this.group.clear();
    this.activeGroup.clear();
    this.group.add(this.activeGroup);
  }

  dispose(): void {
    this.clear();
    for (const g of [this.boxGeometry, this.sphereGeometry, this.cylinderGeometry, this.coneGeometry]) g.dispose();
    for (const m of [this.selectMaterial, this.colliderMaterial, this.spawnMaterial]) m.dispose();
  }
}
