import type { Entity, World } from '../world/world.js';
import type { Vec3 } from '../math/vec.js';
import { Writer } from '../protocol/codec.js';
import {
  diffPose,
  entityDescriptor,
  newPose,
  newUpdate,
  quantizePose,
  setSnapshotInputSeq,
  setSnapshotPlayerVelocity,
  writeSnapshot,
  writeUpdate,
  type EncodedCreate,
  type WirePose,
} from '../protocol/messages.js';

/** Snapshots remembered for acks; a client whose ack is older than this gets a full snapshot. */
export const SNAPSHOT_HISTORY = 64;

/**
 * Small integer ids for entities on the wire (u16), assigned on first sight and recycled after
 * an entity is gone from every snapshot in the history window.
 */
export class NetIds {
  private readonly byId = new Map<string, number>();
  private readonly free: number[] = [];
  private next = 1;

  get(id: string): number {
    let n = this.byId.get(id);
    if (n === undefined) {
      n = this.free.pop() ?? this.next++;
      if (n > 0xffff) throw new Error('more than 65535 replicated entities');
      this.byId.set(id, n);
    }
    return n;
  }

  release(id: string): number | undefined {
    const n = this.byId.get(id);
    if (n !== undefined) this.byId.delete(id);
    return n;
  }

  recycle(n: number): void {
    this.free.push(n);
  }
}

/** One client's replication state: which snapshot it last acknowledged. */
export class ReplicaClient {
  ackedTick = 0;
  /** Ticks of snapshots sent and not yet acknowledged or expired. */
  readonly inFlight: number[] = [];

  /** Records an ack; ignores ticks never sent to this client (a forged or stale ack). */
  ack(tick: number): boolean {
    if (tick <= this.ackedTick || !this.inFlight.includes(tick)) return false;
    this.ackedTick = tick;
    while (this.inFlight.length && this.inFlight[0]! <= tick) this.inFlight.shift();
    return true;
  }
}

/** What the replicator keeps of one live entity between captures; updated in place. */
interface Tracked extends EncodedCreate {
  readonly netId: number;
  /** The entity's version when `pose` was quantised, and its component version and name when `descriptor` was encoded. */
  version: number;
  source: number;
  name: string;
  /** The descriptor's revision, as frames record it: a client whose baseline holds another gets the entity whole. */
  comp: number;
  descriptor: Uint8Array;
  readonly pose: WirePose;
  /** The component version and name whose descriptor could not be encoded (-1: none); the entity is left out until either changes. */
  failedComp: number;
  failedName: string;
}

/** A frame row: netId, descriptor revision, then the pose's seven integers. */
const STRIDE = 9;
const NET_ID = 0;
const COMP = 1;

/** The world as captured on one send tick: one row per entity, in ascending netId order. */
class Frame {
  tick = 0;
  count = 0;
  rows = new Int32Array(0);

  fill(tick: number, live: readonly Tracked[]): void {
    this.tick = tick;
    this.count = live.length;
    if (this.rows.length < live.length * STRIDE) this.rows = new Int32Array(Math.max(live.length * STRIDE * 2, 64 * STRIDE));
    const r = this.rows;
    for (let i = 0, o = 0; i < live.length; i++, o += STRIDE) {
      const t = live[i]!;
      const p = t.pose;
      r[o] = t.netId;
      r[o + 1] = t.comp;
      r[o + 2] = p.x;
      r[o + 3] = p.y;
      r[o + 4] = p.z;
      r[o + 5] = p.ri;
      r[o + 6] = p.ra;
      r[o + 7] = p.rb;
      r[o + 8] = p.rc;
    }
  }

  poseAt(o: number, out: WirePose): WirePose {
    const r = this.rows;
    out.x = r[o + 2]!;
    out.y = r[o + 3]!;
    out.z = r[o + 4]!;
    out.ri = r[o + 5]!;
    out.ra = r[o + 6]!;
    out.rb = r[o + 7]!;
    out.rc = r[o + 8]!;
    return out;
  }
}

const byNetId = (a: Tracked, b: Tracked) => a.netId - b.netId;

/**
 * Builds delta snapshots of a world. Each send tick `capture` quantises the poses that changed
 * since the previous one and records the world as a frame (a flat integer table, frames reused
 * round a ring of SNAPSHOT_HISTORY). A client's snapshot is relative to the frame it last
 * acknowledged: entities created, destroyed, and the fields of those whose quantised pose
 * differs (see the wire format in protocol/messages.ts). Clients that acknowledged the same
 * frame get the same bytes but for their inputSeq, so a snapshot is encoded once per distinct
 * baseline per send tick, not once per client; a client with no usable ack (new, or fallen
 * behind the history) gets a full one, itself encoded once per tick.
 */
/** An entity that cannot be sent: the replicator leaves it out of snapshots until its components change. */
export interface ReplicationError {
  entityId: string;
  error: Error;
}

export interface ReplicatorOptions {
  /** Called once per entity state (component version and name) that cannot be encoded. */
  onError?(e: ReplicationError): void;
}

export class Replicator {
  readonly netIds = new NetIds();
  /** Entity states that could not be encoded so far (each entity and component version counted once). */
  failures = 0;
  private readonly tracked = new Map<string, Tracked>();
  /** The entities of the last capture, in ascending netId order. */
  private readonly live: Tracked[] = [];
  private readonly frames: Frame[] = [];
  private readonly byTick = new Map<number, Frame>();
  private next = 0;
  /** Net ids of entities removed since the last capture. */
  private readonly gone: number[] = [];
  private readonly pendingFree: { tick: number; netId: number }[] = [];
  private currentTick = 0;
  /** The last descriptor revision handed out (one counter for all entities, so a revision is never reused). */
  private revision = 0;
  /** Snapshots of the current tick encoded so far, by baseline tick (0: full); inputSeq 0. */
  private readonly encoded = new Map<number, Uint8Array>();
  // Scratch for encoding, reused every time.
  private readonly created: Tracked[] = [];
  private readonly destroyed: number[] = [];
  private readonly changes = new Writer(16 * 1024);
  private readonly out = new Writer(16 * 1024);
  private readonly basePose = newPose();
  private readonly update = newUpdate();

