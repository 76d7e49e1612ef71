import * as THREE from 'three';

/** Whether a bounding sphere (world centre and radius) is to be drawn. */
export type InstanceVisibility = (x: number, y: number, z: number, radius: number) => boolean;

/**
 * Every entity drawn with one geometry and one kind of surface (roughness, metalness, opacity),
 * as one InstancedMesh with a colour per instance: one draw call however many entities share
 * the shape, whatever their colours. Slots are packed (a removed entity's slot takes the
 * last one), and the buffers grow by doubling, so adds and removes cost O(1).
 *
 * The batch keeps every slot's matrix and colour itself; `flush` writes what is to be drawn
 * into the mesh's instance buffers: every slot, or only those a visibility test keeps (frustum
 * culling per instance: a camera inside a large scene draws the part it sees). The mesh's
 * instance `i` is then slot `drawnSlot(i)`.
 */
export class MeshBatch {
  mesh: THREE.InstancedMesh;
  /** Entity id per slot, `ids[slot]`. */
  readonly ids: string[] = [];
  private matrices: Float32Array;
  private colors: Float32Array;
  /** The slot of each drawn instance, in drawing order; the mesh draws the first `drawn`. */
  private order: Uint32Array;
  private drawn = 0;
  private dirty = false;
  private coarseOn = false;
  private layerOn = 0;

  constructor(
    readonly key: string,
    private readonly geometry: THREE.BufferGeometry,
    private readonly material: THREE.Material,
    private readonly parent: THREE.Object3D,
    capacity = 4,
    /** A low-poly stand-in drawn instead while `coarse` is on (interactive frames). */
    private readonly coarseGeometry: THREE.BufferGeometry = geometry,
  ) {
    this.matrices = new Float32Array(capacity * 16);
    this.colors = new Float32Array(capacity * 3);
    this.order = new Uint32Array(capacity);
    this.mesh = this.create(capacity);
  }

  /** Whether the low-poly stand-in is drawn. */
  get coarse(): boolean {
    return this.coarseOn;
  }

  set coarse(on: boolean) {
    this.coarseOn = on;
    this.mesh.geometry = on ? this.coarseGeometry : this.geometry;
  }

  /** The three.js layer the batch is drawn on (0 unless a layered draw moves it). */
  get layer(): number {
    return this.layerOn;
  }

  set layer(n: number) {
    this.layerOn = n;
    this.mesh.layers.set(n);
  }

  get count(): number {
    return this.ids.length;
  }

  /** Adds an entity drawn in `color` (multiplies the material's white); returns its slot. */
  add(id: string, matrix: THREE.Matrix4, color: THREE.Color): number {
    if (this.ids.length === this.order.length) this.grow();
    const slot = this.ids.length;
    this.ids.push(id);
    matrix.toArray(this.matrices, slot * 16);
    color.toArray(this.colors, slot * 3);
    this.dirty = true;
    return slot;
  }

  /** Removes the entity in `slot`; returns the id of the entity moved into it (now at `slot`), or null. */
  remove(slot: number): string | null {
    const last = this.ids.length - 1;
    let moved: string | null = null;
    if (slot !== last) {
      this.matrices.copyWithin(slot * 16, last * 16, last * 16 + 16);
      this.colors.copyWithin(slot * 3, last * 3, last * 3 + 3);
      moved = this.ids[last]!;
      this.ids[slot] = moved;
    }
    this.ids.pop();
    this.dirty = true;
    return moved;
  }

  /** Writes one slot's matrix (from a column-major array of 16), drawn after the next `flush`; returns whether it changed. */
  setMatrix(slot: number, elements: ArrayLike<number>): boolean {
    const m = this.matrices;
    const o = slot * 16;
    for (let i = 0; i < 16; i++) {
      if (m[o + i] !== Math.fround(elements[i]!)) {
        m.set(elements, o);
        this.dirty = true;
        return true;
      }
    }
    return false;
  }

  /** One slot's matrix as the batch holds it. */
  matrixAt(slot: number, target: THREE.Matrix4): THREE.Matrix4 {
    return target.fromArray(this.matrices, slot * 16);
  }

  /** The slot drawn as instance `instance` of the mesh (a ray hit's `instanceId`), or undefined. */
  drawnSlot(instance: number): number | undefined {
    return instance >= 0 && instance < this.drawn ? this.order[instance] : undefined;
  }

