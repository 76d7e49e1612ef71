/**
 * The running server's world drawn in the editor's viewport while attached: each live entity as
 * a wireframe at the pose the admin stream gives (colliders as their shapes, other drawn
 * entities as their bounds), sleeping bodies dimmed, and the contact points of the physics debug
 * view. It is marked as live (a banner and an amber frame over the viewport), switched by the
 * Live panel's "show live world", and read-only: nothing here is picked or edited, and the
 * editor's own document is never touched.
 */
import { effect } from '@preact/signals';
import * as THREE from 'three';
import type { AdminEntity, AdminPhysicsView, Components } from '../../runtime/core/index.js';
import { halfExtents } from './overlays.js';
import type { LiveStore } from './live-store.js';

/** What the live view needs of the viewport. */
export interface LiveViewHost {
  readonly container: HTMLElement;
  /** A group drawn with the scene (and kept across play/stop). */
  readonly extras: THREE.Group;
  invalidate(): void;
}

/** What a test reads through `window.keelLive`. */
export interface LiveViewState {
  shown: boolean;
  frames: number;
  objects: Record<string, { position: [number, number, number]; sleeping: boolean }>;
  contacts: [number, number, number][];
}

const LIVE_COLOR = 0xf97316;
const SLEEP_COLOR = 0x64748b;
const CONTACT_COLOR = 0xef4444;

export class LiveView {
  readonly group = new THREE.Group();
  private readonly objects = new Map<string, { holder: THREE.Group; key: string; line: THREE.LineSegments | null }>();
  private readonly box = new THREE.EdgesGeometry(new THREE.BoxGeometry(2, 2, 2));
  private readonly sphere = new THREE.EdgesGeometry(new THREE.IcosahedronGeometry(1, 1));
  private readonly cylinder = new THREE.EdgesGeometry(new THREE.CylinderGeometry(1, 1, 1, 16, 1));
  private readonly awake = new THREE.LineBasicMaterial({ color: LIVE_COLOR, transparent: true, opacity: 0.95, depthTest: false });
  private readonly asleep = new THREE.LineBasicMaterial({ color: SLEEP_COLOR, transparent: true, opacity: 0.35, depthTest: false });
  private readonly contactGeometry = new THREE.BufferGeometry();
  private readonly contactPoints: THREE.Points;
  private readonly banner = document.createElement('div');
  private readonly frame = document.createElement('div');
  private readonly stop: () => void;
  private frames = 0;
  private contacts: [number, number, number][] = [];

  constructor(
    private readonly host: LiveViewHost,
    private readonly live: LiveStore,
  ) {
    this.group.name = 'live world';
    this.group.renderOrder = 20;
    this.contactPoints = new THREE.Points(this.contactGeometry, new THREE.PointsMaterial({ color: CONTACT_COLOR, size: 8, sizeAttenuation: false, depthTest: false, transparent: true }));
    this.contactPoints.renderOrder = 21;
    this.contactPoints.frustumCulled = false;
    this.group.add(this.contactPoints);
    host.extras.add(this.group);
    this.banner.className = 'live-world-banner';
    this.frame.className = 'live-world-frame';
    this.frame.style.cssText = 'position:absolute;inset:0;pointer-events:none;box-shadow:inset 0 0 0 3px #f59e0b;z-index:1';
    this.stop = effect(() => {
      const on = live.status.value === 'attached' && live.showWorld.value;
      this.update(on, live.entities.value, live.physics.value, live.frames.value);
    });
  }

  /** The state the viewport shows, for tests and the debug handle. */
  state(): LiveViewState {
    const objects: LiveViewState['objects'] = {};
    for (const [id, o] of this.objects) {
      const p = o.holder.position;
      objects[id] = { position: [p.x, p.y, p.z], sleeping: o.line?.material === this.asleep };
    }
    return { shown: this.group.visible && this.objects.size > 0, frames: this.frames, objects, contacts: this.contacts.map((c) => [...c] as [number, number, number]) };
  }

