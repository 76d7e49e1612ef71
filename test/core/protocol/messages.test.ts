import { describe, expect, it } from 'vitest';
import { ProtocolError, Reader, Writer } from '../../../runtime/core/protocol/codec.js';
import {
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  applyUpdate,
  diffPose,
  MAX_ENTITY_NAME_BYTES,
  MAX_INPUTS_PER_MESSAGE,
  MessageType,
  newPose,
  newUpdate,
  POSITION_SCALE,
  posePosition,
  writePose,
  poseRotation,
  posesEqual,
  PROTOCOL_VERSION,
  quantizePose,
  type ClientMessage,
  type Snapshot,
  type WirePose,
} from '../../../runtime/core/protocol/messages.js';
import { quatFromEulerDeg, type Quat } from '../../../runtime/core/math/vec.js';

const angle = (a: Quat, b: Quat) => 2 * Math.acos(Math.min(1, Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])));

describe('client messages', () => {
  it('round-trip hello, input, ack and ping', () => {
    const hello = { type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: 'abc.def', name: 'Zoë' } as const;
    expect(decodeClient(encodeClient(hello))).toEqual(hello);
    const input: ClientMessage = { type: MessageType.Input, ack: 4_000_000_001, inputs: [{ seq: 7, moveX: 0.5, moveZ: -1, jump: true, yaw: 1.25 }] };
    expect(decodeClient(encodeClient(input))).toEqual(input);
    expect(decodeClient(encodeClient({ type: MessageType.Ack, tick: 4_000_000_000 }))).toEqual({ type: MessageType.Ack, tick: 4_000_000_000 });
    expect(decodeClient(encodeClient({ type: MessageType.Ping, id: 3 }))).toEqual({ type: MessageType.Ping, id: 3 });
  });

  it('rejects unknown types, truncated frames, trailing bytes, NaN and bad counts with ProtocolError', () => {
    const good = encodeClient({ type: MessageType.Input, ack: 3, inputs: [{ seq: 1, moveX: 0, moveZ: 0, jump: false, yaw: 0 }] });
    expect(() => decodeClient(new Uint8Array([0x7f]))).toThrow(/unknown client message type 0x7f/);
    expect(() => decodeClient(new Uint8Array([]))).toThrow(ProtocolError);
    expect(() => decodeClient(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decodeClient(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    const nan = new Writer().u8(MessageType.Input).u32(0).u8(1).u32(1).f32(NaN).f32(0).u8(0).f32(0).finish();
    expect(() => decodeClient(nan)).toThrow(/moveX is not a finite number/);
    expect(() => decodeClient(new Writer().u8(MessageType.Input).u32(0).u8(0).finish())).toThrow(/input count 0/);
    expect(() => decodeClient(new Writer().u8(MessageType.Input).u32(0).u8(MAX_INPUTS_PER_MESSAGE + 1).finish())).toThrow(/input count/);
    const badUtf8 = new Writer().u8(MessageType.Hello).u16(1).u8(2).bytes(new Uint8Array([0xc3, 0x28])).u8(0).finish();
    expect(() => decodeClient(badUtf8)).toThrow(/not valid UTF-8/);
  });

  it('throws nothing but ProtocolError on random bytes', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    let decoded = 0;
    for (let n = 0; n < 3000; n++) {
      const frame = new Uint8Array(1 + (rand() % 40)).map(rand);
      frame[0] = [1, 2, 3, 4, rand()][n % 5]!; // mostly known types, so the decoders get exercised
      try {
        decodeClient(frame);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }
    expect(decoded).toBeLessThan(3000);
  });
});

describe('Writer', () => {
  it('round-trips variable-length integers and rejects overlong ones', () => {
    for (const v of [0, 1, 127, 128, 300, 16383, 16384, 65535, 0xffffffff]) {
      const bytes = new Writer().varuint(v).finish();
      expect(bytes.byteLength).toBe(v < 128 ? 1 : v < 16384 ? 2 : v < 2 ** 21 ? 3 : 5);
      expect(new Reader(bytes).varuint()).toBe(v);
    }
    expect(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).varuint()).toThrow(ProtocolError);
    expect(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f])).varuint()).toThrow(ProtocolError);
    expect(() => new Reader(new Uint8Array([0x80])).varuint()).toThrow(/truncated/);
  });

  it('grows past its initial size, strings and byte runs included', () => {
    const w = new Writer(4);
    const blob = new Uint8Array(300).map((_, i) => i & 0xff);
    w.u8(1).str('x'.repeat(200)).bytes(blob).u32(7);
    const out = w.finish();
    expect(out.byteLength).toBe(1 + 1 + 200 + 300 + 4);
    expect([...out.subarray(202, 502)]).toEqual([...blob]);
  });
});

