/** Minimal vector and quaternion helpers on plain tuples; the core needs no math library. */
export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export const DEG = Math.PI / 180;

/** Quaternion from Euler angles in degrees, applied X then Y then Z (three.js 'XYZ'). */
export function quatFromEulerDeg(e: readonly [number, number, number]): Quat {
  const [x, y, z] = [e[0] * DEG * 0.5, e[1] * DEG * 0.5, e[2] * DEG * 0.5];
  const c1 = Math.cos(x), c2 = Math.cos(y), c3 = Math.cos(z);
  const s1 = Math.sin(x), s2 = Math.sin(y), s3 = Math.sin(z);
  return [
    s1 * c2 * c3 + c1 * s2 * s3,
    c1 * s2 * c3 - s1 * c2 * s3,
    c1 * c2 * s3 + s1 * s2 * c3,
    c1 * c2 * c3 - s1 * s2 * s3,
  ];
}

export function quatMultiply(a: Quat, b: Quat): Quat {
  const [ax, ay, az, aw] = a;
  const [bx, by, bz, bw] = b;
  return [
    ax * bw + aw * bx + ay * bz - az * by,
    ay * bw + aw * by + az * bx - ax * bz,
    az * bw + aw * bz + ax * by - ay * bx,
    aw * bw - ax * bx - ay * by - az * bz,
  ];
}

export function rotateVec(q: Quat, v: readonly [number, number, number]): Vec3 {
  const [qx, qy, qz, qw] = q;
  const [vx, vy, vz] = v;
  // t = 2 * cross(q.xyz, v); v' = v + w * t + cross(q.xyz, t)
  const tx = 2 * (qy * vz - qz * vy);
  const ty = 2 * (qz * vx - qx * vz);
  const tz = 2 * (qx * vy - qy * vx);
  return [vx + qw * tx + (qy * tz - qz * ty), vy + qw * ty + (qz * tx - qx * tz), vz + qw * tz + (qx * ty - qy * tx)];
}

/** The inverse of a unit quaternion. */
export function quatConjugate(q: Quat): Quat {
  return [-q[0], -q[1], -q[2], q[3]];
}

/** Euler angles in degrees, X then Y then Z (three.js 'XYZ'), of a unit quaternion: the inverse of {@link quatFromEulerDeg}. */
export function eulerDegFromQuat(q: Quat): Vec3 {
  const [x, y, z, w] = q;
  // Rotation matrix elements used by the XYZ decomposition.
  const m11 = 1 - 2 * (y * y + z * z);
  const m12 = 2 * (x * y - z * w);
  const m13 = 2 * (x * z + y * w);
  const m22 = 1 - 2 * (x * x + z * z);
  const m23 = 2 * (y * z - x * w);
  const m32 = 2 * (y * z + x * w);
  const m33 = 1 - 2 * (x * x + y * y);
  const ry = Math.asin(Math.max(-1, Math.min(1, m13)));
  let rx: number;
  let rz: number;
  if (Math.abs(m13) < 0.9999999) {
    rx = Math.atan2(-m23, m33);
    rz = Math.atan2(-m12, m11);
  } else {
    // Gimbal lock: X and Z turn about the same axis; put it all in X.
    rx = Math.atan2(m32, m22);
    rz = 0;
  }
  return [rx / DEG, ry / DEG, rz / DEG];
}

/** World pose of a child: the parent's pose composed with the child's local position and rotation (scale is not inherited). */
export function composePose(parentPos: Readonly<Vec3>, parentRot: Quat, localPos: Readonly<Vec3>, localRot: Quat): [Vec3, Quat] {
  const o = rotateVec(parentRot, localPos);
  return [[parentPos[0] + o[0], parentPos[1] + o[1], parentPos[2] + o[2]], quatMultiply(parentRot, localRot)];
}

/** The local pose that, composed with the parent's pose, gives `worldPos`/`worldRot`: the inverse of {@link composePose}. */
export function localPose(parentPos: Readonly<Vec3>, parentRot: Quat, worldPos: Readonly<Vec3>, worldRot: Quat): [Vec3, Quat] {
  const inv = quatConjugate(parentRot);
  return [rotateVec(inv, [worldPos[0] - parentPos[0], worldPos[1] - parentPos[1], worldPos[2] - parentPos[2]]), quatMultiply(inv, worldRot)];
}
