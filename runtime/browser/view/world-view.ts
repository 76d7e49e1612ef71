import * as THREE from 'three';
import { normaliseAssetPath, type Entity, type HeightfieldData, type World, type WorldEvent } from '../../core/index.js';
import { applyEnvironment, type EnvironmentSettings } from './environment.js';
import { GeometryCache, standardMaterial, terrainGeometry } from './geometry.js';
import { CameraStamp } from './camera-stamp.js';
import { ACTIVE_LAYER } from './layered-draw.js';
import { buildLight } from './lights.js';
import { MeshBatch, type InstanceVisibility } from './mesh-batch.js';

export interface WorldViewOptions {
  world: World;
  /** Heightfield assets by normalised asset path: heightfield colliders are drawn as terrain. */
  heightfields?: ReadonlyMap<string, HeightfieldData>;
  /** Loads a `model` mesh's asset (a GLB); its meshes are drawn instanced like primitives. */
  loadModel?: (asset: string) => Promise<THREE.Object3D>;
  /** The scene's `settings.environment`; a neutral sky when absent. */
  environment?: EnvironmentSettings;
  /** Entities not to draw (their anchor still exists), e.g. a first-person player's own body. */
  hidden?: (entity: Entity) => boolean;
}

/** What the view keeps per entity. */
interface Visual {
  readonly entity: Entity;
  /** Posed like the entity; lights, cameras, models and overlays hang under it. */
  readonly anchor: THREE.Object3D;
  /** Where the entity is drawn: its slot in each batch, and the part's pose within the entity (models). */
  readonly parts: Map<MeshBatch, { slot: number; local: THREE.Matrix4 | null }>;
  readonly scale: THREE.Vector3;
  /** `entity.version` when last placed. */
  version: number;
  /** Bumped when the visual is rebuilt, so a model that finishes loading late is dropped. */
  generation: number;
  /** The anchor's pose lags the entity's: refreshed on demand while nothing hangs under it. */
  anchorStale: boolean;
}

/** One mesh of a loaded model: shared geometry and material, and its pose within the model. */
interface ModelPart {
  geometry: THREE.BufferGeometry;
  material: THREE.Material;
  local: THREE.Matrix4;
}

const tmpMatrix = new THREE.Matrix4();
const tmpPart = new THREE.Matrix4();
const WHITE = new THREE.Color(1, 1, 1);
const tmpPosition = new THREE.Vector3();
const tmpQuaternion = new THREE.Quaternion();
const tmpFrustumMatrix = new THREE.Matrix4();

/**
 * A three.js view of a core `World`: it builds objects from the entities' components and
 * follows the world's events (added, removed, changed) and poses (`sync`, once per frame). It
 * is never the source of truth: edits go to the world (or the document behind it) and the view
 * follows. Simulation stepping is not its business either; whoever owns the frame calls `sync`
 * then renders `scene` with a camera.
 *
 * Meshes with the same geometry and surface are drawn as one InstancedMesh, colour per instance. Every entity has
 * an anchor Object3D (`anchorOf`) to attach overlays to, and `pick` maps a ray hit back to an
 * entity id, whether it hit an instance, a model or the terrain.
 *
 * Entities named by `setActive` (an editor's selection, which a drag moves) are drawn on
 * `ACTIVE_LAYER` in batches of their own, and `staticRevision` counts changes to everything
 * else: a `LayeredDraw` keeps the rest as a picture while only they move.
 */
export class WorldView {
  /** The three.js scene to render. */
  readonly scene = new THREE.Scene();
  /** Entity anchors and what hangs under them. */
  readonly root = new THREE.Group();
  /** Instanced meshes, one per geometry and material. */
  readonly batchRoot = new THREE.Group();
  /** Overlays and gizmos: drawn, never picked, never touched by the view. */
  readonly overlays = new THREE.Group();
  /** Used when the scene has no active camera entity. */
  readonly defaultCamera = new THREE.PerspectiveCamera(60, 16 / 9, 0.1, 1000);