  private update(on: boolean, entities: readonly AdminEntity[], physics: AdminPhysicsView | null, frames: number): void {
    this.group.visible = on;
    this.marks(on);
    if (!on) {
      this.clear();
      this.host.invalidate();
      return;
    }
    this.frames = frames;
    const seen = new Set<string>();
    for (const e of entities) {
      seen.add(e.id);
      const comps = (e.components ?? {}) as Components;
      const key = shapeKey(comps);
      let o = this.objects.get(e.id);
      if (!o || o.key !== key) {
        if (o) this.group.remove(o.holder);
        o = this.make(comps, key);
        this.objects.set(e.id, o);
        this.group.add(o.holder);
      }
      o.holder.position.set(e.position[0], e.position[1], e.position[2]);
      o.holder.quaternion.set(e.rotation[0], e.rotation[1], e.rotation[2], e.rotation[3]);
      if (o.line) o.line.material = e.sleeping ? this.asleep : this.awake;
    }
    for (const [id, o] of this.objects) {
      if (seen.has(id)) continue;
      this.group.remove(o.holder);
      this.objects.delete(id);
    }
    this.contacts = (physics?.contacts ?? []).map((c) => [c.point[0], c.point[1], c.point[2]]);
    this.contactGeometry.setAttribute('position', new THREE.Float32BufferAttribute(this.contacts.flat(), 3));
    this.contactGeometry.computeBoundingSphere();
    this.host.invalidate();
  }

  /** One entity's wireframe: its collider's shape, else the bounds of what it draws, else nothing. */
  private make(c: Components, key: string): { holder: THREE.Group; key: string; line: THREE.LineSegments | null } {
    const holder = new THREE.Group();
    let line: THREE.LineSegments | null = null;
    const col = c.collider;
    if (col?.shape === 'box') {
      line = new THREE.LineSegments(this.box, this.awake);
      line.scale.set(col.size[0] / 2, col.size[1] / 2, col.size[2] / 2);
    } else if (col?.shape === 'sphere') {
      line = new THREE.LineSegments(this.sphere, this.awake);
      line.scale.setScalar(col.radius);
    } else if (col?.shape === 'cylinder') {
      line = new THREE.LineSegments(this.cylinder, this.awake);
      line.scale.set(col.radius, col.height, col.radius);
    } else if (!col && c.mesh && c.mesh.shape !== 'plane') {
      line = new THREE.LineSegments(this.box, this.awake);
      line.scale.copy(halfExtents(c));
    }
    if (line) {
      if (col && 'offset' in col) line.position.set(col.offset[0], col.offset[1], col.offset[2]);
      line.renderOrder = 20;
      holder.add(line);
    }
    return { holder, key, line };
  }

  /** The banner and frame that say the viewport shows a running server, not the file. */
  private marks(on: boolean): void {
    const info = this.live.info.value;
    if (on && info) {
      this.banner.textContent = `LIVE WORLD · ${info.scene} @ ${info.url} · read-only`;
      if (!this.banner.isConnected) this.host.container.append(this.frame, this.banner);
      this.host.container.classList.add('live-world-on');
    } else {
      this.banner.remove();
      this.frame.remove();
      this.host.container.classList.remove('live-world-on');
    }
  }

  private clear(): void {
    for (const o of this.objects.values()) this.group.remove(o.holder);
    this.objects.clear();
    this.contacts = [];
    this.contactGeometry.deleteAttribute('position');
  }

  dispose(): void {
    this.stop();
    this.clear();
    this.marks(false);
    this.host.extras.remove(this.group);
    for (const g of [this.box, this.sphere, this.cylinder, this.contactGeometry]) g.dispose();
    for (const m of [this.awake, this.asleep, this.contactPoints.material as THREE.Material]) m.dispose();
  }
}

/** What decides an entity's wireframe: a change here rebuilds it. */
function shapeKey(c: Components): string {
  return JSON.stringify([c.collider ?? null, c.collider ? null : (c.mesh ?? null), c.collider ? null : (c.transform?.scale ?? null)]);
}
