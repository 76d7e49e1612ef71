import type * as THREE from 'three';

/**
 * Where a camera was when something was drawn from it (its world matrix and projection), to
 * tell whether a picture drawn then is still the picture from it now. A camera easing towards
 * its place moves by ever smaller steps: under a micrometre (and the matching turn) is no move.
 */
export class CameraStamp {
  private readonly m = new Float64Array(32);
  private set = false;

  /** Remembers where `camera` is now. */
  record(camera: THREE.Camera): void {
    camera.updateMatrixWorld();
    this.m.set(camera.matrixWorld.elements, 0);
    this.m.set(camera.projectionMatrix.elements, 16);
    this.set = true;
  }

  /** Whether `camera` is where it was at the last `record`. */
  matches(camera: THREE.Camera): boolean {
    if (!this.set) return false;
    camera.updateMatrixWorld();
    const w = camera.matrixWorld.elements;
    const p = camera.projectionMatrix.elements;
    for (let i = 0; i < 16; i++) if (Math.abs(this.m[i]! - w[i]!) >= 1e-6 || Math.abs(this.m[16 + i]! - p[i]!) >= 1e-9) return false;
    return true;
  }

  /** Forgets the recorded place: nothing matches until the next `record`. */
  clear(): void {
    this.set = false;
  }
}
