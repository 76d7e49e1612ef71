import * as THREE from 'three';

/**
 * Every entity drawn with one geometry and one kind of surface (roughness, metalness, opacity),
 * as one InstancedMesh with a colour per instance: one draw call however many entities share
 * the shape, whatever their colours. Slots are packed (a removed entity's slot takes the
 * last one), and the instance buffer grows by doubling, so adds and removes cost O(1).
 */
export class MeshBatch {
  mesh: THREE.InstancedMesh;
  /** Entity id per slot, `ids[slot]`; the mesh draws the first `ids.length` slots. */
  readonly ids: string[] = [];
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
    if (this.ids.length === this.mesh.instanceMatrix.count) this.grow();
    const slot = this.ids.length;
    this.ids.push(id);
    this.mesh.setMatrixAt(slot, matrix);
    this.mesh.setColorAt(slot, color);
    this.mesh.count = this.ids.length;
    this.dirty = true;
    return slot;
  }

  /** Removes the entity in `slot`; returns the id of the entity moved into it (now at `slot`), or null. */
  remove(slot: number): string | null {
    const last = this.ids.length - 1;
    let moved: string | null = null;
    if (slot !== last) {
      const array = this.mesh.instanceMatrix.array;
      array.copyWithin(slot * 16, last * 16, last * 16 + 16);
      this.mesh.instanceColor!.array.copyWithin(slot * 3, last * 3, last * 3 + 3);
      moved = this.ids[last]!;
      this.ids[slot] = moved;
    }
    this.ids.pop();
    this.mesh.count = this.ids.length;
    this.dirty = true;
    return moved;
  }

  /** Writes one slot's matrix (from a column-major array of 16), uploaded at the next `flush`. */
  setMatrix(slot: number, elements: ArrayLike<number>): void {
    this.mesh.instanceMatrix.array.set(elements as ArrayLike<number>, slot * 16);
    this.dirty = true;
  }

  /** Marks the written slots for upload; call once per frame before rendering. */
  flush(): void {
    if (!this.dirty) return;
    const attr = this.mesh.instanceMatrix;
    attr.clearUpdateRanges();
    attr.addUpdateRange(0, this.ids.length * 16);
    attr.needsUpdate = true;
    const colors = this.mesh.instanceColor!;
    colors.clearUpdateRanges();
    colors.addUpdateRange(0, this.ids.length * 3);
    colors.needsUpdate = true;
    this.dirty = false;
  }

  dispose(): void {
    this.parent.remove(this.mesh);
    this.mesh.dispose();
  }

  private create(capacity: number): THREE.InstancedMesh {
    const mesh = new THREE.InstancedMesh(this.coarseOn ? this.coarseGeometry : this.geometry, this.material, capacity);
    mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    mesh.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(capacity * 3), 3);
    mesh.count = this.ids.length;
    // Instances move every frame; a bounding sphere computed once would cull visible ones.
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
    const old = this.mesh;
    this.mesh = this.create(old.instanceMatrix.count * 2);
    this.mesh.instanceMatrix.array.set(old.instanceMatrix.array);
    this.mesh.instanceColor!.array.set(old.instanceColor!.array);
    this.mesh.count = this.ids.length;
    this.parent.remove(old);
    old.dispose();
    this.dirty = true;
  }
}
