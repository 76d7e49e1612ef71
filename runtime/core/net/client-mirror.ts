import type { Quat, Vec3 } from '../math/vec.js';
import { ProtocolError } from '../protocol/codec.js';
import { applyUpdate, newUpdate, posePosition, poseRotation, type Snapshot, type WirePose } from '../protocol/messages.js';
import { SNAPSHOT_HISTORY } from './replication.js';

/** One entity as of one snapshot. Shared between the states of the snapshots it did not change in: read only. */
export interface MirroredEntity {
  readonly netId: number;
  readonly id: string;
  /** The entity's name on the server (a player's chosen name); its id when it has none. */
  readonly name: string;
  readonly components: Readonly<Record<string, unknown>>;
  /** The quantised pose as the server sent it; `position` and `rotation` are what it stands for. */
  readonly pose: Readonly<WirePose>;
  readonly position: Vec3;
  readonly rotation: Quat;
}

/**
 * An entity of one state, its own pose (one object per entity per snapshot it changed in).
 * Position and rotation are worked out on first use: a client that draws only some entities
 * pays only for those.
 */
class Entry implements MirroredEntity, WirePose {
  x = 0;
  y = 0;
  z = 0;
  ri = 3;
  ra = 0;
  rb = 0;
  rc = 0;
  private p: Vec3 | null = null;
  private q: Quat | null = null;

  constructor(
    readonly netId: number,
    readonly id: string,
    readonly name: string,
    readonly components: Readonly<Record<string, unknown>>,
  ) {}

  get pose(): Readonly<WirePose> {
    return this;
  }

  get position(): Vec3 {
    return (this.p ??= posePosition(this));
  }

  get rotation(): Quat {
    return (this.q ??= poseRotation(this));
  }
}

type State = Map<number, MirroredEntity>;

/** An update that changes nothing: applying it copies a pose, range checks included. */
const SAME = newUpdate();

/**
 * A client's copy of the server's world, kept by applying snapshots. Shared by the browser
 * client and the Node bots.
 *
 * Every applied snapshot's state is kept as a possible baseline: a delta snapshot names the
 * tick it is relative to (one this client acknowledged) and is applied on top of that state,
 * not of the newest one, so it does not matter which snapshots were lost in between or how late
 * the acks arrived. The server's baseline only moves forward, so states older than the newest
 * baseline seen are dropped, and at most SNAPSHOT_HISTORY are kept (the server does not go back
 * further either). A full snapshot (baseTick 0) stands alone.
 */
export class ClientMirror {
  private current: State = new Map();
  private readonly states = new Map<number, State>();
  lastTick = 0;

  /** The entities as of the newest snapshot applied, by net id. */
  get entities(): ReadonlyMap<number, MirroredEntity> {
    return this.current;
  }

  /**
   * Applies a snapshot; returns false for one older than the last applied (out of order) or
   * relative to a state this client no longer holds, true when applied: the client should then
   * acknowledge `s.tick`. Throws ProtocolError for an update of an entity the baseline lacks.
   */
  apply(s: Snapshot): boolean {
    if (s.tick <= this.lastTick) return false;
    let next: State;
    if (s.baseTick === 0) next = new Map();
    else {
      const base = this.states.get(s.baseTick);
      if (!base) return false;
      next = new Map(base);
    }
    for (const c of s.created) {
      const e = new Entry(c.netId, c.id, c.name, parseComponents(c.id, c.components));
      applyUpdate(c.pose, SAME, e);
      next.set(c.netId, e);
    }
    for (const netId of s.destroyed) next.delete(netId);
    for (const u of s.changed) {
      const e = next.get(u.netId);
      if (!e) throw new ProtocolError(`snapshot ${s.tick} updates net id ${u.netId}, absent from its baseline ${s.baseTick}`);
      const changed = new Entry(e.netId, e.id, e.name, e.components);
      applyUpdate(e.pose, u, changed);
      next.set(u.netId, changed);
    }
    // The server will not use a baseline older than this one again.
    for (const tick of this.states.keys()) if (tick < s.baseTick || this.states.size >= SNAPSHOT_HISTORY) this.states.delete(tick);
    this.states.set(s.tick, next);
    this.current = next;
    this.lastTick = s.tick;
    return true;
  }

  /** Forgets everything: the server started over (a new welcome after a scene reload), net ids included. */
  reset(): void {
    this.current = new Map();
    this.states.clear();
    this.lastTick = 0;
  }

  byId(id: string): MirroredEntity | undefined {
    for (const e of this.current.values()) if (e.id === id) return e;
    return undefined;
  }
}

function parseComponents(id: string, json: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new ProtocolError(`components of ${id} are not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`components of ${id} are not an object`);
  return v as Record<string, unknown>;
}
