/**
 * Byte-level reading and writing for the wire protocol: little-endian, bounds-checked reads
 * that throw ProtocolError (so a malformed frame is one catchable error, never a crash), and a
 * growable writer that reuses its buffer between messages (it doubles when full and keeps its
 * size after a reset, so a writer reused every tick stops allocating once it has seen the
 * largest message).
 */

/** A frame that cannot be decoded. The server closes only its sender's connection. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Most bytes a wire string holds (its length is one byte). Scene strings sent as such are validated against it. */
export const MAX_WIRE_STRING_BYTES = 255;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  private need(n: number, what: string): number {
    if (this.pos + n > this.bytes.byteLength) throw new ProtocolError(`truncated frame: ${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.view.getUint8(this.need(1, what));
  }
  u16(what = 'u16'): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  u32(what = 'u32'): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  i8(what = 'i8'): number {
    return this.view.getInt8(this.need(1, what));
  }
  i16(what = 'i16'): number {
    return this.view.getInt16(this.need(2, what), true);
  }
  /** Unsigned LEB128 integer of at most 32 bits (1 to 5 bytes; an overlong one is malformed). */
  varuint(what = 'varuint'): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8(what);
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (v > 0xffffffff) break;
        return v;
      }
    }
    throw new ProtocolError(`${what} is not a 32-bit variable-length integer`);
  }
  /** Signed 24-bit integer. */
  i24(what = 'i24'): number {
    const at = this.need(3, what);
    const v = this.view.getUint16(at, true) | (this.view.getUint8(at + 2) << 16);
    return v & 0x800000 ? v - 0x1000000 : v;
  }
  f32(what = 'f32'): number {
    const v = this.view.getFloat32(this.need(4, what), true);
    if (!Number.isFinite(v)) throw new ProtocolError(`${what} is not a finite number`);
    return v;
  }
  f64(what = 'f64'): number {
    const v = this.view.getFloat64(this.need(8, what), true);
    if (!Number.isFinite(v)) throw new ProtocolError(`${what} is not a finite number`);
    return v;
  }
  /** A UTF-8 string with a u8 byte length (at most 255 bytes). */
  str(what = 'string'): string {
    const len = this.u8(`${what} length`);
    const at = this.need(len, what);
    try {
      return utf8Decoder.decode(this.bytes.subarray(at, at + len));
    } catch {
      throw new ProtocolError(`${what} is not valid UTF-8`);
    }
  }
  bytesN(n: number, what = 'bytes'): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.slice(at, at + n);
  }
  /** Throws unless every byte was consumed: trailing garbage is malformed too. */
  end(what: string): void {
    if (this.remaining !== 0) throw new ProtocolError(`${what}: ${this.remaining} unexpected trailing bytes`);
  }
}

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /**
   * Reserves `n` bytes and returns their offset. Growing replaces `buf` and `view`, so a writer
   * takes the offset first: `this.view.setX(this.room(n), v)` would write through the old view.
   */
  private room(n: number): number {
    if (this.pos + n > this.buf.byteLength) {
      let size = this.buf.byteLength * 2;
      while (size < this.pos + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v >>> 0, true);
    return this;
  }
  i8(v: number): this {
    const at = this.room(1);
    this.view.setInt8(at, v);
    return this;
  }
  i16(v: number): this {
    const at = this.room(2);
    this.view.setInt16(at, v, true);
    return this;
  }
  /** Unsigned LEB128: 7 bits a byte, low bits first; 1 byte below 128. */
  varuint(v: number): this {
    if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new RangeError(`varuint ${v} is not a 32-bit unsigned integer`);
    while (v >= 0x80) {
      const at = this.room(1);
      this.view.setUint8(at, (v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }
  i24(v: number): this {
    const at = this.room(3);
    const u = v < 0 ? v + 0x1000000 : v;
    this.view.setUint16(at, u & 0xffff, true);
    this.view.setUint8(at + 2, (u >> 16) & 0xff);
    return this;
  }
  f32(v: number): this {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
    return this;
  }
  f64(v: number): this {
    const at = this.room(8);
    this.view.setFloat64(at, v, true);
    return this;
  }
  str(s: string): this {
    const bytes = utf8Encoder.encode(s);
    if (bytes.byteLength > MAX_WIRE_STRING_BYTES) throw new RangeError(`string of ${bytes.byteLength} bytes exceeds ${MAX_WIRE_STRING_BYTES}`);
    this.u8(bytes.byteLength);
    return this.bytes(bytes);
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.byteLength); // may replace this.buf: take the offset first
    this.buf.set(b, at);
    return this;
  }
  /** What was written, without a copy: valid until the next write or reset. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
  /** A copy of what was written, safe to hand to a socket while this writer is reused. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