  constructor(
    private readonly world: World,
    private readonly opts: ReplicatorOptions = {},
  ) {
    world.on((ev) => {
      if (ev.type !== 'removed') return;
      const t = this.tracked.get(ev.entity.id);
      this.netIds.release(ev.entity.id);
      if (!t) return;
      this.tracked.delete(ev.entity.id);
      this.gone.push(t.netId);
    });
  }

  /** Records the world's state at `tick`; call once per send tick before `encodeFor`. */
  capture(tick: number): void {
    const live = this.live;
    live.length = 0;
    for (const e of this.world.values()) {
      let t = this.tracked.get(e.id);
      if (!t) {
        t = { netId: this.netIds.get(e.id), version: -1, source: -1, name: '', comp: -1, descriptor: new Uint8Array(0), pose: newPose(), failedComp: -1, failedName: '' };
        this.tracked.set(e.id, t);
      }
      // A rename (world.relabel) leaves the entity's version alone: names are compared on their own.
      if (t.source !== e.componentVersion || t.name !== e.name) {
        if (t.failedComp === e.componentVersion && t.failedName === e.name) continue;
        // Encode first, record after: a state that cannot be encoded is never taken as sent.
        let descriptor: Uint8Array;
        try {
          descriptor = entityDescriptor(e.id, e.name, visibleComponents(e));
        } catch (err) {
          t.failedComp = e.componentVersion;
          t.failedName = e.name;
          this.failures++;
          this.opts.onError?.({ entityId: e.id, error: err instanceof Error ? err : new Error(String(err)) });
          continue;
        }
        t.source = e.componentVersion;
        t.name = e.name;
        t.comp = ++this.revision;
        t.descriptor = descriptor;
        t.failedComp = -1;
      }
      if (t.version !== e.version) {
        t.version = e.version;
        quantizePose(e.position, e.rotation, t.pose);
      }
      live.push(t);
    }
    live.sort(byNetId); // nearly sorted already: net ids follow insertion order but for recycled ones

    let frame = this.frames[this.next];
    if (!frame) this.frames.push((frame = new Frame()));
    else this.byTick.delete(frame.tick);
    this.next = (this.next + 1) % SNAPSHOT_HISTORY;
    frame.fill(tick, live);
    this.byTick.set(tick, frame);

    // Entities gone since the previous capture: their net id is free once no remembered frame holds it.
    for (const netId of this.gone) this.pendingFree.push({ tick, netId });
    this.gone.length = 0;
    const oldest = this.frames[this.frames.length < SNAPSHOT_HISTORY ? 0 : this.next]!.tick;
    while (this.pendingFree.length && this.pendingFree[0]!.tick <= oldest) this.netIds.recycle(this.pendingFree.shift()!.netId);

    this.currentTick = tick;
    this.encoded.clear();
  }

  /**
   * The snapshot to send `client` for the last captured tick, encoded, and records it as in
   * flight: with `inputSeq`, and the velocity of the client's player (zeros when not given). The
   * bytes are the client's own (safe to hand to a socket).
   */
  encodeFor(client: ReplicaClient, inputSeq: number, playerVelocity?: Readonly<Vec3>): Uint8Array {
    const base = client.ackedTick ? this.byTick.get(client.ackedTick) : undefined;
    const baseTick = base ? base.tick : 0;
    let shared = this.encoded.get(baseTick);
    if (!shared) {
      shared = this.encode(base);
      this.encoded.set(baseTick, shared);
    }
    const bytes = shared.slice();
    setSnapshotInputSeq(bytes, inputSeq);
    if (playerVelocity) setSnapshotPlayerVelocity(bytes, playerVelocity);
    client.inFlight.push(this.currentTick);
    if (client.inFlight.length > SNAPSHOT_HISTORY) client.inFlight.shift();
    return bytes;
  }

  /** The current frame relative to `base` (nothing: a full snapshot), with inputSeq 0. */
  private encode(base: Frame | undefined): Uint8Array {
    const { live, created, destroyed, changes, basePose, update } = this;
    created.length = 0;
    destroyed.length = 0;
    changes.reset();
    let changedCount = 0;
    let prevNetId = 0;
    // Both lists ascend by netId: walk them side by side.
    const rows = base?.rows;
    const end = base ? base.count * STRIDE : 0;
    let o = 0;
    for (const t of live) {
      while (o < end && rows![o + NET_ID]! < t.netId) {
        destroyed.push(rows![o + NET_ID]!);
        o += STRIDE;
      }
      if (o < end && rows![o + NET_ID] === t.netId) {
        if (rows![o + COMP] !== t.comp) created.push(t);
        else if (diffPose(base!.poseAt(o, basePose), t.pose, update)) {
          writeUpdate(changes, t.netId - prevNetId, update);
          prevNetId = t.netId;
          changedCount++;
        }
        o += STRIDE;
      } else created.push(t);
    }
    for (; o < end; o += STRIDE) destroyed.push(rows![o + NET_ID]!);
    writeSnapshot(this.out.reset(), { tick: this.currentTick, baseTick: base ? base.tick : 0, inputSeq: 0 }, created, destroyed, changedCount, changes.written());
    return this.out.finish();
  }
}

function visibleComponents(e: Entity): string {
  const { script: _server, ...visible } = e.components; // scripts stay on the server
  return JSON.stringify(visible);
}
