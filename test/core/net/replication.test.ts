/**
 * Replication end to end in memory: a server world that keeps changing, a Replicator, and
 * clients that decode and apply what they are sent. Every client that applies a snapshot must
 * then hold exactly the server's quantised state of that tick (no drift), whatever it lost and
 * however late or out of order its acks arrived.
 */
import { describe, expect, it } from 'vitest';
import { quatFromEulerDeg, quatMultiply, type Quat, type Vec3 } from '../../../runtime/core/math/vec.js';
import { decodeServer, MessageType, quantizePose, type Snapshot, type WirePose } from '../../../runtime/core/protocol/messages.js';
import { ClientMirror } from '../../../runtime/core/net/client-mirror.js';
import { ReplicaClient, Replicator, SNAPSHOT_HISTORY } from '../../../runtime/core/net/replication.js';
import { World } from '../../../runtime/core/world/world.js';
import { ProtocolError } from '../../../runtime/core/protocol/codec.js';
import { loadScene } from '../helpers.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const doc = (id: string, position: Vec3, color = '#808080') =>
  loadScene([{ id, components: { transform: { position, rotation: [0, 0, 0] }, mesh: { shape: 'box', size: [1, 1, 1] }, material: { color }, script: { module: 'x.js' } } }]).entities[0]!;

type Held = Map<string, { pose: WirePose; name: string; components: unknown }>;

/** What every client must hold after applying the snapshot of this moment: by entity id, the quantised pose and the components it sees. */
function serverState(world: World): Held {
  const out: Held = new Map();
  for (const e of world.values()) {
    const { script: _script, ...visible } = e.components;
    out.set(e.id, { pose: quantizePose(e.position, e.rotation), name: e.name, components: JSON.parse(JSON.stringify(visible)) });
  }
  return out;
}

function mirrorState(m: ClientMirror): Held {
  const out: Held = new Map();
  for (const e of m.entities.values()) {
    const { x, y, z, ri, ra, rb, rc } = e.pose;
    out.set(e.id, { pose: { x, y, z, ri, ra, rb, rc }, name: e.name, components: e.components });
  }
  return out;
}

interface SimClient {
  name: string;
  replica: ReplicaClient;
  mirror: ClientMirror;
  /** Whether it receives the snapshot of send number `n`. */
  receives(n: number): boolean;
  /** Send numbers after which an ack reaches the server (absent: never acks). */
  ackDelay?(): number;
  acks: { at: number; tick: number }[];
  applied: number;
  deltas: number;
  olderBaselines: number;
  bytes: number;
}