describe('server messages', () => {
  it('round-trip welcome with the scene hash', () => {
    const welcome = {
      type: MessageType.Welcome,
      protocol: 1,
      playerEntity: 'player-3',
      scene: 'arena',
      sceneHash: 'ab'.repeat(32),
      tickRate: 60,
      sendRate: 20,
      tick: 1234,
    } as const;
    expect(decodeServer(encodeServer(welcome))).toEqual(welcome);
  });

  it('quantises positions to 1/512 m and rotations to well under 0.01 degrees, exactly round trip', () => {
    const rotation = quatFromEulerDeg([12.3, -170.2, 45.6]);
    const pose = quantizePose([1.2345, -0.001, 1000.5], rotation);
    const far = quantizePose([-15000.123, 3.3, 0.25], [0, 0, 0, -1]);
    const update = newUpdate();
    diffPose(pose, far, update);
    const snap: Snapshot = {
      type: MessageType.Snapshot,
      tick: 99,
      baseTick: 90,
      inputSeq: 5,
      playerVelocity: [1.5, -2.25, 6],
      created: [{ netId: 1, id: 'crate-01', name: 'Crate', components: '{"mesh":{"shape":"box","size":[1,1,1]}}', pose }],
      destroyed: [7, 8],
      changed: [{ ...update, netId: 2 }],
    };
    const back = decodeServer(encodeServer(snap)) as Snapshot;
    expect(back).toEqual(snap);
    const p = posePosition(back.created[0]!.pose);
    const want = [1.2345, -0.001, 1000.5];
    for (let i = 0; i < 3; i++) expect(Math.abs(p[i]! - want[i]!)).toBeLessThanOrEqual(0.5 / POSITION_SCALE + 1e-9);
    expect(angle(poseRotation(back.created[0]!.pose), rotation)).toBeLessThan((0.01 * Math.PI) / 180);
    expect(angle(poseRotation(applyUpdate(pose, back.changed[0]!)), [0, 0, 0, -1])).toBeLessThan(1e-4);
    expect(applyUpdate(pose, back.changed[0]!)).toEqual(far);
  });

  it('sends only the fields that differ from the baseline, each in the fewest bytes that hold it exactly', () => {
    const base = quantizePose([1, 2, 3], quatFromEulerDeg([0, 30, 0]));
    const head: Omit<Snapshot, 'changed'> = { type: MessageType.Snapshot, tick: 2, baseTick: 1, inputSeq: 0, playerVelocity: [0, 0, 0], created: [], destroyed: [] };
    const empty = encodeServer({ ...head, changed: [] }).byteLength;
    const cost = (cur: WirePose, netId = 1) => {
      const u = newUpdate();
      expect(diffPose(base, cur, u)).toBe(!posesEqual(base, cur));
      const bytes = encodeServer({ ...head, changed: [{ ...u, netId }] });
      const back = (decodeServer(bytes) as Snapshot).changed[0]!;
      expect(applyUpdate(base, back)).toEqual(cur); // exact, whatever the encoding
      return bytes.byteLength - empty;
    };
    const moved = (dx: number, dy: number, dz: number, rot = base) => ({ ...rot, x: base.x + dx, y: base.y + dy, z: base.z + dz });
    expect(cost(moved(77, 0, -40))).toBe(2 + 2); // net id gap, codes, two i8 deltas
    expect(cost(moved(77, 0, -40), 300)).toBe(3 + 2); // a net id gap of 300 takes 2 bytes
    expect(cost(moved(1000, -1, 0))).toBe(2 + 2 + 1);
    expect(cost(moved(100_000, 0, 0))).toBe(2 + 3);
    expect(cost({ ...base, ra: base.ra + 100, rc: base.rc - 5 })).toBe(2 + 3); // small rotation change: three i8
    const turned = quantizePose([1, 2, 3], quatFromEulerDeg([0, 75, 0]));
    expect(turned.ri).toBe(base.ri);
    expect(cost(turned)).toBe(2 + 6);
    const flipped = quantizePose([1, 2, 3], quatFromEulerDeg([0, 170, 0]));
    expect(flipped.ri).not.toBe(base.ri);
    expect(cost(flipped)).toBe(2 + 7);
    expect(cost(moved(0, 0, 0))).toBe(2); // equal: diffPose says so, and nothing would be needed
  });

  it('rejects bad snapshots: descending net ids, out-of-range results, bad rotation indexes', () => {
    const head = new Writer().u8(MessageType.Snapshot).u32(5).u32(4).u32(0).f32(0).f32(0).f32(0).u16(0).u16(0);
    const twice = new Writer().bytes(head.written()).u16(2).varuint(3).u8(1).i8(1).varuint(0).u8(1).i8(1).finish();
    expect(() => decodeServer(twice)).toThrow(/ascend/);
    const badIndex = new Writer().bytes(head.written()).u16(1).varuint(1).u8(0xc0).u8(4).i16(0).i16(0).i16(0).finish();
    expect(() => decodeServer(badIndex)).toThrow(/rotation index 4/);
    const edge = quantizePose([16383.99, 0, 0], [0, 0, 0, 1]);
    const u = decodeServer(new Writer().bytes(head.written()).u16(1).varuint(1).u8(1).i8(100).finish()) as Snapshot;
    expect(() => applyUpdate(edge, u.changed[0]!)).toThrow(ProtocolError);
    const nanVelocity = new Writer().u8(MessageType.Snapshot).u32(5).u32(4).u32(0).f32(0).f32(NaN).f32(0).u16(0).u16(0).u16(0).finish();
    expect(() => decodeServer(nanVelocity)).toThrow(/player velocity y is not a finite number/);
    const future = new Writer().u8(MessageType.Snapshot).u32(5).u32(5).u32(0).u16(0).u16(0).u16(0).finish();
    expect(() => decodeServer(future)).toThrow(/base tick/);
  });

  it('carries names in created entries: one byte for an entity named by its id, the UTF-8 otherwise; refuses oversized or malformed ones', () => {
    const pose = quantizePose([0, 1, 0], [0, 0, 0, 1]);
    const snap = (name: string): Snapshot => ({ type: MessageType.Snapshot, tick: 3, baseTick: 0, inputSeq: 0, playerVelocity: [0, 0, 0], created: [{ netId: 4, id: 'player-2', name, components: '{}', pose }], destroyed: [], changed: [] });
    const plain = encodeServer(snap('player-2'));
    expect((decodeServer(plain) as Snapshot).created[0]!.name).toBe('player-2');
    const named = encodeServer(snap('Zoë'));
    expect((decodeServer(named) as Snapshot).created[0]!.name).toBe('Zoë');
    expect(named.byteLength - plain.byteLength).toBe(new TextEncoder().encode('Zoë').byteLength);
    const empty = new Writer().u8(MessageType.Snapshot).u32(3).u32(0).u32(0).f32(0).f32(0).f32(0).u16(1).u16(4).str('player-2').varuint(0).u16(2).bytes(new TextEncoder().encode('{}'));
    const withoutName = new Writer().u8(MessageType.Snapshot).u32(3).u32(0).u32(0).f32(0).f32(0).f32(0).u16(1).u16(4).str('player-2').u16(2).bytes(new TextEncoder().encode('{}'));
    writePose(empty, pose);
    writePose(withoutName, pose);
    expect(plain).toEqual(empty.u16(0).u16(0).finish());
    expect(plain.byteLength - withoutName.u16(0).u16(0).finish().byteLength).toBe(1);
    const longest = 'é'.repeat(MAX_ENTITY_NAME_BYTES / 2);
    expect((decodeServer(encodeServer(snap(longest))) as Snapshot).created[0]!.name).toBe(longest);
    expect(() => encodeServer(snap(`${longest}x`))).toThrow(/name of player-2 exceeds/);
    const head = () => new Writer().u8(MessageType.Snapshot).u32(3).u32(0).u32(0).f32(0).f32(0).f32(0).u16(1).u16(4).str('player-2');
    expect(() => decodeServer(head().varuint(MAX_ENTITY_NAME_BYTES + 1).finish())).toThrow(/name of player-2 is 513 bytes/);
    expect(() => decodeServer(head().varuint(2).bytes(new Uint8Array([0xc3, 0x28])).u16(0).finish())).toThrow(/name or components of player-2 are not valid UTF-8/);
  });

  it('throws nothing but ProtocolError on random snapshot bytes', () => {
    let seed = 777;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 3000; n++) {
      const frame = new Writer().u8(MessageType.Snapshot).u32(9).u32(n % 2).u32(0).f32(0).f32(0).f32(0).u16(0).u16(0).u16(1 + (rand() % 4)).bytes(new Uint8Array(rand() % 30).map(rand)).finish();
      try {
        const s = decodeServer(frame) as Snapshot;
        for (const c of s.changed) applyUpdate(newPose(), c);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }
  });
});
