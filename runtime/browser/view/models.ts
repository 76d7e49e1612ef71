import type * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';

/** Loads a glTF binary from a URL; the promise rejects with a message naming the URL. */
export async function loadGlb(url: string): Promise<THREE.Object3D> {
  const loader = new GLTFLoader();
  try {
    const gltf = await loader.loadAsync(url);
    return gltf.scene;
  } catch (err) {
    throw new Error(`cannot load model ${url}: ${(err as Error).message}`);
  }
}
