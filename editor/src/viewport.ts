/**
 * The editor viewport: a WorldView of a core World built from the document and kept in line
 * with it (`Simulation.syncTo`, the same reconciliation `applyLiveEdit` uses), never edited
 * directly. Gizmo drags, clicks and marquees turn into SceneEdits and selections on the store.
 *
 * Mouse: left click selects (Shift/Ctrl adds), left drag on empty space draws a marquee,
 * Alt+left or middle drag orbits, Shift+middle pans, wheel zooms, right drag + WASD/QE flies.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { TransformControls } from 'three/examples/jsm/controls/TransformControls.js';
import { signal } from '@preact/signals';
import { App, editorPlayPlugins, eulerDegFromQuat, localPose, quatFromEulerDeg, RunMode, silentLogger, Simulation, type HeightfieldData, type Quat, type SceneDocument, type Vec3 } from '../../runtime/core/index.js';
import type { SceneEdit } from '../../runtime/core/edit/scene-edit.js';
import { FrameStepper } from '../../runtime/browser/loop/frame-stepper.js';
import { assetUrl } from '../../runtime/browser/scene/scene-source.js';
import { createRenderer, InteractionQuality, LayeredDraw, loadGlb, resizeToDisplay, WorldView, type DrawKind } from '../../runtime/browser/view/index.js';
import { halfExtents, Overlays } from './overlays.js';
import type { EditorStore } from './store.js';

export type GizmoMode = 'translate' | 'rotate' | 'scale';

/** Viewport settings the toolbar shows and changes. */
export const viewportSettings = {
  mode: signal<GizmoMode>('translate'),
  space: signal<'world' | 'local'>('world'),
  snap: signal(true),
  snapStep: signal(0.5),
  angleStep: signal(15),
  colliders: signal(false),
  spawns: signal(true),
  grid: signal(true),
};

const round = (v: number) => {
  const r = Math.round(v * 10000) / 10000;
  return Object.is(r, -0) ? 0 : r;
};
const roundVec = (v: readonly number[]) => v.map(round) as Vec3;

interface DragStart {
  pivotPos: THREE.Vector3;
  pivotQuat: THREE.Quaternion;
  items: { id: string; worldPos: THREE.Vector3; worldRot: THREE.Quaternion; scale: Vec3; hasTransform: boolean; parent: string | null }[];
  /** The edits the drag has come to so far: applied to the document once, when it ends. */
  edits: SceneEdit[];
}

export class Viewport {
  readonly canvas = document.createElement('canvas');
  readonly camera = new THREE.PerspectiveCamera(55, 16 / 9, 0.1, 2000);
  readonly renderer: THREE.WebGLRenderer;
  readonly orbit: OrbitControls;
  readonly gizmo: TransformControls;
  /** The selection's pivot: the gizmo moves it, drags turn its motion into edits. */
  readonly pivot = new THREE.Object3D();
  private editSim: Simulation;
  private view: WorldView;
  private playSim: Simulation | null = null;
  /** Play mode's composition (editorPlayPlugins) over `playSim`. */
  private playApp: App | null = null;
  private playView: WorldView | null = null;
  private stepper: FrameStepper | null = null;
  private readonly overlays = new Overlays();
  private readonly grid = new THREE.GridHelper(100, 100, 0x4b5563, 0x2b313b);
  private readonly marquee = document.createElement('div');
  /** Drawn with whichever world is shown (the live view of a running server adds itself here). */
  readonly extras = new THREE.Group();
  private drag: DragStart | null = null;
  private down: { x: number; y: number; button: number; additive: boolean; onGizmo: boolean } | null = null;
  private raf = 0;
  private overlaysDirty = true;
  /** Only the active entities' overlays need rebuilding (a drag moved them). */
  private activeOverlaysDirty = false;
  /** The selection and everything under it: what a drag moves, drawn on the active layer. */
  private activeIds: ReadonlySet<string> = new Set();
  /** Whether the edit view needs drawing: it is drawn on change only, never idly each frame. */
  private needsRender = true;
  private ctrlHeld = false;
  private snapChanging = false;
  /** A pointer move over the gizmo asked for a redraw since the last frame. */
  private hovering = false;
  private readonly keys = new Set<string>();
  /** True while the right button flies the camera (WASD then moves instead of switching tools). */
  flying = false;
  private lastFrame = 0;
  /** When the last drawn frame began (rAF time), or null when the last frame drew nothing. */
  private drawnAt: number | null = null;
  /** Longest frame (world sync and drawing) so far, ms (the bench reads it). */
  longestFrameMs = 0;
  /** Frames drawn so far (a save or an idle editor must not add to it). */
  framesDrawn = 0;
  /** How long the last frame's WebGL draw took, ms. */
  lastDrawMs = 0;
  /** How the last frame was drawn (null before the first). */
  lastDrawKind: DrawKind | null = null;
  /** Frames drawn so far by kind: all at once, static layer drawn anew, static layer reused. */
  readonly drawKinds: Record<DrawKind, number> = { direct: 0, static: 0, composite: 0 };
  /**
   * Layered drawing while the camera is still and something is selected: the rest of the scene
   * is kept as a picture and only the selection (and gizmo) is drawn each frame. False draws
   * every frame whole (tests compare the two).
   */
  layered = true;
  private readonly layers: LayeredDraw;
  /** Gizmo modes whose drag look has been drawn once (see `warmGizmo`). */
  private readonly warmedModes = new Set<string>();
  /**
   * False skips the WebGL draw (everything else a frame does still runs): the bench uses it to
   * time the editor's own work apart from software rendering.
   */
  drawing = true;
  /**
   * Adaptive interaction quality: a drag, orbit or flight over a scene too heavy for the frame
   * budget draws at a lower pixel ratio with frozen shadows, and full quality once idle.
   */
  readonly quality: InteractionQuality;
  /** True while the orbit controls move the camera (orbit, pan, zoom). */
  private orbiting = false;
  readonly disposers: (() => void)[] = [];

