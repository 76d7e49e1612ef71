/**
 * keel wire protocol, version 1: binary WebSocket frames, one message per frame, the first byte
 * its type. Defined once here and shared by the server, the browser client and the Node bot
 * client. Every decoder validates lengths, ranges and finiteness and throws ProtocolError.
 *
 * Quantisation (documented for clients):
 * - positions: signed 24-bit fixed point at 1/512 m (about 2 mm), range ±16 384 m per axis;
 * - rotations: "smallest three" unit quaternion, the three smaller components as int16 over
 *   [-1/√2, 1/√2] (about 2e-5), the index of the dropped largest one in 2 bits.
 */
import { ProtocolError, Reader, Writer } from './codec.js';
import type { Quat, Vec3 } from '../math/vec.js';

export const PROTOCOL_VERSION = 1;

/** Message type ids: client to server below 0x80, server to client from 0x80. */
export const MessageType = {
  Hello: 0x01,
  Input: 0x02,
  Ack: 0x03,
  Ping: 0x04,
  Welcome: 0x81,
  Snapshot: 0x82,
  Pong: 0x83,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** WebSocket close codes the server uses, with a human-readable reason beside each. */
export const CloseCode = {
  ShuttingDown: 1001,
  ProtocolVersion: 4000,
  ServerFull: 4001,
  BadToken: 4002,
  Malformed: 4003,
  RateLimited: 4004,
  SlowConsumer: 4005,
  HandshakeTimeout: 4006,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const POSITION_SCALE = 512;
const POSITION_LIMIT = 0x7fffff / POSITION_SCALE;
const ROTATION_SCALE = 32767 * Math.SQRT2;
/** Most inputs one Input message may carry. */
export const MAX_INPUTS_PER_MESSAGE = 16;

export interface Hello {
  type: typeof MessageType.Hello;
  protocol: number;
  token: string;
  name: string;
}

export interface PlayerInput {
  seq: number;
  /** Move direction on the ground plane; the server clamps its length to 1. */
  moveX: number;
  moveZ: number;
  jump: boolean;
  /** Look yaw, radians. */
  yaw: number;
}

export interface Input {
  type: typeof MessageType.Input;
  inputs: PlayerInput[];
}

export interface Ack {
  type: typeof MessageType.Ack;
  tick: number;
}

export interface Ping {
  type: typeof MessageType.Ping;
  id: number;
}

export interface Welcome {
  type: typeof MessageType.Welcome;
  protocol: number;
  playerEntity: string;
  scene: string;
  /** sha256 of the scene file, hex. */
  sceneHash: string;
  tickRate: number;
  sendRate: number;
  tick: number;
}

export interface EntityCreate {
  netId: number;
  id: string;
  /** The entity's components as JSON text: what a client needs to build it. */
  components: string;
  position: Vec3;
  rotation: Quat;
}

export interface EntityUpdate {
  netId: number;
  position?: Vec3;
  rotation?: Quat;
}

export interface Snapshot {
  type: typeof MessageType.Snapshot;
  tick: number;
  /** Tick of the acknowledged snapshot this one is relative to; 0 for a full snapshot. */
  baseTick: number;
  /** Sequence number of the last input of this client applied. */
  inputSeq: number;
  created: EntityCreate[];
  destroyed: number[];
  changed: EntityUpdate[];
}

export interface Pong {
  type: typeof MessageType.Pong;
  id: number;
}

export type ClientMessage = Hello | Input | Ack | Ping;
export type ServerMessage = Welcome | Snapshot | Pong;

function writePosition(w: Writer, p: Vec3): void {
  for (const v of p) w.i24(Math.round(Math.max(-POSITION_LIMIT, Math.min(POSITION_LIMIT, v)) * POSITION_SCALE));
}
function readPosition(r: Reader): Vec3 {
  return [r.i24('position x') / POSITION_SCALE, r.i24('position y') / POSITION_SCALE, r.i24('position z') / POSITION_SCALE];
}

/** Smallest-three: drop the largest component (its sign made positive), keep the other three. */
function packRotation(q: Quat): { index: number; a: number; b: number; c: number } {
  let index = 0;
  for (let i = 1; i < 4; i++) if (Math.abs(q[i]!) > Math.abs(q[index]!)) index = i;
  const sign = q[index]! < 0 ? -1 : 1;
  const rest = [0, 1, 2, 3].filter((i) => i !== index).map((i) => Math.round(q[i]! * sign * ROTATION_SCALE));
  const clamp = (v: number) => Math.max(-32767, Math.min(32767, v));
  return { index, a: clamp(rest[0]!), b: clamp(rest[1]!), c: clamp(rest[2]!) };
}
function unpackRotation(index: number, a: number, b: number, c: number): Quat {
  const rest = [a / ROTATION_SCALE, b / ROTATION_SCALE, c / ROTATION_SCALE];
  const largest = Math.sqrt(Math.max(0, 1 - rest[0]! ** 2 - rest[1]! ** 2 - rest[2]! ** 2));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < 4; i++) out.push(i === index ? largest : rest[k++]!);
  return out as Quat;
}

const HAS_POSITION = 0b0100;
const HAS_ROTATION = 0b1000;

export function encodeClient(msg: ClientMessage, w = new Writer(64)): Uint8Array {
  w.reset().u8(msg.type);
  switch (msg.type) {
    case MessageType.Hello:
      w.u16(msg.protocol).str(msg.token).str(msg.name);
      break;
    case MessageType.Input:
      if (msg.inputs.length > MAX_INPUTS_PER_MESSAGE) throw new RangeError(`at most ${MAX_INPUTS_PER_MESSAGE} inputs per message`);
      w.u8(msg.inputs.length);
      for (const i of msg.inputs) w.u32(i.seq).f32(i.moveX).f32(i.moveZ).u8(i.jump ? 1 : 0).f32(i.yaw);
      break;
    case MessageType.Ack:
      w.u32(msg.tick);
      break;
    case MessageType.Ping:
      w.u32(msg.id);
      break;
  }
  return w.finish();
}

/** Decodes one client frame; throws ProtocolError for anything malformed, truncated or unknown. */
export function decodeClient(frame: Uint8Array): ClientMessage {
  const r = new Reader(frame);
  const type = r.u8('message type');
  let msg: ClientMessage;
  switch (type) {
    case MessageType.Hello:
      msg = { type, protocol: r.u16('protocol version'), token: r.str('token'), name: r.str('name') };
      break;
    case MessageType.Input: {
      const n = r.u8('input count');
      if (n === 0 || n > MAX_INPUTS_PER_MESSAGE) throw new ProtocolError(`input count ${n} outside 1..${MAX_INPUTS_PER_MESSAGE}`);
      const inputs: PlayerInput[] = [];
      for (let k = 0; k < n; k++) {
        const seq = r.u32('input seq');
        const moveX = r.f32('moveX');
        const moveZ = r.f32('moveZ');
        const buttons = r.u8('buttons');
        const yaw = r.f32('yaw');
        if (buttons > 1) throw new ProtocolError(`unknown input buttons 0x${buttons.toString(16)}`);
        inputs.push({ seq, moveX, moveZ, jump: buttons === 1, yaw });
      }
      msg = { type, inputs };
      break;
    }
    case MessageType.Ack:
      msg = { type, tick: r.u32('ack tick') };
      break;
    case MessageType.Ping:
      msg = { type, id: r.u32('ping id') };
      break;
    default:
      throw new ProtocolError(`unknown client message type 0x${type.toString(16)}`);
  }
  r.end(`message 0x${type.toString(16)}`);
  return msg;
}

export function encodeServer(msg: ServerMessage, w = new Writer(256)): Uint8Array {
  w.reset().u8(msg.type);
  switch (msg.type) {
    case MessageType.Welcome: {
      const hash = msg.sceneHash.match(/^[0-9a-f]{64}$/) ? msg.sceneHash : '0'.repeat(64);
      w.u16(msg.protocol).str(msg.playerEntity).str(msg.scene);
      for (let i = 0; i < 64; i += 2) w.u8(parseInt(hash.slice(i, i + 2), 16));
      w.u16(msg.tickRate).u16(msg.sendRate).u32(msg.tick);
      break;
    }
    case MessageType.Snapshot:
      w.u32(msg.tick).u32(msg.baseTick).u32(msg.inputSeq);
      w.u16(msg.created.length);
      for (const c of msg.created) {
        w.u16(c.netId).str(c.id);
        const json = new TextEncoder().encode(c.components);
        if (json.byteLength > 0xffff) throw new RangeError(`components of ${c.id} exceed 64 KiB`);
        w.u16(json.byteLength).bytes(json);
        writePosition(w, c.position);
        const r = packRotation(c.rotation);
        w.u8(r.index).i16(r.a).i16(r.b).i16(r.c);
      }
      w.u16(msg.destroyed.length);
      for (const id of msg.destroyed) w.u16(id);
      w.u16(msg.changed.length);
      for (const u of msg.changed) {
        const rot = u.rotation ? packRotation(u.rotation) : null;
        w.u16(u.netId).u8((u.position ? HAS_POSITION : 0) | (rot ? HAS_ROTATION | rot.index : 0));
        if (u.position) writePosition(w, u.position);
        if (rot) w.i16(rot.a).i16(rot.b).i16(rot.c);
      }
      break;
    case MessageType.Pong:
      w.u32(msg.id);
      break;
  }
  return w.finish();
}

export function decodeServer(frame: Uint8Array): ServerMessage {
  const r = new Reader(frame);
  const type = r.u8('message type');
  let msg: ServerMessage;
  switch (type) {
    case MessageType.Welcome: {
      const protocol = r.u16('protocol');
      const playerEntity = r.str('player entity');
      const scene = r.str('scene');
      const hash = [...r.bytesN(32, 'scene hash')].map((b) => b.toString(16).padStart(2, '0')).join('');
      msg = { type, protocol, playerEntity, scene, sceneHash: hash, tickRate: r.u16('tick rate'), sendRate: r.u16('send rate'), tick: r.u32('tick') };
      break;
    }
    case MessageType.Snapshot: {
      const tick = r.u32('tick');
      const baseTick = r.u32('base tick');
      const inputSeq = r.u32('input seq');
      const created: EntityCreate[] = [];
      for (let n = r.u16('created count'), k = 0; k < n; k++) {
        const netId = r.u16('net id');
        const id = r.str('entity id');
        const components = new TextDecoder('utf-8', { fatal: true }).decode(r.bytesN(r.u16('components length'), 'components'));
        const position = readPosition(r);
        const index = r.u8('rotation index');
        if (index > 3) throw new ProtocolError(`rotation index ${index} > 3`);
        created.push({ netId, id, components, position, rotation: unpackRotation(index, r.i16(), r.i16(), r.i16()) });
      }
      const destroyed: number[] = [];
      for (let n = r.u16('destroyed count'), k = 0; k < n; k++) destroyed.push(r.u16('net id'));
      const changed: EntityUpdate[] = [];
      for (let n = r.u16('changed count'), k = 0; k < n; k++) {
        const netId = r.u16('net id');
        const flags = r.u8('flags');
        if (flags & ~0b1111) throw new ProtocolError(`unknown update flags 0x${flags.toString(16)}`);
        const u: EntityUpdate = { netId };
        if (flags & HAS_POSITION) u.position = readPosition(r);
        if (flags & HAS_ROTATION) u.rotation = unpackRotation(flags & 0b11, r.i16(), r.i16(), r.i16());
        changed.push(u);
      }
      msg = { type, tick, baseTick, inputSeq, created, destroyed, changed };
      break;
    }
    case MessageType.Pong:
      msg = { type, id: r.u32('pong id') };
      break;
    default:
      throw new ProtocolError(`unknown server message type 0x${type.toString(16)}`);
  }
  r.end(`message 0x${type.toString(16)}`);
  return msg;
}