  private readonly world: World;
  private readonly visuals = new Map<string, Visual>();
  private readonly batches = new Map<string, MeshBatch>();
  private coarseOn = false;
  private active: ReadonlySet<string> = new Set();
  /** Lights whose shadows are drawn: what they cover is not culled. */
  private readonly shadowLights = new Set<THREE.Light>();
  private staticRev = 0;
  private rev = 0;
  /** The revision and the camera of the last sync (see `sync`). */
  private syncedRevision = -1;
  private readonly syncedCamera = new CameraStamp();
  private readonly cache = new GeometryCache();
  private readonly models = new Map<string, Promise<ModelPart[]>>();
  private readonly ownedResources: { dispose(): void }[] = [];
  private readonly unsubscribe: () => void;
  private undoEnvironment: () => void;
  private readonly opts: WorldViewOptions;
  private camera: THREE.PerspectiveCamera | null = null;

  constructor(opts: WorldViewOptions) {
    this.opts = opts;
    this.world = opts.world;
    this.root.name = 'entities';
    this.batchRoot.name = 'batches';
    this.overlays.name = 'overlays';
    this.scene.add(this.root, this.batchRoot, this.overlays);
    this.defaultCamera.position.set(0, 15, 25);
    this.defaultCamera.lookAt(0, 0, 0);
    this.undoEnvironment = applyEnvironment(this.scene, opts.environment);
    for (const e of this.world.values()) this.build(e);
    this.unsubscribe = this.world.on((ev) => this.onWorldEvent(ev));
  }

  /** The active camera entity's camera (the first with `camera.active`), else `defaultCamera`. */
  get activeCamera(): THREE.PerspectiveCamera {
    return this.camera ?? this.defaultCamera;
  }

  /** Number of entities the view holds. */
  get size(): number {
    return this.visuals.size;
  }

  /**
   * Whether primitives are drawn with their low-poly stand-ins (an editor's interactive frames
   * over a scene too heavy for the frame budget); off draws the full geometry.
   */
  get coarse(): boolean {
    return this.coarseOn;
  }

  set coarse(on: boolean) {
    if (on === this.coarseOn) return;
    this.coarseOn = on;
    for (const b of this.batches.values()) b.coarse = on;
    this.staticRev++;
  }

  /**
   * Counts changes to what is drawn on layer 0 (every entity not `setActive`, the environment,
   * coarse or full geometry): unchanged, a kept picture of that layer is still true.
   */
  get staticRevision(): number {
    return this.staticRev;
  }

  /**
   * Counts changes to anything the view draws (what `staticRevision` counts, the active
   * entities too, and what culling keeps): unchanged since a frame was drawn with the same
   * camera, that frame is still true, and a page may skip drawing it again.
   */
  get revision(): number {
    return this.rev + this.staticRev;
  }

  /**
   * Draws these entities on `ACTIVE_LAYER`, in batches of their own, and every other entity on
   * layer 0. Entities that change layer are rebuilt (O(changed)).
   */
  setActive(ids: Iterable<string>): void {
    const next = new Set(ids);
    const moved = [...this.active].filter((id) => !next.has(id));
    for (const id of next) if (!this.active.has(id)) moved.push(id);
    this.active = next;
    if (moved.length === 0) return;
    for (const id of moved) {
      const v = this.visuals.get(id);
      if (!v) continue;
      this.destroy(id);
      this.build(v.entity);
    }
    this.staticRev++;
  }

  /** Number of instanced batches (each one draw call, plus its shadow pass). */
  get batchCount(): number {
    return this.batches.size;
  }

  /** The anchor of an entity: an Object3D posed like it, to attach overlays, labels or gizmos to. */
  anchorOf(id: string): THREE.Object3D | undefined {
    const v = this.visuals.get(id);
    if (v?.anchorStale) this.poseAnchor(v);
    return v?.anchor;
  }

  /** The entity an object belongs to (an anchor or anything under one), or of an instance of a batch. */
  entityIdOf(object: THREE.Object3D, instanceId?: number): string | null {
    const batch = object.userData.keelBatch as MeshBatch | undefined;
    if (batch) {
      const slot = instanceId === undefined ? undefined : batch.drawnSlot(instanceId);
      return slot === undefined ? null : (batch.ids[slot] ?? null);
    }
    for (let o: THREE.Object3D | null = object; o; o = o.parent) {
      if (typeof o.userData.keelEntity === 'string') return o.userData.keelEntity;
    }
    return null;
  }

