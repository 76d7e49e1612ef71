import { describe, expect, it } from 'vitest';
import { ProtocolError, Writer } from '../../../runtime/core/protocol/codec.js';
import {
  decodeClient,
  decodeServer,
  encodeClient,
  encodeServer,
  MAX_INPUTS_PER_MESSAGE,
  MessageType,
  POSITION_SCALE,
  PROTOCOL_VERSION,
  type ClientMessage,
  type Snapshot,
} from '../../../runtime/core/protocol/messages.js';
import { quatFromEulerDeg, type Quat } from '../../../runtime/core/math/vec.js';

const angle = (a: Quat, b: Quat) => 2 * Math.acos(Math.min(1, Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])));

describe('client messages', () => {
  it('round-trip hello, input, ack and ping', () => {
    const hello = { type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: 'abc.def', name: 'Zoë' } as const;
    expect(decodeClient(encodeClient(hello))).toEqual(hello);
    const input: ClientMessage = { type: MessageType.Input, inputs: [{ seq: 7, moveX: 0.5, moveZ: -1, jump: true, yaw: 1.25 }] };
    expect(decodeClient(encodeClient(input))).toEqual(input);
    expect(decodeClient(encodeClient({ type: MessageType.Ack, tick: 4_000_000_000 }))).toEqual({ type: MessageType.Ack, tick: 4_000_000_000 });
    expect(decodeClient(encodeClient({ type: MessageType.Ping, id: 3 }))).toEqual({ type: MessageType.Ping, id: 3 });
  });

  it('rejects unknown types, truncated frames, trailing bytes, NaN and bad counts with ProtocolError', () => {
    const good = encodeClient({ type: MessageType.Input, inputs: [{ seq: 1, moveX: 0, moveZ: 0, jump: false, yaw: 0 }] });
    expect(() => decodeClient(new Uint8Array([0x7f]))).toThrow(/unknown client message type 0x7f/);
    expect(() => decodeClient(new Uint8Array([]))).toThrow(ProtocolError);
    expect(() => decodeClient(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decodeClient(new Uint8Array([...good, 0]))).toThrow(/trailing/);
    const nan = new Writer().u8(MessageType.Input).u8(1).u32(1).f32(NaN).f32(0).u8(0).f32(0).finish();
    expect(() => decodeClient(nan)).toThrow(/moveX is not a finite number/);
    expect(() => decodeClient(new Writer().u8(MessageType.Input).u8(0).finish())).toThrow(/input count 0/);
    expect(() => decodeClient(new Writer().u8(MessageType.Input).u8(MAX_INPUTS_PER_MESSAGE + 1).finish())).toThrow(/input count/);
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

  it('quantises positions to 1/512 m and rotations to well under 0.01 degrees', () => {
    const rotation = quatFromEulerDeg([12.3, -170.2, 45.6]);
    const snap: Snapshot = {
      type: MessageType.Snapshot,
      tick: 99,
      baseTick: 90,
      inputSeq: 5,
      created: [{ netId: 1, id: 'crate-01', components: '{"mesh":{"shape":"box","size":[1,1,1]}}', position: [1.2345, -0.001, 1000.5], rotation }],
      destroyed: [7, 8],
      changed: [
        { netId: 2, position: [-15000.123, 3.3, 0.25] },
        { netId: 3, rotation: [0, 0, 0, -1] },
        { netId: 4, position: [0, 0, 0], rotation },
      ],
    };
    const back = decodeServer(encodeServer(snap)) as Snapshot;
    expect(back.tick).toBe(99);
    expect(back.destroyed).toEqual([7, 8]);
    expect(back.created[0]!.components).toBe(snap.created[0]!.components);
    for (const [a, b] of [
      [back.created[0]!.position, snap.created[0]!.position],
      [back.changed[0]!.position!, snap.changed[0]!.position!],
    ] as const) {
      for (let i = 0; i < 3; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(0.5 / POSITION_SCALE + 1e-9);
    }
    expect(angle(back.created[0]!.rotation, rotation)).toBeLessThan((0.01 * Math.PI) / 180);
    expect(angle(back.changed[1]!.rotation!, [0, 0, 0, -1])).toBeLessThan(1e-4);
    expect(back.changed[0]!.rotation).toBeUndefined();
    expect(back.changed[1]!.position).toBeUndefined();
  });

  it('an unchanged entity costs nothing and a moved one 18 bytes', () => {
    const base: Omit<Snapshot, 'changed'> = { type: MessageType.Snapshot, tick: 1, baseTick: 0, inputSeq: 0, created: [], destroyed: [] };
    const empty = encodeServer({ ...base, changed: [] }).byteLength;
    const one = encodeServer({ ...base, changed: [{ netId: 1, position: [1, 2, 3], rotation: [0, 0, 0, 1] }] }).byteLength;
    expect(one - empty).toBe(18);
  });
});
