/**
 * keel wire protocol, version 5: binary WebSocket frames, one message per frame, the first byte
 * its type, integers little-endian. Defined once here and shared by the server, the browser
 * client and the Node bot client. Every decoder validates lengths, ranges and finiteness and
 * throws ProtocolError.
 *
 * Client to server:
 *   Hello    0x01  u16 protocol, str token, str name              (str: u8 byte length + UTF-8)
 *   Input    0x02  u32 ack, u8 n (1..16), n × (u32 seq, f32 moveX, f32 moveZ, u8 buttons, f32 yaw)
 *   Ack      0x03  u32 ack
 *   Ping     0x04  u32 id
 * `ack` is the tick of the newest snapshot the client has applied and keeps as a baseline (0:
 * none yet). It rides on every Input, so a client sending input needs no Ack messages; Ack is
 * for a client with nothing to send. Stale or reordered acks are harmless: the server keeps the
 * newest tick it actually sent.
 *
 * Server to client:
 *   Welcome  0x81  u16 protocol, str player entity, str scene, 32 bytes scene sha256,
 *                  u16 tick rate, u16 send rate, u32 tick
 *   Snapshot 0x82  u32 tick, u32 baseTick, u32 inputSeq, 3 × f32 player velocity,
 *                  u16 n, n × created:   u16 netId, str id, name, u16 length + components JSON, pose
 *                  u16 n, n × destroyed: u16 netId
 *                  u16 n, n × changed:   varuint netId gap, u8 codes, fields (see below)
 *   Pong     0x83  u32 id
 *   SceneChange 0x84  u8 kind (0 delta, 1 full), str scene, 32 bytes scene sha256
 *
 * A created entry carries the entity's name (new in version 4: a player's name as it joined,
 * shown over its avatar) as a varuint byte length and UTF-8, at most MAX_ENTITY_NAME_BYTES; an
 * empty name stands for the id, so an entity named by its id costs one byte. Names travel only
 * with created entries (an entity's first appearance, or a change of its name or components),
 * never with per-tick updates.
 *
 * A snapshot's inputSeq (the newest input of this client the server applied) and player velocity
 * (new in version 5: the linear velocity of this client's player in m/s at the snapshot's tick,
 * zeros when it has none) are the client's own; the rest is shared by every client with the same
 * baseline. A predicting client replays its later inputs from the position and velocity the
 * server had: the velocity carries what the position cannot (a jump's rise, a push).
 *
 * SceneChange announces that the server's scene file changed (new in version 3). A delta was
 * applied to the running world: its entities change through snapshots as usual, and the hash
 * tells a client whether it already has every asset the new version names (fetch the scene by
 * that hash when not). A full swap replaced the world: a new Welcome follows at once (new net
 * ids, the player seated again), and the client reloads its copy of the scene before using it.
 *
 * Quantisation (exact: the server replicates these integers, never the floats behind them):
 * - positions: signed 24-bit fixed point at 1/512 m (about 2 mm), range ±16 384 m per axis;
 * - rotations: "smallest three" unit quaternion: the index (0..3) of the largest component,
 *   dropped (its sign made positive), and the other three in order as integers within ±32767 in
 *   units of 1/(32767·√2) (about 2e-5; under 0.01°).
 * A pose is i24 x, i24 y, i24 z, u8 rotation index, i16 × 3 rotation (16 bytes).
 *
 * Snapshots are deltas against a baseline: the snapshot of tick `baseTick` that the client
 * acknowledged (Quake 3 style), or nothing when `baseTick` is 0 (a full snapshot). The client
 * keeps the states of the snapshots it applied until a snapshot with a newer baseTick shows the
 * server will not use them again, and decodes each delta against the exact baseline it names, so
 * lost snapshots and late acks cost bytes, never correctness. An entity new to the baseline, or
 * whose components changed since, is sent whole under "created"; one in the baseline and gone
 * now is "destroyed"; one whose quantised pose differs from the baseline's is "changed", with
 * only the fields that differ. Changed entries are in ascending netId order, each netId sent as
 * the gap from the previous one (from 0 for the first) in LEB128, so 1 byte for gaps below 128.
 * The `codes` byte says how each field is sent, two bits each:
 *   bits 0-1, 2-3, 4-5: position x, y, z
 *     0 as in the baseline (nothing sent), 1 i8 delta, 2 i16 delta, 3 i24 absolute;
 *   bits 6-7: rotation
 *     0 as in the baseline (nothing sent), 1 three i8 deltas (same index as the baseline),
 *     2 three i16 absolute (same index), 3 u8 index and three i16 absolute.
 * Deltas are the current integer minus the baseline's, each field sent in the smallest form that
 * holds it exactly: a body moving 3 m/s between 20 Hz snapshots moves 15 cm, 77 units, an i8.
 */