  /**
   * The entity under a point of the screen, nearest first: `ndc` in normalised device
   * coordinates (-1..1, y up). Overlays are not picked.
   */
  pick(ndc: { x: number; y: number }, camera: THREE.Camera = this.activeCamera): string | null {
    const ray = new THREE.Raycaster();
    ray.layers.enableAll();
    ray.setFromCamera(new THREE.Vector2(ndc.x, ndc.y), camera);
    const hits = ray.intersectObjects([this.batchRoot, this.root], true);
    for (const h of hits) {
      const id = this.entityIdOf(h.object, h.instanceId);
      if (id) return id;
    }
    return null;
  }

  /** Sets the scene's environment (background or sky, fog, ambient). */
  setEnvironment(env: EnvironmentSettings | undefined): void {
    this.undoEnvironment();
    this.undoEnvironment = applyEnvironment(this.scene, env);
    this.staticRev++;
  }

  /**
   * Copies the pose of every entity that moved since the last call into its anchor and its
   * instance, and queues the instance buffers for upload. Call once per frame before rendering.
   * With the camera the frame is drawn with, instances are culled one by one: only entities
   * the camera can see, or whose shadows it might, are drawn.
   */
  sync(camera?: THREE.Camera): void {
    for (const v of this.visuals.values()) {
      if (v.entity.version !== v.version) this.place(v);
    }
    // Nothing changed since the last sync with this camera where it stands: the batches hold
    // what they should (an idle editor syncs every animation frame).
    if (camera && this.syncedRevision === this.revision && this.syncedCamera.matches(camera)) return;
    const visible = camera ? this.visibility(camera) : undefined;
    for (const b of this.batches.values()) if (b.flush(visible)) this.rev++;
    if (camera) this.syncedCamera.record(camera);
    else this.syncedCamera.clear();
    this.syncedRevision = this.revision;
  }

  /**
   * What a camera may see: its frustum, and for each shadow-casting light what the light's
   * shadow covers (an entity out of view can cast a shadow into it). Undefined: everything (a
   * point light's shadow without a range reaches everywhere).
   */
  private visibility(camera: THREE.Camera): InstanceVisibility | undefined {
    // Planes of every frustum as flat [nx, ny, nz, d] quadruples: a sphere is kept when it is
    // within one frustum (on the inner side of all six of its planes, less its radius).
    const planes: number[] = [];
    const addFrustum = (c: THREE.Camera) => {
      for (const p of frustumOf(c).planes) planes.push(p.normal.x, p.normal.y, p.normal.z, p.constant);
    };
    addFrustum(camera);
    const balls: number[] = [];
    for (const light of this.shadowLights) {
      light.updateWorldMatrix(true, true);
      if (light instanceof THREE.PointLight) {
        if (light.distance <= 0) return undefined;
        const p = light.getWorldPosition(new THREE.Vector3());
        balls.push(p.x, p.y, p.z, light.distance);
      } else {
        const shadow = (light as THREE.DirectionalLight | THREE.SpotLight).shadow;
        shadow.updateMatrices(light);
        addFrustum(shadow.camera);
      }
    }
    return (x, y, z, r) => {
      for (let f = 0; f < planes.length; f += 24) {
        let inside = true;
        for (let p = f; p < f + 24 && inside; p += 4) inside = planes[p]! * x + planes[p + 1]! * y + planes[p + 2]! * z + planes[p + 3]! >= -r;
        if (inside) return true;
      }
      for (let b = 0; b < balls.length; b += 4) {
        const dx = x - balls[b]!;
        const dy = y - balls[b + 1]!;
        const dz = z - balls[b + 2]!;
        if (dx * dx + dy * dy + dz * dz <= (r + balls[b + 3]!) ** 2) return true;
      }
      return false;
    };
  }

  /** Stops following the world and frees what the view created on the GPU. */
  dispose(): void {
    this.unsubscribe();
    for (const id of [...this.visuals.keys()]) this.destroy(id);
    for (const b of this.batches.values()) b.dispose();
    this.batches.clear();
    this.cache.dispose();
    for (const r of this.ownedResources) r.dispose();
    this.undoEnvironment();
  }

  private onWorldEvent(ev: WorldEvent): void {
    if (ev.type === 'added') this.build(ev.entity);
    else if (ev.type === 'removed') this.destroy(ev.entity.id);
    else if (ev.type === 'changed') {
      this.destroy(ev.entity.id);
      this.build(ev.entity);
    }
    // 'posed', 'reparented', 'relabelled': the pose comes through the entity's version in sync().
  }