  /**
   * Writes what is to be drawn into the mesh's instance buffers, uploaded at the next render:
   * every slot, or with `visible` only the slots whose bounding sphere it keeps. Call once per
   * frame before rendering; nothing is uploaded when nothing moved and the same slots are drawn.
   * Returns whether anything was written (what the batch draws changed).
   */
  flush(visible?: InstanceVisibility): boolean {
    const n = this.ids.length;
    const m = this.matrices;
    if (visible && !this.geometry.boundingSphere) this.geometry.computeBoundingSphere();
    const bounds = this.geometry.boundingSphere;
    const [cx, cy, cz, r] = bounds ? [bounds.center.x, bounds.center.y, bounds.center.z, bounds.radius] : [0, 0, 0, 0];
    let k = 0;
    let same = true;
    for (let s = 0; s < n; s++) {
      if (visible) {
        // The geometry's bounding sphere through the slot's matrix (as Sphere.applyMatrix4), inline.
        const o = s * 16;
        const x = m[o]! * cx + m[o + 4]! * cy + m[o + 8]! * cz + m[o + 12]!;
        const y = m[o + 1]! * cx + m[o + 5]! * cy + m[o + 9]! * cz + m[o + 13]!;
        const z = m[o + 2]! * cx + m[o + 6]! * cy + m[o + 10]! * cz + m[o + 14]!;
        const sx = m[o]! * m[o]! + m[o + 1]! * m[o + 1]! + m[o + 2]! * m[o + 2]!;
        const sy = m[o + 4]! * m[o + 4]! + m[o + 5]! * m[o + 5]! + m[o + 6]! * m[o + 6]!;
        const sz = m[o + 8]! * m[o + 8]! + m[o + 9]! * m[o + 9]! + m[o + 10]! * m[o + 10]!;
        if (!visible(x, y, z, r * Math.sqrt(Math.max(sx, sy, sz)))) continue;
      }
      if (same && (k >= this.drawn || this.order[k] !== s)) same = false;
      this.order[k++] = s;
    }
    if (k !== this.drawn) same = false;
    if (same && !this.dirty) return false;
    const matrices = this.mesh.instanceMatrix.array as Float32Array;
    const colors = this.mesh.instanceColor!.array as Float32Array;
    if (k === n) {
      // Every slot, in slot order.
      matrices.set(this.matrices.subarray(0, n * 16));
      colors.set(this.colors.subarray(0, n * 3));
    } else {
      const c = this.colors;
      for (let i = 0; i < k; i++) {
        const s = this.order[i]!;
        for (let j = 0; j < 16; j++) matrices[i * 16 + j] = m[s * 16 + j]!;
        colors[i * 3] = c[s * 3]!;
        colors[i * 3 + 1] = c[s * 3 + 1]!;
        colors[i * 3 + 2] = c[s * 3 + 2]!;
      }
    }
    this.drawn = k;
    this.mesh.count = k;
    const attr = this.mesh.instanceMatrix;
    attr.clearUpdateRanges();
    attr.addUpdateRange(0, k * 16);
    attr.needsUpdate = true;
    const colorAttr = this.mesh.instanceColor!;
    colorAttr.clearUpdateRanges();
    colorAttr.addUpdateRange(0, k * 3);
    colorAttr.needsUpdate = true;
    this.dirty = false;
    return true;
  }

  dispose(): void {
    this.parent.remove(this.mesh);
    this.mesh.dispose();
  }

  private create(capacity: number): THREE.InstancedMesh {
    const mesh = new THREE.InstancedMesh(this.coarseOn ? this.coarseGeometry : this.geometry, this.material, capacity);
    mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    mesh.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(capacity * 3), 3);
    mesh.count = 0;
    // Instances move every frame and are culled one by one (`flush`); a bounding sphere for the
    // whole mesh, computed once, would cull visible ones.
    mesh.frustumCulled = false;
    mesh.castShadow = true;
    mesh.receiveShadow = true;
    mesh.name = `batch ${this.key}`;
    mesh.userData.keelBatch = this;
    mesh.layers.set(this.layerOn);
    this.parent.add(mesh);
    return mesh;
  }

  private grow(): void {
    const capacity = this.order.length * 2;
    const matrices = new Float32Array(capacity * 16);
    matrices.set(this.matrices);
    this.matrices = matrices;
    const colors = new Float32Array(capacity * 3);
    colors.set(this.colors);
    this.colors = colors;
    this.order = new Uint32Array(capacity);
    this.drawn = 0;
    const old = this.mesh;
    this.mesh = this.create(capacity);
    this.parent.remove(old);
    old.dispose();
    this.dirty = true;
  }
}