import { ProtocolError, Reader, Writer } from './codec.js';
import type { Quat, Vec3 } from '../math/vec.js';

export const PROTOCOL_VERSION = 5;

/** Message type ids: client to server below 0x80, server to client from 0x80. */
export const MessageType = {
  Hello: 0x01,
  Input: 0x02,
  Ack: 0x03,
  Ping: 0x04,
  Welcome: 0x81,
  Snapshot: 0x82,
  Pong: 0x83,
  SceneChange: 0x84,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** WebSocket close codes the server uses, with a human-readable reason beside each. */
export const CloseCode = {
  ShuttingDown: 1001,
  /** The server failed while serving this connection; others are unaffected. */
  InternalError: 1011,
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
/** Largest position magnitude on the wire, in 1/POSITION_SCALE m units (signed 24-bit). */
export const POSITION_MAX = 0x7fffff;
/** Largest magnitude of a smallest-three rotation component on the wire. */
export const ROTATION_MAX = 32767;
const ROTATION_SCALE = ROTATION_MAX * Math.SQRT2;
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
  /** Tick of the newest snapshot applied, as in Ack; 0 for none. */
  ack: number;
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

/** An entity's pose as it travels: the quantised integers (see the top of this file). */
export interface WirePose {
  /** Position in 1/POSITION_SCALE m, each within ±POSITION_MAX. */
  x: number;
  y: number;
  z: number;
  /** Rotation, smallest three: index of the dropped largest component (0..3) and the other three in order, each within ±ROTATION_MAX. */
  ri: number;
  ra: number;
  rb: number;
  rc: number;
}

export interface EntityCreate {
  netId: number;
  id: string;
  /** The entity's name (its id when it has none of its own). */
  name: string;
  /** The entity's components as JSON text: what a client needs to build it. */
  components: string;
  pose: WirePose;
}

/**
 * One changed entity as sent: which fields differ from the client's baseline and how (`codes`,
 * as on the wire), and the values sent. `diffPose` makes one, `applyUpdate` resolves one.
 */
export interface EntityUpdate {
  netId: number;
  /** Two bits per field: x, y, z, rotation from the lowest bits (see AxisCode, RotationCode). */
  codes: number;
  /** Per axis: the delta from the baseline (codes 1, 2), the absolute value (3), or 0 (0). */
  x: number;
  y: number;
  z: number;
  /** Rotation index with rotation code 3, else 0 (the baseline's holds). */
  ri: number;
  /** Rotation components: deltas (code 1), absolute values (2, 3), or 0 (0). */
  ra: number;
  rb: number;
  rc: number;
}

/** How a position axis of a changed entity is sent. */
export const AxisCode = { Same: 0, Delta8: 1, Delta16: 2, Absolute: 3 } as const;
/** How the rotation of a changed entity is sent. */
export const RotationCode = { Same: 0, Delta8: 1, Absolute: 2, AbsoluteWithIndex: 3 } as const;

export interface Snapshot {
  type: typeof MessageType.Snapshot;
  tick: number;
  /** Tick of the acknowledged snapshot this one is relative to; 0 for a full snapshot. */
  baseTick: number;
  /** Sequence number of the last input of this client applied. */
  inputSeq: number;
  /** Linear velocity of this client's player at `tick`, m/s (zeros when it has none). */
  playerVelocity: Vec3;
  created: EntityCreate[];
  destroyed: number[];
  /** In ascending netId order. */
  changed: EntityUpdate[];
}

export interface Pong {
  type: typeof MessageType.Pong;
  id: number;
}

export type ClientMessage = Hello | Input | Ack | Ping;
/** The server's scene changed: applied as a delta to the running world, or swapped whole (a Welcome follows). */
export interface SceneChange {
  type: typeof MessageType.SceneChange;
  kind: 'delta' | 'full';
  scene: string;
  /** sha256 of the new scene file, hex. */
  sceneHash: string;
}

export type ServerMessage = Welcome | Snapshot | Pong | SceneChange;

/** A pose to write into: the origin, unrotated. */
export function newPose(): WirePose {
  return { x: 0, y: 0, z: 0, ri: 3, ra: 0, rb: 0, rc: 0 };
}

/** An update to write into (diffPose's scratch). */
export function newUpdate(): EntityUpdate {
  return { netId: 0, codes: 0, x: 0, y: 0, z: 0, ri: 0, ra: 0, rb: 0, rc: 0 };
}

function quantizeAxis(v: number): number {
  return Math.round(Math.max(-POSITION_MAX, Math.min(POSITION_MAX, v * POSITION_SCALE))) || 0; // NaN and -0 to 0
}

function quantizeComponent(v: number): number {
  return Math.round(Math.max(-ROTATION_MAX, Math.min(ROTATION_MAX, v * ROTATION_SCALE))) || 0;
}

/** Quantises a pose into `out` (no allocation): what the wire carries for it. */
export function quantizePose(position: Vec3, rotation: Quat, out: WirePose = newPose()): WirePose {
  out.x = quantizeAxis(position[0]);
  out.y = quantizeAxis(position[1]);
  out.z = quantizeAxis(position[2]);
  let index = 0;
  let largest = Math.abs(rotation[0]);
  for (let i = 1; i < 4; i++) {
    const m = Math.abs(rotation[i]!);
    if (m > largest) {
      largest = m;
      index = i;
    }
  }
  const sign = rotation[index]! < 0 ? -1 : 1;
  out.ri = index;
  out.ra = quantizeComponent(rotation[index === 0 ? 1 : 0]! * sign);
  out.rb = quantizeComponent(rotation[index <= 1 ? 2 : 1]! * sign);
  out.rc = quantizeComponent(rotation[index <= 2 ? 3 : 2]! * sign);
  return out;
}

/** The position a pose stands for, in metres. */
export function posePosition(p: WirePose): Vec3 {
  return [p.x / POSITION_SCALE, p.y / POSITION_SCALE, p.z / POSITION_SCALE];
}

/** The unit quaternion a pose stands for. */
export function poseRotation(p: WirePose): Quat {
  const a = p.ra / ROTATION_SCALE;
  const b = p.rb / ROTATION_SCALE;
  const c = p.rc / ROTATION_SCALE;
  const d = Math.sqrt(Math.max(0, 1 - a * a - b * b - c * c));
  switch (p.ri) {
    case 0:
      return [d, a, b, c];
    case 1:
      return [a, d, b, c];
    case 2:
      return [a, b, d, c];
    default:
      return [a, b, c, d];
  }
}

export function posesEqual(a: WirePose, b: WirePose): boolean {
  return a.x === b.x && a.y === b.y && a.z === b.z && a.ri === b.ri && a.ra === b.ra && a.rb === b.rb && a.rc === b.rc;
}

function axisCode(d: number): number {
  if (d === 0) return AxisCode.Same;
  if (d >= -0x80 && d <= 0x7f) return AxisCode.Delta8;
  if (d >= -0x8000 && d <= 0x7fff) return AxisCode.Delta16;
  return AxisCode.Absolute;
}

/**
 * The update that takes a client from `base` to `cur`, into `out` (no allocation; `netId` is
 * left to the caller). Returns false when the poses are equal: nothing to send.
 */
export function diffPose(base: WirePose, cur: WirePose, out: EntityUpdate): boolean {
  const dx = cur.x - base.x;
  const dy = cur.y - base.y;
  const dz = cur.z - base.z;
  const cx = axisCode(dx);
  const cy = axisCode(dy);
  const cz = axisCode(dz);
  out.x = cx === AxisCode.Absolute ? cur.x : dx;
  out.y = cy === AxisCode.Absolute ? cur.y : dy;
  out.z = cz === AxisCode.Absolute ? cur.z : dz;
  let cr: number;
  out.ri = 0;
  if (cur.ri !== base.ri) {
    cr = RotationCode.AbsoluteWithIndex;
    out.ri = cur.ri;
  } else {
    const da = cur.ra - base.ra;
    const db = cur.rb - base.rb;
    const dc = cur.rc - base.rc;
    if (da === 0 && db === 0 && dc === 0) cr = RotationCode.Same;
    else if (da >= -0x80 && da <= 0x7f && db >= -0x80 && db <= 0x7f && dc >= -0x80 && dc <= 0x7f) cr = RotationCode.Delta8;
    else cr = RotationCode.Absolute;
  }
  if (cr === RotationCode.Delta8) {
    out.ra = cur.ra - base.ra;
    out.rb = cur.rb - base.rb;
    out.rc = cur.rc - base.rc;
  } else if (cr === RotationCode.Same) {
    out.ra = out.rb = out.rc = 0;
  } else {
    out.ra = cur.ra;
    out.rb = cur.rb;
    out.rc = cur.rc;
  }
  out.codes = cx | (cy << 2) | (cz << 4) | (cr << 6);
  return out.codes !== 0;
}

function applyAxis(code: number, base: number, v: number, what: string): number {
  const r = code === AxisCode.Same ? base : code === AxisCode.Absolute ? v : base + v;
  if (r < -POSITION_MAX || r > POSITION_MAX) throw new ProtocolError(`${what} ${r} out of range`);
  return r;
}

function applyComponent(code: number, base: number, v: number): number {
  const r = code === RotationCode.Same ? base : code === RotationCode.Delta8 ? base + v : v;
  if (r < -ROTATION_MAX || r > ROTATION_MAX) throw new ProtocolError(`rotation component ${r} out of range`);
  return r;
}

/**
 * The pose a client holds after `u`, given the pose of its baseline: exactly the server's.
 * Writes into `out` (which may be `base`); throws ProtocolError when the result is out of range.
 */
export function applyUpdate(base: WirePose, u: EntityUpdate, out: WirePose = newPose()): WirePose {
  const cr = u.codes >> 6;
  const ri = cr === RotationCode.AbsoluteWithIndex ? u.ri : base.ri;
  out.x = applyAxis(u.codes & 3, base.x, u.x, 'position x');
  out.y = applyAxis((u.codes >> 2) & 3, base.y, u.y, 'position y');
  out.z = applyAxis((u.codes >> 4) & 3, base.z, u.z, 'position z');
  out.ra = applyComponent(cr, base.ra, u.ra);
  out.rb = applyComponent(cr, base.rb, u.rb);
  out.rc = applyComponent(cr, base.rc, u.rc);
  out.ri = ri;
  return out;
}

function writeAxis(w: Writer, code: number, v: number): void {
  if (code === AxisCode.Delta8) w.i8(v);
  else if (code === AxisCode.Delta16) w.i16(v);
  else if (code === AxisCode.Absolute) w.i24(v);
}

function readAxis(r: Reader, code: number, what: string): number {
  if (code === AxisCode.Delta8) return r.i8(what);
  if (code === AxisCode.Delta16) return r.i16(what);
  if (code === AxisCode.Absolute) return r.i24(what);
  return 0;
}

/** Writes one changed entry: the netId as the gap from the previous entry's, then the fields. */
export function writeUpdate(w: Writer, netIdGap: number, u: EntityUpdate): void {
  w.varuint(netIdGap).u8(u.codes);
  writeAxis(w, u.codes & 3, u.x);
  writeAxis(w, (u.codes >> 2) & 3, u.y);
  writeAxis(w, (u.codes >> 4) & 3, u.z);
  const cr = u.codes >> 6;
  if (cr === RotationCode.Delta8) w.i8(u.ra).i8(u.rb).i8(u.rc);
  else if (cr !== RotationCode.Same) {
    if (cr === RotationCode.AbsoluteWithIndex) w.u8(u.ri);
    w.i16(u.ra).i16(u.rb).i16(u.rc);
  }
}

function readUpdate(r: Reader, prevNetId: number): EntityUpdate {
  const gap = r.varuint('net id gap');
  const netId = prevNetId + gap;
  if (gap === 0 || netId > 0xffff) throw new ProtocolError(`changed net ids must ascend within 1..65535 (gap ${gap} after ${prevNetId})`);
  const codes = r.u8('field codes');
  const u: EntityUpdate = {
    netId,
    codes,
    x: readAxis(r, codes & 3, 'position x'),
    y: readAxis(r, (codes >> 2) & 3, 'position y'),
    z: readAxis(r, (codes >> 4) & 3, 'position z'),
    ri: 0,
    ra: 0,
    rb: 0,
    rc: 0,
  };
  const cr = codes >> 6;
  if (cr === RotationCode.Delta8) {
    u.ra = r.i8('rotation');
    u.rb = r.i8('rotation');
    u.rc = r.i8('rotation');
  } else if (cr !== RotationCode.Same) {
    if (cr === RotationCode.AbsoluteWithIndex) u.ri = readRotationIndex(r);
    u.ra = readComponent(r);
    u.rb = readComponent(r);
    u.rc = readComponent(r);
  }
  return u;
}

function readRotationIndex(r: Reader): number {
  const index = r.u8('rotation index');
  if (index > 3) throw new ProtocolError(`rotation index ${index} > 3`);
  return index;
}

function readComponent(r: Reader): number {
  const v = r.i16('rotation');
  if (v < -ROTATION_MAX) throw new ProtocolError(`rotation component ${v} out of range`);
  return v;
}

/** A pose in full: 16 bytes. */
export function writePose(w: Writer, p: WirePose): void {
  w.i24(p.x).i24(p.y).i24(p.z).u8(p.ri).i16(p.ra).i16(p.rb).i16(p.rc);
}

function readPose(r: Reader): WirePose {
  return { x: r.i24('position x'), y: r.i24('position y'), z: r.i24('position z'), ri: readRotationIndex(r), ra: readComponent(r), rb: readComponent(r), rc: readComponent(r) };
}

const utf8 = new TextEncoder();

/** Longest entity name on the wire, in UTF-8 bytes (a scene name of 128 characters fits). */
export const MAX_ENTITY_NAME_BYTES = 512;

/** The part of a created entry that changes only with the entity's name and components: id, name and components JSON, encoded once and reused. */
export function entityDescriptor(id: string, name: string, components: string): Uint8Array {
  const json = utf8.encode(components);
  if (json.byteLength > 0xffff) throw new RangeError(`components of ${id} exceed 64 KiB`);
  const label = utf8.encode(name === id ? '' : name);
  if (label.byteLength > MAX_ENTITY_NAME_BYTES) throw new RangeError(`name of ${id} exceeds ${MAX_ENTITY_NAME_BYTES} bytes`);
  return new Writer(json.byteLength + label.byteLength + 64).str(id).varuint(label.byteLength).bytes(label).u16(json.byteLength).bytes(json).finish();
}

/** A created entry as the server keeps it: its descriptor already encoded. */
export interface EncodedCreate {
  readonly netId: number;
  readonly descriptor: Uint8Array;
  readonly pose: WirePose;
}

/** Byte offset of inputSeq in a snapshot frame; the player velocity follows it (the per-client fields of a snapshot). */
const SNAPSHOT_INPUT_SEQ_AT = 9;
const SNAPSHOT_PLAYER_VELOCITY_AT = SNAPSHOT_INPUT_SEQ_AT + 4;

/**
 * Writes a whole snapshot from its parts: the changed entries come already written (by
 * `writeUpdate`, in ascending netId order), so a server writes them once for every client that
 * shares the baseline and sets each client's own fields with `setSnapshotInputSeq` and
 * `setSnapshotPlayerVelocity`.
 */
export function writeSnapshot(
  w: Writer,
  head: { tick: number; baseTick: number; inputSeq: number; playerVelocity?: Readonly<Vec3> },
  created: readonly EncodedCreate[],
  destroyed: readonly number[],
  changedCount: number,
  changed: Uint8Array,
): void {
  if (created.length > 0xffff || destroyed.length > 0xffff || changedCount > 0xffff) throw new RangeError('more than 65535 entries in a snapshot list');
  const v = head.playerVelocity ?? [0, 0, 0];
  w.u8(MessageType.Snapshot).u32(head.tick).u32(head.baseTick).u32(head.inputSeq).f32(v[0]).f32(v[1]).f32(v[2]);
  w.u16(created.length);
  for (const c of created) {
    w.u16(c.netId).bytes(c.descriptor);
    writePose(w, c.pose);
  }
  w.u16(destroyed.length);
  for (const id of destroyed) w.u16(id);
  w.u16(changedCount).bytes(changed);
}

/** Sets the inputSeq of an encoded snapshot in place. */
export function setSnapshotInputSeq(frame: Uint8Array, inputSeq: number): void {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(SNAPSHOT_INPUT_SEQ_AT, inputSeq >>> 0, true);
}

/** Sets the player velocity of an encoded snapshot in place (a non-finite component is sent as 0). */
export function setSnapshotPlayerVelocity(frame: Uint8Array, velocity: Readonly<Vec3>): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  for (let i = 0; i < 3; i++) view.setFloat32(SNAPSHOT_PLAYER_VELOCITY_AT + 4 * i, Number.isFinite(velocity[i]) ? velocity[i]! : 0, true);
}

export function encodeClient(msg: ClientMessage, w = new Writer(64)): Uint8Array {
  w.reset().u8(msg.type);
  switch (msg.type) {
    case MessageType.Hello:
      w.u16(msg.protocol).str(msg.token).str(msg.name);
      break;
    case MessageType.Input:
      if (msg.inputs.length < 1 || msg.inputs.length > MAX_INPUTS_PER_MESSAGE) throw new RangeError(`1 to ${MAX_INPUTS_PER_MESSAGE} inputs per message`);
      w.u32(msg.ack).u8(msg.inputs.length);
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
      const ack = r.u32('ack tick');
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
      msg = { type, ack, inputs };
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

/** Encodes a server message. The server's snapshot path writes parts it keeps encoded instead (writeSnapshot); the format is the same. */
export function encodeServer(msg: ServerMessage, w = new Writer(256)): Uint8Array {
  w.reset();
  switch (msg.type) {
    case MessageType.Welcome: {
      w.u8(msg.type).u16(msg.protocol).str(msg.playerEntity).str(msg.scene);
      writeHash(w, msg.sceneHash);
      w.u16(msg.tickRate).u16(msg.sendRate).u32(msg.tick);
      break;
    }
    case MessageType.Snapshot: {
      const changed = new Writer();
      let prev = 0;
      for (const u of msg.changed) {
        if (u.netId <= prev || u.netId > 0xffff) throw new RangeError(`changed net ids must ascend within 1..65535 (${u.netId} after ${prev})`);
        writeUpdate(changed, u.netId - prev, u);
        prev = u.netId;
      }
      const created = msg.created.map((c) => ({ netId: c.netId, descriptor: entityDescriptor(c.id, c.name, c.components), pose: c.pose }));
      writeSnapshot(w, msg, created, msg.destroyed, msg.changed.length, changed.written());
      break;
    }
    case MessageType.Pong:
      w.u8(msg.type).u32(msg.id);
      break;
    case MessageType.SceneChange:
      w.u8(msg.type).u8(msg.kind === 'full' ? 1 : 0).str(msg.scene);
      writeHash(w, msg.sceneHash);
      break;
  }
  return w.finish();
}

/** A sha256 in hex as its 32 bytes (zeros for anything that is not one). */
function writeHash(w: Writer, hex: string): void {
  const hash = /^[0-9a-f]{64}$/.test(hex) ? hex : '0'.repeat(64);
  for (let i = 0; i < 64; i += 2) w.u8(parseInt(hash.slice(i, i + 2), 16));
}

function readHash(r: Reader): string {
  return [...r.bytesN(32, 'scene hash')].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes one server frame. Snapshot updates stay relative to their baseline: `applyUpdate` resolves them (ClientMirror does). */
export function decodeServer(frame: Uint8Array): ServerMessage {
  const r = new Reader(frame);
  const type = r.u8('message type');
  let msg: ServerMessage;
  switch (type) {
    case MessageType.Welcome: {
      const protocol = r.u16('protocol');
      const playerEntity = r.str('player entity');
      const scene = r.str('scene');
      const hash = readHash(r);
      msg = { type, protocol, playerEntity, scene, sceneHash: hash, tickRate: r.u16('tick rate'), sendRate: r.u16('send rate'), tick: r.u32('tick') };
      break;
    }
    case MessageType.Snapshot: {
      const tick = r.u32('tick');
      const baseTick = r.u32('base tick');
      const inputSeq = r.u32('input seq');
      if (baseTick >= tick && baseTick !== 0) throw new ProtocolError(`base tick ${baseTick} not before tick ${tick}`);
      const playerVelocity: Vec3 = [r.f32('player velocity x'), r.f32('player velocity y'), r.f32('player velocity z')];
      const created: EntityCreate[] = [];
      for (let n = r.u16('created count'), k = 0; k < n; k++) {
        const netId = r.u16('net id');
        const id = r.str('entity id');
        const nameLength = r.varuint('name length');
        if (nameLength > MAX_ENTITY_NAME_BYTES) throw new ProtocolError(`name of ${id} is ${nameLength} bytes, over ${MAX_ENTITY_NAME_BYTES}`);
        let name: string;
        let components: string;
        try {
          name = utf8Strict.decode(r.bytesN(nameLength, 'name')) || id;
          components = utf8Strict.decode(r.bytesN(r.u16('components length'), 'components'));
        } catch (err) {
          if (err instanceof ProtocolError) throw err;
          throw new ProtocolError(`name or components of ${id} are not valid UTF-8`);
        }
        created.push({ netId, id, name, components, pose: readPose(r) });
      }
      const destroyed: number[] = [];
      for (let n = r.u16('destroyed count'), k = 0; k < n; k++) destroyed.push(r.u16('net id'));
      const changed: EntityUpdate[] = [];
      for (let n = r.u16('changed count'), k = 0, prev = 0; k < n; k++) {
        const u = readUpdate(r, prev);
        prev = u.netId;
        changed.push(u);
      }
      msg = { type, tick, baseTick, inputSeq, playerVelocity, created, destroyed, changed };
      break;
    }
    case MessageType.Pong:
      msg = { type, id: r.u32('pong id') };
      break;
    case MessageType.SceneChange: {
      const kind = r.u8('scene change kind');
      if (kind > 1) throw new ProtocolError(`scene change kind ${kind} is neither 0 (delta) nor 1 (full)`);
      msg = { type, kind: kind === 1 ? 'full' : 'delta', scene: r.str('scene'), sceneHash: readHash(r) };
      break;
    }
    default:
      throw new ProtocolError(`unknown server message type 0x${type.toString(16)}`);
  }
  r.end(`message 0x${type.toString(16)}`);
  return msg;
}