  private build(e: Entity): void {
    const c = e.components;
    const anchor = new THREE.Object3D();
    anchor.name = e.id;
    anchor.userData.keelEntity = e.id;
    anchor.matrixAutoUpdate = false;
    const s = c.transform?.scale ?? [1, 1, 1];
    const v: Visual = { entity: e, anchor, parts: new Map(), scale: new THREE.Vector3(s[0], s[1], s[2]), version: -1, generation: 0, anchorStale: true };
    const hidden = this.opts.hidden?.(e) ?? false;
    const active = this.active.has(e.id);
    this.changed(e.id);
    if (c.mesh && !hidden) {
      const key = GeometryCache.meshKey(c.mesh);
      const material = c.material ?? { color: '#cccccc', roughness: 0.8, metalness: 0, opacity: 1 };
      if (key !== null) {
        const batch = this.batch(`${key}|${GeometryCache.materialKey(material)}`, active, () => this.cache.geometry(c.mesh!), () => this.cache.material(material), () => this.cache.coarseGeometry(c.mesh!));
        v.parts.set(batch, { slot: batch.add(e.id, composeMatrix(e, v.scale), new THREE.Color(material.color)), local: null });
      } else if (c.mesh.shape === 'model') {
        this.attachModel(v, c.mesh.asset);
      }
    }
    if (c.collider?.shape === 'heightfield' && !c.mesh && !hidden) {
      const hf = this.opts.heightfields?.get(normaliseAssetPath(c.collider.asset) ?? c.collider.asset);
      if (hf) {
        const geometry = terrainGeometry(hf, c.collider.elementSize, c.collider.offset);
        const material = standardMaterial(c.material ?? { color: '#4a7c3a', roughness: 1, metalness: 0, opacity: 1 });
        const terrain = new THREE.Mesh(geometry, material);
        terrain.name = `${e.id} terrain`;
        terrain.receiveShadow = true;
        terrain.userData.keelOwned = true;
        anchor.add(terrain);
      }
    }
    if (c.light) {
      const light = buildLight(c.light);
      anchor.add(light);
      if (light.castShadow) this.shadowLights.add(light);
    }
    if (active) {
      // Its terrain moves with it; lights light both layers (the layered draw sees to that).
      anchor.traverse((o) => {
        if (!(o instanceof THREE.Light)) o.layers.set(ACTIVE_LAYER);
      });
    }
    if (c.camera) {
      const cam = new THREE.PerspectiveCamera(c.camera.fov, 16 / 9, c.camera.near, c.camera.far);
      cam.name = `${e.id} camera`;
      anchor.add(cam);
      if (c.camera.active && !this.camera) this.camera = cam;
    }
    this.root.add(anchor);
    this.visuals.set(e.id, v);
    this.place(v);
  }

  private destroy(id: string): void {
    const v = this.visuals.get(id);
    if (!v) return;
    this.visuals.delete(id);
    v.generation++;
    this.changed(id);
    for (const [batch, part] of v.parts) {
      const moved = batch.remove(part.slot);
      if (moved !== null) this.visuals.get(moved)!.parts.get(batch)!.slot = part.slot;
      if (batch.count === 0) {
        batch.dispose();
        this.batches.delete(batch.key);
      }
    }
    v.parts.clear();
    v.anchor.traverse((o) => {
      if (o.userData.keelOwned && o instanceof THREE.Mesh) {
        o.geometry.dispose();
        (o.material as THREE.Material).dispose();
      }
      if (o === this.camera) this.camera = null;
      if (o instanceof THREE.Light) {
        this.shadowLights.delete(o);
        o.dispose();
      }
    });
    this.root.remove(v.anchor);
    if (!this.camera) this.findActiveCamera();
  }

  private findActiveCamera(): void {
    for (const v of this.visuals.values()) {
      if (!v.entity.components.camera?.active) continue;
      const cam = v.anchor.children.find((o): o is THREE.PerspectiveCamera => o instanceof THREE.PerspectiveCamera);
      if (cam) {
        this.camera = cam;
        return;
      }
    }
  }

