import * as THREE from 'three';
import type { HeightfieldData, MaterialComponent, MeshComponent } from '../../core/index.js';

/**
 * Geometries and materials shared by every entity that describes the same shape or surface:
 * identical descriptions get one GPU buffer, and the batch key built from them is what lets
 * repeated meshes draw instanced.
 */
export class GeometryCache {
  private readonly geometries = new Map<string, THREE.BufferGeometry>();
  private readonly coarseGeometries = new Map<string, THREE.BufferGeometry>();
  private readonly materials = new Map<string, THREE.MeshStandardMaterial>();

  /** A key that is equal for meshes drawn with the same geometry; null for shapes not drawn as primitives (models). */
  static meshKey(mesh: MeshComponent): string | null {
    switch (mesh.shape) {
      case 'box':
        return `box:${mesh.size.join(',')}`;
      case 'sphere':
        return `sphere:${mesh.radius}`;
      case 'cylinder':
        return `cylinder:${mesh.radius},${mesh.height}`;
      case 'capsule':
        return `capsule:${mesh.radius},${mesh.height}`;
      case 'plane':
        return `plane:${mesh.size.join(',')}`;
      default:
        return null;
    }
  }

  /** Equal for materials that differ at most in colour (colour is per instance). */
  static materialKey(m: MaterialComponent): string {
    return `${m.roughness}/${m.metalness}/${m.opacity}`;
  }

  geometry(mesh: MeshComponent): THREE.BufferGeometry {
    const key = GeometryCache.meshKey(mesh);
    if (key === null) throw new Error(`mesh shape ${mesh.shape} has no primitive geometry`);
    let g = this.geometries.get(key);
    if (!g) {
      g = buildGeometry(mesh);
      this.geometries.set(key, g);
    }
    return g;
  }

  /**
   * A low-poly stand-in of the same shape and size, drawn while the user drags or moves the
   * camera over a scene too heavy for the frame budget (vertex work dominates a software or weak
   * GPU with many round meshes). The same geometry where the shape is already cheap.
   */
  coarseGeometry(mesh: MeshComponent): THREE.BufferGeometry {
    const key = GeometryCache.meshKey(mesh);
    if (key === null) throw new Error(`mesh shape ${mesh.shape} has no primitive geometry`);
    let g = this.coarseGeometries.get(key);
    if (!g) {
      g = buildGeometry(mesh, true) ?? this.geometry(mesh);
      this.coarseGeometries.set(key, g);
    }
    return g;
  }

  /** A white material of this surface, for instanced drawing with per-instance colours. */
  material(m: MaterialComponent): THREE.MeshStandardMaterial {
    const key = GeometryCache.materialKey(m);
    let mat = this.materials.get(key);
    if (!mat) {
      mat = standardMaterial({ ...m, color: '#ffffff' });
      this.materials.set(key, mat);
    }
    return mat;
  }

  dispose(): void {
    for (const g of this.geometries.values()) g.dispose();
    for (const g of this.coarseGeometries.values()) g.dispose();
    this.coarseGeometries.clear();
    for (const m of this.materials.values()) m.dispose();
    this.geometries.clear();
    this.materials.clear();
  }
}

/** A physically based material from a material component. */
export function standardMaterial(m: MaterialComponent): THREE.MeshStandardMaterial {
  return new THREE.MeshStandardMaterial({
    color: new THREE.Color(m.color),
    roughness: m.roughness,
    metalness: m.metalness,
    opacity: m.opacity,
    transparent: m.opacity < 1,
  });
}

/** The full geometry of a primitive, or with `coarse` its low-poly stand-in (null: the full one is cheap already). */
function buildGeometry(mesh: MeshComponent, coarse: true): THREE.BufferGeometry | null;
function buildGeometry(mesh: MeshComponent): THREE.BufferGeometry;
function buildGeometry(mesh: MeshComponent, coarse = false): THREE.BufferGeometry | null {
  if (coarse) {
    switch (mesh.shape) {
      case 'sphere':
        return new THREE.SphereGeometry(mesh.radius, 6, 4);
      case 'cylinder':
        return new THREE.CylinderGeometry(mesh.radius, mesh.radius, mesh.height, 8);
      case 'capsule':
        return new THREE.CapsuleGeometry(mesh.radius, mesh.height, 1, 6);
      default:
        return null;
    }
  }
  switch (mesh.shape) {
    case 'box':
      return new THREE.BoxGeometry(mesh.size[0], mesh.size[1], mesh.size[2]);
    case 'sphere':
      return new THREE.SphereGeometry(mesh.radius, 20, 14);
    case 'cylinder':
      return new THREE.CylinderGeometry(mesh.radius, mesh.radius, mesh.height, 24);
    case 'capsule':
      return new THREE.CapsuleGeometry(mesh.radius, mesh.height, 4, 16);
    case 'plane':
      // keel planes lie on the ground (Y up), as the plane collider does.
      return new THREE.PlaneGeometry(mesh.size[0], mesh.size[1]).rotateX(-Math.PI / 2);
    default:
      throw new Error(`mesh shape ${(mesh as { shape: string }).shape} has no primitive geometry`);
  }
}

/**
 * The terrain surface of a heightfield collider, laid out exactly as the physics places it:
 * sample (i, j) sits at x = i·size, z = -j·size, centred on the entity, plus the collider offset.
 */
export function terrainGeometry(hf: HeightfieldData, elementSize: number, offset: readonly [number, number, number]): THREE.BufferGeometry {
  const { rows, cols, heights } = hf;
  const positions = new Float32Array(rows * cols * 3);
  const x0 = offset[0] - ((rows - 1) * elementSize) / 2;
  const z0 = offset[2] + ((cols - 1) * elementSize) / 2;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const k = (i * cols + j) * 3;
      positions[k] = x0 + i * elementSize;
      positions[k + 1] = offset[1] + heights[i * cols + j]!;
      positions[k + 2] = z0 - j * elementSize;
    }
  }
  const index: number[] = [];
  for (let i = 0; i < rows - 1; i++) {
    for (let j = 0; j < cols - 1; j++) {
      const a = i * cols + j;
      const b = (i + 1) * cols + j;
      // Wound so the faces point up (+Y) in keel's frame.
      index.push(a, b, a + 1, b, b + 1, a + 1);
    }
  }
  const g = new THREE.BufferGeometry();
  g.setAttribute('position', new THREE.BufferAttribute(positions, 3));
  g.setIndex(index);
  g.computeVertexNormals();
  g.computeBoundingSphere();
  return g;
}
