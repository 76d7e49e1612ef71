import type { Quat, Vec3 } from '../math/vec.js';
import type { Snapshot } from '../protocol/messages.js';

export interface MirroredEntity {
  netId: number;
  id: string;
  components: Record<string, unknown>;
  position: Vec3;
  rotation: Quat;
}

/**
 * A client's copy of the server's world, kept by applying snapshots. A full snapshot
 * (baseTick 0) replaces everything; a delta applies on top of what was acknowledged. Shared by
 * the browser client and the Node bots.
 */
export class ClientMirror {
  readonly entities = new Map<number, MirroredEntity>();
  lastTick = 0;

  /** Applies a snapshot; returns false for one older than the last applied (out of order). */
  apply(s: Snapshot): boolean {
    if (s.tick <= this.lastTick) return false;
    if (s.baseTick === 0) this.entities.clear();
    for (const c of s.created) {
      this.entities.set(c.netId, { netId: c.netId, id: c.id, components: JSON.parse(c.components) as Record<string, unknown>, position: c.position, rotation: c.rotation });
    }
    for (const netId of s.destroyed) this.entities.delete(netId);
    for (const u of s.changed) {
      const e = this.entities.get(u.netId);
      if (!e) continue;
      if (u.position) e.position = u.position;
      if (u.rotation) e.rotation = u.rotation;
    }
    this.lastTick = s.tick;
    return true;
  }

  byId(id: string): MirroredEntity | undefined {
    for (const e of this.entities.values()) if (e.id === id) return e;
    return undefined;
  }
}