  private place(v: Visual): void {
    const e = v.entity;
    v.version = e.version;
    // A new version need not be a move (a body set to where it was): only a move counts in the
    // revisions.
    let moved = false;
    // Most entities are only instances: their anchors are posed when something hangs under them
    // or someone asks for them, not for every move.
    if (v.anchor.children.length > 0) {
      const p = v.anchor.position;
      const q = v.anchor.quaternion;
      moved = p.x !== e.position[0] || p.y !== e.position[1] || p.z !== e.position[2] || q.x !== e.rotation[0] || q.y !== e.rotation[1] || q.z !== e.rotation[2] || q.w !== e.rotation[3];
      this.poseAnchor(v);
    } else v.anchorStale = true;
    if (v.parts.size > 0) {
      const m = composeMatrix(e, v.scale);
      for (const [batch, part] of v.parts) moved = batch.setMatrix(part.slot, part.local ? tmpPart.multiplyMatrices(m, part.local).elements : m.elements) || moved;
    }
    if (moved) this.changed(e.id);
  }

  /** Counts a change to what an entity looks like: in `staticRevision` unless it is active, in `revision` either way. */
  private changed(id: string): void {
    if (this.active.has(id)) this.rev++;
    else this.staticRev++;
  }

  private batch(shared: string, active: boolean, geometry: () => THREE.BufferGeometry, material: () => THREE.Material, coarse?: () => THREE.BufferGeometry): MeshBatch {
    const key = active ? `${shared}#active` : shared;
    let batch = this.batches.get(key);
    if (!batch) {
      batch = new MeshBatch(key, geometry(), material(), this.batchRoot, 4, coarse?.());
      batch.coarse = this.coarseOn;
      if (active) batch.layer = ACTIVE_LAYER;
      this.batches.set(key, batch);
    }
    return batch;
  }

  /** Draws a model's meshes instanced, one batch per mesh of the model, once it has loaded. */
  private poseAnchor(v: Visual): void {
    const e = v.entity;
    v.anchor.position.set(e.position[0], e.position[1], e.position[2]);
    v.anchor.quaternion.set(e.rotation[0], e.rotation[1], e.rotation[2], e.rotation[3]);
    v.anchor.updateMatrix();
    v.anchorStale = false;
  }

  private attachModel(v: Visual, asset: string): void {
    const load = this.opts.loadModel;
    if (!load) return;
    let pending = this.models.get(asset);
    if (!pending) {
      pending = load(asset).then(modelParts);
      this.models.set(asset, pending);
    }
    const generation = v.generation;
    pending.then(
      (parts) => {
        if (this.visuals.get(v.entity.id) !== v || v.generation !== generation) return;
        const m = composeMatrix(v.entity, v.scale);
        const active = this.active.has(v.entity.id);
        this.changed(v.entity.id);
        parts.forEach((part, i) => {
          const batch = this.batch(`model:${asset}#${i}`, active, () => part.geometry, () => part.material);
          v.parts.set(batch, { slot: batch.add(v.entity.id, tmpPart.multiplyMatrices(m, part.local), WHITE), local: part.local });
        });
      },
      () => {
        // The loader reports its own failure (the app shows it); the entity stays undrawn.
      },
    );
  }
}

/** The meshes of a loaded model with their poses relative to its root. */
function modelParts(root: THREE.Object3D): ModelPart[] {
  root.updateMatrixWorld(true);
  const inverse = root.matrixWorld.clone().invert();
  const parts: ModelPart[] = [];
  root.traverse((o) => {
    if (!(o instanceof THREE.Mesh)) return;
    const materials = Array.isArray(o.material) ? o.material : [o.material];
    const local = inverse.clone().multiply(o.matrixWorld);
    // A mesh with several materials keeps its groups: draw it once per material.
    if (materials.length === 1) parts.push({ geometry: o.geometry, material: materials[0]!, local });
    else for (const m of materials) parts.push({ geometry: o.geometry, material: m, local });
  });
  return parts;
}

function composeMatrix(e: Entity, scale: THREE.Vector3): THREE.Matrix4 {
  tmpPosition.set(e.position[0], e.position[1], e.position[2]);
  tmpQuaternion.set(e.rotation[0], e.rotation[1], e.rotation[2], e.rotation[3]);
  return tmpMatrix.compose(tmpPosition, tmpQuaternion, scale);
}

function frustumOf(camera: THREE.Camera): THREE.Frustum {
  camera.updateMatrixWorld();
  return new THREE.Frustum().setFromProjectionMatrix(tmpFrustumMatrix.multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse));
}
