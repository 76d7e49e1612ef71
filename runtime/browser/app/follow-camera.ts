import * as THREE from 'three';
import type { Vec3 } from '../../core/index.js';

/** Metres behind and above the player's head. */
const DISTANCE = 6;
const HEAD = 1.2;

/**
 * A third-person camera behind the player, turned by the look yaw and pitch, easing towards its
 * target so small corrections of the player's position never jerk the view.
 */
export class FollowCamera {
  readonly camera: THREE.PerspectiveCamera;
  private readonly target = new THREE.Vector3();
  private readonly want = new THREE.Vector3();
  private placed = false;

  constructor(fov = 65) {
    this.camera = new THREE.PerspectiveCamera(fov, 16 / 9, 0.1, 800);
  }

  /** Moves the camera for this frame; `dtS` is the frame time in seconds. */
  update(player: Readonly<Vec3>, yaw: number, pitch: number, dtS: number): void {
    this.target.set(player[0], player[1] + HEAD, player[2]);
    const cp = Math.cos(pitch);
    // Behind is +Z turned by yaw; looking down (pitch < 0) lifts the camera.
    this.want.set(Math.sin(yaw) * cp * DISTANCE, -Math.sin(pitch) * DISTANCE, Math.cos(yaw) * cp * DISTANCE).add(this.target);
    if (this.want.y < 0.3) this.want.y = 0.3;
    if (!this.placed) {
      this.camera.position.copy(this.want);
      this.placed = true;
    } else {
      const k = Math.min(1, Math.max(0, 1 - Math.exp(-Math.max(0, dtS) * 20)));
      this.camera.position.lerp(this.want, k);
    }
    this.camera.lookAt(this.target);
  }
}
