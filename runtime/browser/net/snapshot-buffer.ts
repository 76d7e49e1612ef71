import { sameJson, type MirroredEntity, type Quat, type Vec3 } from '../../core/index.js';

/**
 * How far behind the newest server state remote entities are drawn, ms. At the default send
 * rate of 20 Hz snapshots arrive every 50 ms, so 100 ms keeps two intervals in hand: one lost
 * or late snapshot still leaves a pair to interpolate between, at the cost of showing others
 * 100 ms in the past (the own player is predicted, not delayed).
 */
export const INTERPOLATION_DELAY_MS = 100;
/** Snapshots kept; at 20 Hz about 1.6 s, far more than the delay needs. */
const CAPACITY = 32;

interface Entry {
  /** Server time of the snapshot, ms (tick × step). */
  time: number;
  entities: ReadonlyMap<number, MirroredEntity>;
}

/**
 * The recent states of the server's world, for snapshot interpolation: each applied snapshot's
 * state is pushed with its server time, and `sample` gives an entity's pose at a render time
 * between two of them (linear position, spherical rotation), holding the nearest one past
 * either end instead of extrapolating.
 *
 * The server clock is estimated from arrival times: the offset `serverTime - localTime` of the
 * least delayed snapshot seen, drifting slowly towards newer samples so a clock change or a
 * lasting latency change is followed within a few seconds.
 *
 * An entity whose components change (a scene edit moved or restyled it) is not interpolated
 * across the change: from the moment its new state arrives it is drawn as that state, then
 * interpolated onwards, instead of gliding from where it was for the length of the delay.
 */
export class SnapshotBuffer {
  private readonly entries: Entry[] = [];
  private offset: number | null = null;
  /** Per entity, the server time of the kept snapshot that changed its components. */
  private readonly cuts = new Map<number, number>();

  constructor(
    private readonly stepMs: number,
    readonly delayMs = INTERPOLATION_DELAY_MS,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  clear(): void {
    this.entries.length = 0;
    this.offset = null;
    this.cuts.clear();
  }

  /** Adds the state as of server tick `tick`, received at local time `nowMs`. */
  push(tick: number, entities: ReadonlyMap<number, MirroredEntity>, nowMs: number): void {
    const time = tick * this.stepMs;
    const sample = time - nowMs;
    if (this.offset === null || sample > this.offset) this.offset = sample;
    else this.offset += (sample - this.offset) * 0.02;
    const prev = this.entries[this.entries.length - 1];
    if (prev) {
      // The mirror keeps an entity's components object until its description changes; a full
      // snapshot describes everything anew, so equal contents are not a change.
      for (const [netId, e] of entities) {
        const before = prev.entities.get(netId);
        if (before && before.id === e.id && before.components !== e.components && !sameJson(before.components, e.components)) this.cuts.set(netId, time);
      }
    }
    this.entries.push({ time, entities });
    if (this.entries.length > CAPACITY) {
      this.entries.shift();
      const oldest = this.entries[0]!.time;
      for (const [netId, cut] of this.cuts) if (cut <= oldest) this.cuts.delete(netId);
    }
  }

  /** The server time to draw at local time `nowMs`. */
  renderTime(nowMs: number): number {
    return nowMs + (this.offset ?? 0) - this.delayMs;
  }

  /**
   * Writes the pose of entity `netId` at server time `t` into `position` and `rotation`;
   * returns false when no kept state has the entity.
   */
  sample(netId: number, t: number, position: Vec3, rotation: Quat): boolean {
    const n = this.entries.length;
    if (n === 0) return false;
    // Newest first: the render time is almost always within the last few entries.
    let i = n - 1;
    while (i > 0 && this.entries[i]!.time > t) i--;
    const a = this.entries[i]!;
    const cut = this.cuts.get(netId);
    if (cut !== undefined && cut > a.time) {
      // Drawing time is still before the entity's change: show it as changed.
      let j = n - 1;
      while (j > 0 && this.entries[j]!.time > cut) j--;
      const changed = this.entries[j]!.entities.get(netId);
      if (changed) {
        copy(changed, position, rotation);
        return true;
      }
    }
    const b = i + 1 < n ? this.entries[i + 1]! : null;
    const ea = a.entities.get(netId);
    const eb = b?.entities.get(netId);
    if (!ea && !eb) {
      const newest = this.entries[n - 1]!.entities.get(netId);
      if (!newest) return false;
      copy(newest, position, rotation);
      return true;
    }
    if (!ea || !eb || ea.id !== eb.id || t <= a.time) {
      copy((t <= a.time ? ea : eb) ?? ea ?? eb!, position, rotation);
      return true;
    }
    const k = Math.min(1, (t - a.time) / (b!.time - a.time));
    const pa = ea.position;
    const pb = eb.position;
    position[0] = pa[0] + (pb[0] - pa[0]) * k;
    position[1] = pa[1] + (pb[1] - pa[1]) * k;
    position[2] = pa[2] + (pb[2] - pa[2]) * k;
    slerp(ea.rotation, eb.rotation, k, rotation);
    return true;
  }
}

function copy(e: MirroredEntity, position: Vec3, rotation: Quat): void {
  const p = e.position;
  const q = e.rotation;
  position[0] = p[0];
  position[1] = p[1];
  position[2] = p[2];
  rotation[0] = q[0];
  rotation[1] = q[1];
  rotation[2] = q[2];
  rotation[3] = q[3];
}

/** Spherical interpolation of unit quaternions along the shorter arc, into `out`. */
export function slerp(a: Readonly<Quat>, b: Readonly<Quat>, t: number, out: Quat): Quat {
  let [bx, by, bz, bw] = b;
  let cos = a[0] * bx + a[1] * by + a[2] * bz + a[3] * bw;
  if (cos < 0) {
    cos = -cos;
    bx = -bx;
    by = -by;
    bz = -bz;
    bw = -bw;
  }
  let ka: number;
  let kb: number;
  if (cos > 0.9995) {
    ka = 1 - t;
    kb = t;
  } else {
    const theta = Math.acos(cos);
    const sin = Math.sin(theta);
    ka = Math.sin((1 - t) * theta) / sin;
    kb = Math.sin(t * theta) / sin;
  }
  out[0] = a[0] * ka + bx * kb;
  out[1] = a[1] * ka + by * kb;
  out[2] = a[2] * ka + bz * kb;
  out[3] = a[3] * ka + bw * kb;
  const len = Math.hypot(out[0], out[1], out[2], out[3]) || 1;
  out[0] /= len;
  out[1] /= len;
  out[2] /= len;
  out[3] /= len;
  return out;
}
