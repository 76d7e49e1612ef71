import type { Entity, World } from '../world/world.js';
import { MessageType, type EntityCreate, type EntityUpdate, type Snapshot } from '../protocol/messages.js';

/** What a client holds of one entity: pose version and component version. */
interface Held {
  pose: number;
  comp: number;
}
type WorldState = Map<number, Held>;

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

/**
 * Builds per-client delta snapshots of a world. Each send tick the replicator records every
 * entity's versions once (shared by all clients); a client's snapshot holds what changed since
 * the snapshot it acknowledged: entities created, destroyed, and changed. Unchanged entities
 * cost nothing; a client with no usable ack (new, or fallen behind the history) gets a full one.
 */
export class Replicator {
  readonly netIds = new NetIds();
  private readonly history = new Map<number, WorldState>();
  private readonly order: number[] = [];
  private readonly pendingFree: { tick: number; netId: number }[] = [];
  private current: WorldState = new Map();
  /** Components JSON per entity, kept while its component version holds: full snapshots reuse it. */
  private readonly json = new Map<string, { comp: number; text: string }>();
  private currentTick = 0;

  constructor(private readonly world: World) {
    world.on((ev) => {
      if (ev.type === 'removed') {
        this.netIds.release(ev.entity.id);
        this.json.delete(ev.entity.id);
      }
    });
  }

  /** Records the world's state at `tick`; call once per send tick before `snapshotFor`. */
  capture(tick: number): void {
    const state: WorldState = new Map();
    for (const e of this.world.values()) state.set(this.netIds.get(e.id), { pose: e.version, comp: e.componentVersion });
    // Entities gone since the previous capture: their net id is free once no remembered snapshot holds it.
    for (const [netId] of this.current) if (!state.has(netId)) this.pendingFree.push({ tick, netId });
    this.history.set(tick, state);
    this.order.push(tick);
    while (this.order.length > SNAPSHOT_HISTORY) this.history.delete(this.order.shift()!);
    const oldest = this.order[0]!;
    while (this.pendingFree.length && this.pendingFree[0]!.tick <= oldest) this.netIds.recycle(this.pendingFree.shift()!.netId);
    this.current = state;
    this.currentTick = tick;
  }

  /** The snapshot to send `client` for the last captured tick, and records it as in flight. */
  snapshotFor(client: ReplicaClient, inputSeq: number): Snapshot {
    const base = client.ackedTick ? this.history.get(client.ackedTick) : undefined;
    const created: EntityCreate[] = [];
    const changed: EntityUpdate[] = [];
    const destroyed: number[] = [];
    for (const e of this.world.values()) {
      const netId = this.netIds.get(e.id);
      const held = base?.get(netId);
      if (!held || held.comp !== e.componentVersion) created.push({ netId, id: e.id, components: this.componentsJson(e), position: e.position, rotation: e.rotation });
      else if (held.pose !== e.version) changed.push({ netId, position: e.position, rotation: e.rotation });
    }
    if (base) for (const [netId] of base) if (!this.current.has(netId)) destroyed.push(netId);
    client.inFlight.push(this.currentTick);
    if (client.inFlight.length > SNAPSHOT_HISTORY) client.inFlight.shift();
    return { type: MessageType.Snapshot, tick: this.currentTick, baseTick: base ? client.ackedTick : 0, inputSeq, created, destroyed, changed };
  }

  private componentsJson(e: Entity): string {
    const cached = this.json.get(e.id);
    if (cached && cached.comp === e.componentVersion) return cached.text;
    const text = visibleComponents(e);
    this.json.set(e.id, { comp: e.componentVersion, text });
    return text;
  }
}

function visibleComponents(e: Entity): string {
  const { script: _server, ...visible } = e.components; // scripts stay on the server
  return JSON.stringify(visible);
}