  constructor(
    readonly container: HTMLElement,
    private readonly store: EditorStore,
    private readonly heightfields: ReadonlyMap<string, HeightfieldData>,
  ) {
    this.canvas.className = 'viewport-canvas';
    this.canvas.tabIndex = 0;
    this.marquee.className = 'marquee';
    container.append(this.canvas, this.marquee);
    this.renderer = createRenderer({ canvas: this.canvas });
    this.quality = new InteractionQuality(this.renderer);
    this.layers = new LayeredDraw(this.renderer);
    this.camera.position.set(18, 16, 22);

    // Registered before the controls' own listeners, so it decides what a left press does.
    const pre = (e: PointerEvent) => {
      this.orbit.mouseButtons.LEFT = e.altKey ? THREE.MOUSE.ROTATE : (-1 as THREE.MOUSE);
    };
    this.canvas.addEventListener('pointerdown', pre);
    this.orbit = new OrbitControls(this.camera, this.canvas);
    this.orbit.mouseButtons = { LEFT: -1 as THREE.MOUSE, MIDDLE: THREE.MOUSE.ROTATE, RIGHT: -1 as THREE.MOUSE };
    this.orbit.target.set(0, 0, 0);
    this.orbit.update();
    this.orbit.addEventListener('change', () => this.invalidate());
    this.orbit.addEventListener('start', () => (this.orbiting = true));
    this.orbit.addEventListener('end', () => (this.orbiting = false));

    this.gizmo = new TransformControls(this.camera, this.canvas);
    // The gizmo is drawn on the active layer; its own picking must still see it.
    this.gizmo.getRaycaster().layers.enableAll();
    this.gizmo.addEventListener('dragging-changed', (e) => this.onDragging(Boolean((e as unknown as { value: boolean }).value)));
    this.gizmo.addEventListener('objectChange', () => this.onGizmoMove());
    this.gizmo.addEventListener('change', () => {
      if (!this.snapChanging) this.invalidate();
    });

    this.editSim = this.makeSim(store.doc.value, RunMode.Editor);
    this.view = this.makeView(this.editSim, store.doc.value);
    this.pivot.name = 'selection pivot';
    // A faint grid that does not hide what stands on it or shout against a bright sky.
    for (const m of [this.grid.material].flat()) {
      m.transparent = true;
      m.opacity = 0.35;
      m.depthWrite = false;
    }
    this.addHelpers(this.view);
    // What the gizmo shows only while dragging (the axis line, start and end marks) is compiled
    // now, not in the first frame of the first drag.
    this.renderer.compile(this.gizmo.getHelper(), this.camera, this.view.scene);

    this.disposers.push(store.onChange((c) => this.follow(c.doc)));
    this.disposers.push(
      viewportSettings.mode.subscribe((m) => this.gizmo.setMode(m)),
      viewportSettings.space.subscribe((s) => this.gizmo.setSpace(s)),
      viewportSettings.snap.subscribe(() => this.applySnap()),
      viewportSettings.snapStep.subscribe(() => this.applySnap()),
      viewportSettings.angleStep.subscribe(() => this.applySnap()),
      viewportSettings.colliders.subscribe(() => this.refreshOverlays()),
      viewportSettings.spawns.subscribe(() => this.refreshOverlays()),
      viewportSettings.grid.subscribe((g) => {
        this.grid.visible = g;
        this.needsRender = true;
      }),
    );

    this.canvas.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.onPointerMove(e));
    this.canvas.addEventListener('pointerup', (e) => this.onPointerUp(e));
    this.canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Control' || e.key === 'Meta') {
        this.ctrlHeld = e.type === 'keydown';
        this.applySnap();
      }
      if (this.flying) {
        if (e.type === 'keydown') this.keys.add(e.code);
        else this.keys.delete(e.code);
      }
    };
    window.addEventListener('keydown', key);
    window.addEventListener('keyup', key);
    const blur = () => {
      this.keys.clear();
      this.ctrlHeld = false;
      this.applySnap();
    };
    window.addEventListener('blur', blur);
    this.disposers.push(() => {
      window.removeEventListener('keydown', key);
      window.removeEventListener('keyup', key);
      window.removeEventListener('blur', blur);
    });
    this.updateGizmo();
    this.frame(performance.now());
  }

  private makeSim(doc: SceneDocument, mode: RunMode, scripts?: Map<string, import('../../runtime/core/index.js').ScriptDefinition>): Simulation {
    return new Simulation({ scene: doc, mode, logger: silentLogger(), heightfields: this.heightfields, ...(scripts ? { scripts } : {}) });
  }

  private makeView(sim: Simulation, doc: SceneDocument): WorldView {
    return new WorldView({
      world: sim.world,
      heightfields: this.heightfields,
      environment: doc.settings.environment,
      // A model attaches a moment after it loads (the view's own then): draw after that.
      loadModel: (asset) => {
        const loading = loadGlb(assetUrl(asset));
        loading.then(
          () => setTimeout(() => this.invalidate(), 0),
          () => undefined,
        );
        return loading;
      },
    });
  }

  private addHelpers(view: WorldView): void {
    view.overlays.add(this.grid, this.overlays.group, this.pivot, this.gizmo.getHelper(), this.extras);
  }

  /** The document changed: bring the edit world in line (an invalid entity keeps its last valid look). */
  private follow(doc: SceneDocument): void {
    let onlyActive = false;
    try {
      const envBefore = this.editSim.scene.settings.environment;
      const diff = this.editSim.syncTo(doc);
      if (envBefore !== doc.settings.environment) this.view.setEnvironment(doc.settings.environment);
      onlyActive =
        envBefore === doc.settings.environment &&
        diff.added.length === 0 &&
        diff.removed.length === 0 &&
        diff.changed.every((c) => this.activeIds.has(c.after.id) && c.before.parent === c.after.parent);
    } catch {
      // The inspector shows the problem at its pointer; the view waits for a valid document.
    }
    // An edit of the selection alone (a drag's end, an inspector change) leaves the rest of the
    // scene as it was drawn, but for the shadows the selection casts on it.
    if (onlyActive) {
      this.activeOverlaysDirty = true;
      if (this.layers.hasShadows) this.layers.invalidate();
    } else this.overlaysDirty = true;
    this.needsRender = true;
    if (!this.drag) this.updateGizmo();
  }

  /** The selection and every entity under it (they move with it). */
  private activeSet(): Set<string> {
    const sel = new Set(this.store.selection.value);
    const active = new Set<string>();
    if (sel.size === 0) return active;
    const world = this.editSim.world;
    for (const e of world.values()) {
      for (let id: string | null = e.id, n = 0; id && n < 1000; id = world.get(id)?.parent ?? null, n++) {
        if (sel.has(id)) {
          active.add(e.id);
          break;
        }
      }
    }
    return active;
  }

  /** Draws the selection and what moves with it on the active layer (when the selection changed). */
  private updateActive(): void {
    const next = this.playSim ? new Set<string>() : this.activeSet();
    if (next.size === this.activeIds.size && [...next].every((id) => this.activeIds.has(id))) return;
    this.activeIds = next;
    this.view.setActive(next);
    this.overlaysDirty = true;
  }

  /** Ids that the gizmo moves: selected entities without a selected ancestor (children follow). */
  private movable(): string[] {
    const sel = new Set(this.store.selection.value);
    const world = this.editSim.world;
    return [...sel].filter((id) => {
      for (let p = world.get(id)?.parent ?? null, n = 0; p && n < 1000; p = world.get(p)?.parent ?? null, n++) if (sel.has(p)) return false;
      return world.get(id) !== undefined;
    });
  }

  private updateGizmo(): void {
    this.needsRender = true;
    this.updateActive();
    const ids = this.movable();
    if (ids.length === 0 || this.playSim) {
      this.gizmo.detach();
      return;
    }
    const world = this.editSim.world;
    const center = new THREE.Vector3();
    for (const id of ids) {
      const e = world.get(id)!;
      center.add(new THREE.Vector3(e.position[0], e.position[1], e.position[2]));
    }
    center.divideScalar(ids.length);
    const first = world.get(ids[0]!)!;
    this.pivot.position.copy(center);
    this.pivot.quaternion.set(first.rotation[0], first.rotation[1], first.rotation[2], first.rotation[3]);
    this.pivot.scale.set(1, 1, 1);
    this.pivot.updateMatrixWorld(true);
    if (this.gizmo.object !== this.pivot) this.gizmo.attach(this.pivot);
  }

  private applySnap(): void {
    const on = viewportSettings.snap.value !== this.ctrlHeld;
    // Snapping changes nothing drawn: the gizmo's change events are not redraws here (Ctrl, as
    // in Ctrl+S, would otherwise redraw the whole scene twice).
    this.snapChanging = true;
    try {
      this.gizmo.setTranslationSnap(on ? viewportSettings.snapStep.value : null);
      this.gizmo.setRotationSnap(on ? THREE.MathUtils.degToRad(viewportSettings.angleStep.value) : null);
      this.gizmo.setScaleSnap(on ? 0.1 : null);
    } finally {
      this.snapChanging = false;
    }
  }

  private onDragging(dragging: boolean): void {
    this.orbit.enabled = !dragging;
    if (dragging) {
      const world = this.editSim.world;
      const doc = this.store.doc.value;
      const byId = new Map(doc.entities.map((e) => [e.id, e]));
      this.drag = {
        pivotPos: this.pivot.position.clone(),
        pivotQuat: this.pivot.quaternion.clone(),
        items: this.movable().map((id) => {
          const e = world.get(id)!;
          const t = byId.get(id)?.components.transform;
          return {
            id,
            worldPos: new THREE.Vector3(...e.position),
            worldRot: new THREE.Quaternion(...e.rotation),
            scale: [...(t?.scale ?? [1, 1, 1])] as Vec3,
            hasTransform: t !== undefined,
            parent: e.parent,
          };
        }),
        edits: [],
      };
      const label = { translate: 'Move', rotate: 'Rotate', scale: 'Scale' }[this.gizmo.mode as GizmoMode] ?? 'Transform';
      this.store.begin(`${label} ${this.drag.items.length === 1 ? this.drag.items[0]!.id : `${this.drag.items.length} entities`}`);
    } else {
      const d = this.drag;
      this.drag = null;
      // The whole drag is one document edit: the document, the panels and the validator see
      // its end, not each mouse move.
      if (d && d.edits.length > 0 && !this.store.apply(d.edits.length === 1 ? d.edits[0]! : { op: 'batch', edits: d.edits })) this.unpreview(d);
      this.store.end();
      this.updateGizmo();
    }
  }

  /**
   * A gizmo move: the dragged entities of the edit world are posed directly (their children
   * follow), O(selection). The document is not touched until the drag ends.
   */
  private onGizmoMove(): void {
    const d = this.drag;
    if (!d) return;
    const mode = this.gizmo.mode as GizmoMode;
    const dq = this.pivot.quaternion.clone().multiply(d.pivotQuat.clone().invert());
    const world = this.editSim.world;
    const edits: SceneEdit[] = [];
    for (const it of d.items) {
      const wp = it.worldPos.clone().sub(d.pivotPos).applyQuaternion(dq).add(this.pivot.position);
      const wq = dq.clone().multiply(it.worldRot);
      const live = world.get(it.id);
      if (live) {
        if (mode === 'scale' && it.hasTransform) {
          const t = live.components.transform!;
          world.setComponent(live, 'transform', { ...t, scale: [it.scale[0] * this.pivot.scale.x, it.scale[1] * this.pivot.scale.y, it.scale[2] * this.pivot.scale.z] });
        } else if (mode !== 'scale') world.setPose(live, [wp.x, wp.y, wp.z], mode === 'rotate' || d.items.length > 1 ? [wq.x, wq.y, wq.z, wq.w] : undefined);
      }
      const parent = it.parent ? world.get(it.parent) : undefined;
      const [pp, pq]: [Vec3, Quat] = parent ? [parent.position, parent.rotation] : [[0, 0, 0], [0, 0, 0, 1]];
      const [lp, lq] = localPose(pp, pq, [wp.x, wp.y, wp.z], [wq.x, wq.y, wq.z, wq.w]);
      const position = roundVec(lp);
      const rotation = roundVec(eulerDegFromQuat(lq));
      const scale = roundVec([it.scale[0] * this.pivot.scale.x, it.scale[1] * this.pivot.scale.y, it.scale[2] * this.pivot.scale.z]);
      if (!it.hasTransform) {
        edits.push({ op: 'set', entity: it.id, path: '/components/transform', value: { position, rotation, scale } });
        continue;
      }
      if (mode === 'translate' || (mode === 'rotate' && d.items.length > 1)) edits.push({ op: 'set', entity: it.id, path: '/components/transform/position', value: position });
      if (mode === 'rotate') edits.push({ op: 'set', entity: it.id, path: '/components/transform/rotation', value: rotation });
      if (mode === 'scale') edits.push({ op: 'set', entity: it.id, path: '/components/transform/scale', value: scale });
    }
    d.edits = edits;
    this.activeOverlaysDirty = true;
    this.needsRender = true;
  }

  /** Puts the dragged entities back where the document has them (the drag's edit was refused). */
  private unpreview(d: DragStart): void {
    const world = this.editSim.world;
    const byId = new Map(this.store.doc.value.entities.map((e) => [e.id, e]));
    for (const it of d.items) {
      const live = world.get(it.id);
      const t = byId.get(it.id)?.components.transform;
      if (!live) continue;
      if (t) world.setComponent(live, 'transform', t);
      else world.setPose(live, [it.worldPos.x, it.worldPos.y, it.worldPos.z], [it.worldRot.x, it.worldRot.y, it.worldRot.z, it.worldRot.w]);
    }
    this.overlaysDirty = true;
    this.needsRender = true;
  }

  private ndc(clientX: number, clientY: number): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((clientX - r.left) / r.width) * 2 - 1, y: -((clientY - r.top) / r.height) * 2 + 1 };
  }

  private onPointerDown(e: PointerEvent): void {
    this.canvas.focus();
    if (e.button === 2) {
      this.flying = true;
      this.canvas.setPointerCapture(e.pointerId);
      return;
    }
    if (e.button !== 0 || e.altKey || this.playSim) return;
    // The gizmo's listener ran first: a press on a handle has started a drag.
    this.down = { x: e.clientX, y: e.clientY, button: e.button, additive: e.shiftKey || e.ctrlKey || e.metaKey, onGizmo: this.gizmo.dragging };
    if (!this.down.onGizmo) this.canvas.setPointerCapture(e.pointerId);
  }

  private onPointerMove(e: PointerEvent): void {
    if (this.flying) {
      const euler = new THREE.Euler().setFromQuaternion(this.camera.quaternion, 'YXZ');
      euler.y -= e.movementX * 0.004;
      euler.x = THREE.MathUtils.clamp(euler.x - e.movementY * 0.004, -1.55, 1.55);
      this.camera.quaternion.setFromEuler(euler);
      return;
    }
    if (this.gizmo.object) {
      this.needsRender = true; // hover highlight of the handles
      // Pointing at the gizmo is part of the interaction: its redraws are interactive frames.
      this.hovering = true;
    }
    const d = this.down;
    if (!d || d.onGizmo) return;
    const r = this.container.getBoundingClientRect();
    const x0 = Math.min(d.x, e.clientX) - r.left;
    const y0 = Math.min(d.y, e.clientY) - r.top;
    if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) < 4) return;
    Object.assign(this.marquee.style, { display: 'block', left: `${x0}px`, top: `${y0}px`, width: `${Math.abs(e.clientX - d.x)}px`, height: `${Math.abs(e.clientY - d.y)}px` });
  }

  private onPointerUp(e: PointerEvent): void {
    if (e.button === 2 && this.flying) {
      this.flying = false;
      this.keys.clear();
      const dist = Math.max(1, this.camera.position.distanceTo(this.orbit.target));
      this.orbit.target.copy(this.camera.position).add(new THREE.Vector3(0, 0, -dist).applyQuaternion(this.camera.quaternion));
      this.orbit.update();
      return;
    }
    const d = this.down;
    this.down = null;
    this.marquee.style.display = 'none';
    if (!d || d.onGizmo || e.button !== 0) return;
    const base = d.additive ? [...this.store.selection.value] : [];
    if (Math.abs(e.clientX - d.x) + Math.abs(e.clientY - d.y) < 4) {
      const id = this.view.pick(this.ndc(e.clientX, e.clientY), this.camera);
      if (id === null) {
        if (!d.additive) this.store.select([]);
      } else if (d.additive && base.includes(id)) this.store.select(base.filter((x) => x !== id));
      else this.store.select([...base, id]);
      return;
    }
    const a = this.ndc(d.x, d.y);
    const b = this.ndc(e.clientX, e.clientY);
    const [xmin, xmax, ymin, ymax] = [Math.min(a.x, b.x), Math.max(a.x, b.x), Math.min(a.y, b.y), Math.max(a.y, b.y)];
    const hits: string[] = [];
    const v = new THREE.Vector3();
    for (const ent of this.editSim.world.values()) {
      v.set(ent.position[0], ent.position[1], ent.position[2]).project(this.camera);
      if (v.z < 1 && v.x >= xmin && v.x <= xmax && v.y >= ymin && v.y <= ymax) hits.push(ent.id);
    }
    this.store.select([...base, ...hits.filter((h) => !base.includes(h))]);
  }

  /** Points the camera at the selection (or the whole scene when nothing is selected). */
  frameSelection(): void {
    const world = this.editSim.world;
    const ids = this.store.selection.value.length > 0 ? this.store.selection.value : [...world.values()].map((e) => e.id);
    const box = new THREE.Box3();
    for (const id of ids) {
      const e = world.get(id);
      if (!e) continue;
      const h = halfExtents(e.components);
      const c = new THREE.Vector3(...e.position);
      box.expandByPoint(c.clone().sub(h)).expandByPoint(c.clone().add(h));
    }
    if (box.isEmpty()) return;
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    const dir = this.camera.position.clone().sub(this.orbit.target).normalize();
    const dist = Math.max(2, sphere.radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2))) * 1.1;
    this.orbit.target.copy(sphere.center);
    this.camera.position.copy(sphere.center).add(dir.multiplyScalar(dist));
    this.orbit.update();
  }

  /** The camera's position, and the directions it looks along and holds up (for tests and tools). */
  cameraPose(): { position: Vec3; forward: Vec3; up: Vec3 } {
    const q = this.camera.quaternion;
    const dir = (v: THREE.Vector3) => v.applyQuaternion(q).toArray() as Vec3;
    return { position: this.camera.position.toArray() as Vec3, forward: dir(new THREE.Vector3(0, 0, -1)), up: dir(new THREE.Vector3(0, 1, 0)) };
  }

  /** Where a point of the world appears on the page (client pixels), for tests and tools. */
  toClient(p: Readonly<Vec3>): { x: number; y: number } {
    const v = new THREE.Vector3(p[0], p[1], p[2]).project(this.camera);
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + ((v.x + 1) / 2) * r.width, y: r.top + ((1 - v.y) / 2) * r.height };
  }

  /** A point on a translate handle of the gizmo (`t` along the arrow, in handle units), in client pixels. */
  gizmoHandle(axis: 'X' | 'Y' | 'Z', t = 0.4): { x: number; y: number } | null {
    if (!this.gizmo.object) return null;
    const pos = this.pivot.getWorldPosition(new THREE.Vector3());
    // The same size rule the gizmo draws itself with (TransformControlsGizmo.updateMatrixWorld).
    const factor = pos.distanceTo(this.camera.position) * Math.min((1.9 * Math.tan((Math.PI * this.camera.fov) / 360)) / this.camera.zoom, 7);
    const dir = new THREE.Vector3(axis === 'X' ? 1 : 0, axis === 'Y' ? 1 : 0, axis === 'Z' ? 1 : 0);
    if (this.gizmo.space === 'local') dir.applyQuaternion(this.pivot.quaternion);
    // The gizmo flips an arrow that points away from the eye.
    if (dir.dot(this.camera.position.clone().sub(pos).normalize()) < 0) dir.negate();
    const p = pos.add(dir.multiplyScalar((t * factor * this.gizmo.size) / 4));
    return this.toClient([p.x, p.y, p.z]);
  }

  /** Starts Play: a fresh Simulation from an immutable copy of the document, drawn instead of the edit world. */
  play(doc: SceneDocument, scripts: Map<string, import('../../runtime/core/index.js').ScriptDefinition>, mode: RunMode = RunMode.Client): void {
    this.stop();
    // A deep copy: nothing the play world does can reach the document.
    const copy = structuredClone(doc);
    // Play runs what the client runs and what is marked for the editor: one mode per Simulation,
    // so an editor-only script is marked for the client in the copy (never in the document).
    for (const e of copy.entities) {
      const s = e.components.script;
      if (s && s.modes.includes('editor') && !s.modes.includes('client')) s.modes = [...s.modes, 'client'];
    }
    this.playApp = new App({ name: 'editor (play)', simulation: { scene: copy, mode, logger: silentLogger(), heightfields: this.heightfields, scripts }, plugins: [editorPlayPlugins] });
    this.playApp.start();
    this.playSim = this.playApp.sim;
    this.playView = this.makeView(this.playSim, copy);
    this.playView.overlays.add(this.grid);
    this.stepper = new FrameStepper(copy.settings.tickRate);
    this.gizmo.detach();
  }

  /** Ends Play: the play world is thrown away and the edit world is drawn again. */
  stop(): void {
    if (!this.playSim) return;
    this.playView?.dispose();
    this.playApp?.dispose();
    this.playApp = null;
    this.playSim = null;
    this.playView = null;
    this.stepper = null;
    this.view.overlays.add(this.grid);
    this.updateGizmo();
    this.needsRender = true;
  }

  get playTick(): number {
    return this.playSim?.tickNumber ?? 0;
  }

  /** Entity ids drawn by the current view (edit or play world). */
  get drawnEntities(): number {
    return (this.playView ?? this.view).size;
  }

  private fly(dt: number): void {
    if (!this.flying || this.keys.size === 0) return;
    const speed = (this.keys.has('ShiftLeft') ? 20 : 6) * dt;
    const move = new THREE.Vector3(
      (this.keys.has('KeyD') ? 1 : 0) - (this.keys.has('KeyA') ? 1 : 0),
      (this.keys.has('KeyE') ? 1 : 0) - (this.keys.has('KeyQ') ? 1 : 0),
      (this.keys.has('KeyS') ? 1 : 0) - (this.keys.has('KeyW') ? 1 : 0),
    );
    this.camera.position.add(move.multiplyScalar(speed).applyQuaternion(this.camera.quaternion));
  }

  private frame = (now: number): void => {
    this.raf = requestAnimationFrame(this.frame);
    const dt = this.lastFrame ? Math.min(0.1, (now - this.lastFrame) / 1000) : 0;
    // What the last drawn frame cost: its draw call may return at once while the GPU (or a
    // software rasteriser in another process) still works, and the wait lands before this
    // callback; so the time to this frame counts as well as the draw call itself. A frame that
    // reused the kept static layer says nothing about the scene's cost.
    if (this.drawnAt !== null) this.quality.afterFrame(Math.max(this.lastDrawMs, now - this.drawnAt), this.lastDrawKind === 'composite');
    this.drawnAt = null;
    this.lastFrame = now;
    this.fly(dt);
    if (this.flying) this.needsRender = true;
    const view = this.playView ?? this.view;
    // Before the view is synced: its culling uses the camera's aspect.
    const resized = resizeToDisplay(this.renderer, this.camera);
    const t0 = performance.now();
    if (this.playSim && this.stepper) this.stepper.advance(now, (stepDt, tick) => this.playSim!.tick(stepDt, tick));
    if (!this.playSim) this.updateOverlays();
    view.sync(this.camera);
    // Layered while the camera stands still over a selection: only what moves is drawn anew.
    const layered = this.layered && !this.playSim && this.activeIds.size > 0 && !this.orbiting && !this.flying;
    const cheap = layered && this.layers.isCurrent(this.camera, this.staticRevision());
    // Interactions in the edit world only: Play draws every frame at full quality as the client does.
    if (this.quality.beforeFrame(now, !this.playSim && (this.drag !== null || this.orbiting || this.flying || this.hovering), cheap)) this.needsRender = true;
    this.hovering = false;
    // Drawn on change only: a large scene in software WebGL takes long to draw, and an idle
    // editor must leave the main thread free.
    if (!this.playSim && !this.needsRender && !resized) return;
    this.needsRender = false;
    this.overlays.group.visible = !this.playSim;
    this.view.coarse = this.quality.isReduced;
    this.renderer.info.reset();
    const t1 = performance.now();
    if (this.drawing) {
      if (layered) this.warmGizmo(view);
      this.draw(view, layered);
    }
    const t2 = performance.now();
    this.lastDrawMs = t2 - t1;
    if (this.drawing) {
      this.drawnAt = now;
      this.framesDrawn++;
    }
    this.longestFrameMs = Math.max(this.longestFrameMs, t2 - t0);
  };

  /**
   * Draws the gizmo once as a drag shows it (its axis line, start and end marks), under the
   * frame about to be drawn, which covers it. The first draw of something in a new state is
   * slow where the pipeline for it is built on first use (software WebGL, some drivers): done
   * here, with the selection's own frame, it stays out of the first frame of the first drag.
   */
  private warmGizmo(view: WorldView): void {
    const mode = this.gizmo.mode;
    if (this.warmedModes.has(mode) || !this.gizmo.object || this.gizmo.dragging) return;
    this.warmedModes.add(mode);
    // The gizmo's look (TransformControlsGizmo) follows these two; set on it directly, the
    // controls themselves see no drag begin.
    const look = (this.gizmo as unknown as { _gizmo: { axis: string | null; dragging: boolean } })._gizmo;
    const { axis, dragging } = look;
    look.axis = 'X';
    look.dragging = true;
    try {
      this.layers.drawActive(view.scene, this.camera, [this.gizmo.getHelper()]);
    } finally {
      look.axis = axis;
      look.dragging = dragging;
    }
  }

  private draw(view: WorldView, layered: boolean): DrawKind {
    const kind = layered
      ? this.layers.drawLayered(view.scene, this.camera, { revision: this.staticRevision(), activeRoots: [this.overlays.activeGroup, this.gizmo.getHelper(), this.extras] })
      : this.layers.drawDirect(view.scene, this.camera);
    this.lastDrawKind = kind;
    this.drawKinds[kind]++;
    return kind;
  }

  /**
   * Draws the edit view now, layered (over the kept picture, drawing it first if stale; only
   * with a selection) or whole, and reads the frame back: RGBA, bottom row first. For tests that
   * hold the two ways of drawing against each other.
   */
  capture(layered: boolean): { kind: DrawKind; width: number; height: number; pixels: Uint8Array } {
    this.updateOverlays();
    resizeToDisplay(this.renderer, this.camera);
    this.view.sync(this.camera);
    const kind = this.draw(this.view, layered && this.activeIds.size > 0);
    const gl = this.renderer.getContext();
    const pixels = new Uint8Array(gl.drawingBufferWidth * gl.drawingBufferHeight * 4);
    gl.readPixels(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    return { kind, width: gl.drawingBufferWidth, height: gl.drawingBufferHeight, pixels };
  }

  /** What the kept static layer depends on besides the camera: the edit view, the still overlays, the grid. */
  private staticRevision(): string {
    return `${this.view.staticRevision}:${this.overlays.staticRevision}:${this.grid.visible ? 1 : 0}`;
  }

  private updateOverlays(): void {
    const show = { colliders: viewportSettings.colliders.value, spawns: viewportSettings.spawns.value };
    const selected = new Set(this.store.selection.value);
    if (this.overlaysDirty) this.overlays.rebuild(this.editSim.world.values(), selected, show, this.activeIds);
    else if (this.activeOverlaysDirty) {
      const world = this.editSim.world;
      this.overlays.rebuildActive(
        [...this.activeIds].flatMap((id) => world.get(id) ?? []),
        selected,
        show,
      );
    }
    this.overlaysDirty = false;
    this.activeOverlaysDirty = false;
  }

  /**
   * The selection was set (changed or not): the active layer follows it, and the selection
   * boxes, which are all on it, are redrawn. The rest of the scene is rebuilt only when the
   * active set changed.
   */
  selectionChanged(): void {
    if (!this.drag) this.updateGizmo();
    this.activeOverlaysDirty = true;
    this.needsRender = true;
  }

  /** Marks every overlay for a rebuild (what they show changed). */
  refreshOverlays(): void {
    this.overlaysDirty = true;
    this.needsRender = true;
  }

  /** Asks for a redraw on the next frame. */
  invalidate(): void {
    this.needsRender = true;
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.stop();
    for (const d of this.disposers) d();
    this.gizmo.dispose();
    this.orbit.dispose();
    this.view.dispose();
    this.editSim.dispose();
    this.overlays.dispose();
    this.layers.dispose();
    this.renderer.dispose();
  }
}
