import type { World } from '../../core/index.js';
import type { SessionEvent } from './play-session.js';

/** Speed lost within one tick, m/s, that counts as a hard hit. */
export const IMPACT_SPEED = 4;
/** At most this many entities are watched, the nearest-to-start first: enough for sounds. */
const MAX_WATCHED = 256;

/**
 * Finds hard collisions from poses alone (works on a local simulation and on a replicated
 * world alike): an entity whose speed drops by more than IMPACT_SPEED within a tick hit
 * something. The own player is left out: it stops dead whenever its keys are released.
 */
export class ImpactDetector {
  private readonly last = new Map<string, { x: number; y: number; z: number; speed: number }>();

  constructor(
    private readonly world: World,
    private readonly ownId: string | null,
  ) {}

  afterTick(dt: number, out: SessionEvent[]): void {
    let loudest = 0;
    let n = 0;
    for (const e of this.world.values()) {
      if (n++ >= MAX_WATCHED) break;
      const rb = e.components.rigidBody;
      if (!rb || rb.type !== 'dynamic') continue;
      const [x, y, z] = e.position;
      const prev = this.last.get(e.id);
      if (!prev) {
        this.last.set(e.id, { x, y, z, speed: 0 });
        continue;
      }
      const speed = Math.hypot(x - prev.x, y - prev.y, z - prev.z) / dt;
      const lost = prev.speed - speed;
      if (lost > IMPACT_SPEED && e.id !== this.ownId) loudest = Math.max(loudest, lost);
      prev.x = x;
      prev.y = y;
      prev.z = z;
      prev.speed = speed;
    }
    if (this.last.size > this.world.size * 2 + 16) for (const id of this.last.keys()) if (!this.world.get(id)) this.last.delete(id);
    if (loudest > 0) out.push({ type: 'impact', speed: loudest });
  }
}