describe('replication', () => {
  it('every client ends at the server’s quantised state: prompt, lossy with late and reordered acks, never acking, stalled past the history', () => {
    const random = rng(42);
    const world = new World();
    let nextId = 0;
    const spawn = () => world.add(doc(`e-${++nextId}`, [random() * 40 - 20, random() * 4, random() * 40 - 20]));
    for (let i = 0; i < 60; i++) spawn();
    const replicator = new Replicator(world);

    const client = (name: string, receives: (n: number) => boolean, ackDelay?: () => number): SimClient => ({
      name,
      replica: new ReplicaClient(),
      mirror: new ClientMirror(),
      receives,
      ...(ackDelay ? { ackDelay } : {}),
      acks: [],
      applied: 0,
      deltas: 0,
      olderBaselines: 0,
      bytes: 0,
    });
    const clients = [
      client('prompt', () => true, () => 0),
      client('lossy, late and reordered acks', () => random() > 0.4, () => Math.floor(random() * 8)),
      client('never acks', () => true),
      client('stalled', (n) => n < 20 || n > 20 + SNAPSHOT_HISTORY + 10, () => 1),
      client('joins late', (n) => n >= 50, () => 0),
    ];

    const SENDS = 200;
    for (let n = 0; n < SENDS; n++) {
      const tick = 3 * (n + 1);
      // The world changes: most entities move a little, some a lot, some turn over, some by less than a quantum.
      for (const e of [...world.values()]) {
        const r = random();
        if (r < 0.15) continue;
        const step = r < 0.7 ? 0.2 : r < 0.85 ? 30 : r < 0.9 ? 5000 : 0.0005;
        const p: Vec3 = [e.position[0] + (random() - 0.5) * step, random() < 0.5 ? e.position[1] : e.position[1] + (random() - 0.5) * step, e.position[2] + (random() - 0.5) * step];
        const turn = random() < 0.2 ? quatFromEulerDeg([random() * 360, random() * 360, random() * 360]) : quatFromEulerDeg([random() * 4, random() * 4, 0]);
        const q: Quat = quatMultiply(e.rotation, turn);
        world.setPose(e, p, q);
      }
      if (random() < 0.3) world.remove(`e-${1 + Math.floor(random() * nextId)}`);
      if (random() < 0.3) spawn();
      if (random() < 0.2) {
        const e = [...world.values()][Math.floor(random() * world.size)];
        if (e) world.setComponent(e, 'material', { ...e.components.material!, color: `#${Math.floor(random() * 0xffffff).toString(16).padStart(6, '0')}` });
      }

      replicator.capture(tick);
      const expected = serverState(world);
      for (const c of clients) {
        // Acks whose time has come reach the server, in shuffled order.
        const due = c.acks.filter((a) => a.at <= n).sort(() => random() - 0.5);
        c.acks = c.acks.filter((a) => a.at > n);
        for (const a of due) c.replica.ack(a.tick);
        if (n < 50 && c.name === 'joins late') continue;
        const bytes = replicator.encodeFor(c.replica, n);
        if (!c.receives(n)) continue;
        c.bytes += bytes.byteLength;
        const s = decodeServer(bytes) as Snapshot;
        expect(s.type).toBe(MessageType.Snapshot);
        expect(s.inputSeq).toBe(n);
        const lastTick = c.mirror.lastTick;
        expect(c.mirror.apply(s), `${c.name}: snapshot ${tick} applies`).toBe(true);
        c.applied++;
        if (s.baseTick) c.deltas++;
        if (s.baseTick && s.baseTick < lastTick) c.olderBaselines++;
        expect(mirrorState(c.mirror), `${c.name} at tick ${tick}`).toEqual(expected);
        if (c.ackDelay) c.acks.push({ at: n + c.ackDelay(), tick });
      }
    }

    const [prompt, lossy, never, stalled, late] = clients as [SimClient, SimClient, SimClient, SimClient, SimClient];
    expect(prompt.deltas).toBe(SENDS - 1);
    expect(lossy.applied).toBeGreaterThan(SENDS * 0.5);
    expect(lossy.deltas).toBeGreaterThan(lossy.applied * 0.8);
    expect(lossy.olderBaselines).toBeGreaterThan(20); // decoded against states older than its newest
    expect(never.deltas).toBe(0);
    expect(stalled.deltas).toBeGreaterThan(100);
    expect(late.applied).toBe(SENDS - 50);
    expect(prompt.bytes).toBeLessThan(never.bytes / 3);
  });

  it('encodes once per baseline: clients that acked the same snapshot get the same bytes but for their inputSeq and player velocity', () => {
    const world = new World();
    for (let i = 0; i < 10; i++) world.add(doc(`e-${i}`, [i, 0, 0]));
    const replicator = new Replicator(world);
    const [a, b, c] = [new ReplicaClient(), new ReplicaClient(), new ReplicaClient()];
    replicator.capture(3);
    for (const r of [a, b, c]) replicator.encodeFor(r, 0);
    a.ack(3);
    b.ack(3);
    for (const e of world.values()) world.setPose(e, [e.position[0], 1, 0]);
    replicator.capture(6);
    const [ba, bb, bc] = [replicator.encodeFor(a, 7, [1.5, -0.25, 6]), replicator.encodeFor(b, 8), replicator.encodeFor(c, 9)];
    expect(ba).not.toBe(bb); // each client's own buffer
    expect([...ba.subarray(25)]).toEqual([...bb.subarray(25)]);
    expect([(decodeServer(ba) as Snapshot).inputSeq, (decodeServer(bb) as Snapshot).inputSeq]).toEqual([7, 8]);
    expect([(decodeServer(ba) as Snapshot).playerVelocity, (decodeServer(bb) as Snapshot).playerVelocity]).toEqual([[1.5, -0.25, 6], [0, 0, 0]]);
    expect((decodeServer(ba) as Snapshot).baseTick).toBe(3);
    expect((decodeServer(bc) as Snapshot).baseTick).toBe(0);
    expect(ba.byteLength).toBeLessThan(bc.byteLength / 3);
  });

  it('a mirror refuses a snapshot relative to a state it does not hold, one older than the last applied, and updates of entities its baseline lacks', () => {
    const m = new ClientMirror();
    const s = (tick: number, baseTick: number): Snapshot => ({ type: MessageType.Snapshot, tick, baseTick, inputSeq: 0, playerVelocity: [0, 0, 0], created: [], destroyed: [], changed: [] });
    expect(m.apply(s(10, 0))).toBe(true);
    expect(m.apply(s(13, 7))).toBe(false);
    expect(m.apply(s(13, 10))).toBe(true);
    expect(m.apply(s(12, 10))).toBe(false);
    const orphan = { ...s(16, 13), changed: [{ netId: 5, codes: 1, x: 1, y: 0, z: 0, ri: 0, ra: 0, rb: 0, rc: 0 }] };
    expect(() => m.apply(orphan)).toThrow(ProtocolError);
    expect(m.lastTick).toBe(13);
    expect(() => m.apply({ ...s(16, 13), created: [{ netId: 1, id: 'x', name: 'x', components: '[1]', pose: quantizePose([0, 0, 0], [0, 0, 0, 1]) }] })).toThrow(/not an object/);
  });

  it('a component change that cannot be encoded leaves the entity out, reported once, until a later change fits again', () => {
    const world = new World();
    world.add(doc('a', [0, 0, 0]));
    world.add(doc('b', [1, 0, 0]));
    const errors: string[] = [];
    const rep = new Replicator(world, { onError: (e) => errors.push(`${e.entityId}: ${e.error.message}`) });
    const client = new ReplicaClient();
    const mirror = new ClientMirror();
    const send = (tick: number) => {
      rep.capture(tick);
      const msg = decodeServer(rep.encodeFor(client, 0));
      if (msg.type !== MessageType.Snapshot) throw new Error('not a snapshot');
      expect(mirror.apply(msg)).toBe(true);
      client.ack(tick);
    };
    send(1);
    const a = world.get('a')!;
    world.setComponent(a, 'material', { ...a.components.material!, color: 'x'.repeat(70_000) });
    for (let t = 2; t <= 5; t++) {
      world.setPose(world.get('b')!, [t, 0, 0]);
      send(t);
    }
    expect(errors).toEqual(['a: components of a exceed 64 KiB']);
    expect(rep.failures).toBe(1);
    expect(mirror.byId('a')).toBeUndefined();
    expect(mirror.byId('b')!.position[0]).toBeCloseTo(5, 2);
    world.setComponent(a, 'material', { ...a.components.material!, color: '#123456' });
    send(6);
    expect(mirror.byId('a')!.components).toMatchObject({ material: { color: '#123456' } });
    expect(errors).toHaveLength(1);
  });

  it('names travel with created entries only: once per entity, again after a rename, never in pose updates', () => {
    const world = new World();
    world.add({ ...doc('player-1', [0, 0, 0]), name: 'alice' });
    world.add(doc('player-2', [1, 0, 0])); // no name of its own: named by its id
    const rep = new Replicator(world);
    const client = new ReplicaClient();
    const mirror = new ClientMirror();
    const send = (tick: number) => {
      rep.capture(tick);
      const bytes = rep.encodeFor(client, 0);
      const msg = decodeServer(bytes);
      if (msg.type !== MessageType.Snapshot) throw new Error('not a snapshot');
      expect(mirror.apply(msg)).toBe(true);
      client.ack(tick);
      return { bytes, msg };
    };
    const has = (bytes: Uint8Array, text: string) => Buffer.from(bytes).includes(Buffer.from(text));
    const first = send(1);
    expect(has(first.bytes, 'alice')).toBe(true);
    expect(mirror.byId('player-1')!.name).toBe('alice');
    expect(mirror.byId('player-2')!.name).toBe('player-2');

    world.setPose(world.get('player-1')!, [3, 0, 0]);
    const moved = send(2);
    expect(moved.msg.created).toEqual([]);
    expect(moved.msg.changed.map((u) => u.netId)).toEqual([first.msg.created.find((c) => c.id === 'player-1')!.netId]);
    expect(has(moved.bytes, 'alice')).toBe(false);
    expect(mirror.byId('player-1')!.name).toBe('alice'); // kept from the baseline

    const p2 = world.get('player-2')!;
    world.relabel(p2, 'bob', p2.tags); // a rename alone leaves the entity's version as it was
    const renamed = send(3);
    expect(renamed.msg.created.map((c) => [c.id, c.name])).toEqual([['player-2', 'bob']]);
    expect(mirror.byId('player-2')!.name).toBe('bob');
    expect(mirror.byId('player-2')!.position[0]).toBeCloseTo(1, 2);
    expect(send(4).msg.created).toEqual([]);

    // A client with no baseline gets every name in its full snapshot.
    const late = new ClientMirror();
    rep.capture(5);
    const full = decodeServer(rep.encodeFor(new ReplicaClient(), 0));
    if (full.type !== MessageType.Snapshot) throw new Error('not a snapshot');
    expect(late.apply(full)).toBe(true);
    expect([...late.entities.values()].map((e) => [e.id, e.name]).sort()).toEqual([
      ['player-1', 'alice'],
      ['player-2', 'bob'],
    ]);
  });
});
