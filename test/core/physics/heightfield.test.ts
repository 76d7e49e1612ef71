import { describe, expect, it } from 'vitest';
import type { Quat, Vec3 } from '../../../runtime/core/math/vec.js';
import { createCannonPhysics } from '../../../runtime/core/physics/cannon-physics.js';
import {
  decodeHeightfield,
  encodeHeightfield,
  HEIGHTFIELD_HEADER_BYTES,
  HEIGHTFIELD_MAGIC,
  type HeightfieldData,
} from '../../../runtime/core/physics/heightfield.js';
import type { ColliderComponent } from '../../../runtime/core/scene/schema.js';
import { defaultComponent } from '../../../runtime/core/scene/validate.js';

const grid = (...h: number[]) => new Float32Array(h);

/** Copies an encoded file into a fresh buffer (optionally a SharedArrayBuffer) at `offset`. */
function place(bytes: Uint8Array, offset = 0, shared = false): ArrayBufferLike {
  const buf = shared ? new SharedArrayBuffer(offset + bytes.byteLength) : new ArrayBuffer(offset + bytes.byteLength);
  new Uint8Array(buf, offset).set(bytes);
  return buf;
}

describe('encodeHeightfield / decodeHeightfield', () => {
  it('writes the documented header and round-trips the heights', () => {
    const heights = grid(0, 1, 2, 3, 4, 5);
    const bytes = encodeHeightfield(2, 3, heights);
    expect(bytes.byteLength).toBe(HEIGHTFIELD_HEADER_BYTES + 6 * 4);
    const view = new DataView(bytes.buffer);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('KHF1');
    expect(view.getUint32(0, true)).toBe(HEIGHTFIELD_MAGIC);
    expect([view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)]).toEqual([2, 3, 0]);
    expect(view.getFloat32(16 + 5 * 4, true)).toBe(5);
    const hf = decodeHeightfield(bytes.buffer);
    expect(hf.rows).toBe(2);
    expect(hf.cols).toBe(3);
    expect([...hf.heights]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses heights that do not match rows * cols', () => {
    expect(() => encodeHeightfield(3, 3, grid(1, 2, 3))).toThrow(/expected 9 heights, got 3/);
  });

  it('decodes at a 4-byte aligned offset and refuses an unaligned one', () => {
    const bytes = encodeHeightfield(2, 2, grid(1, 2, 3, 4));
    expect([...decodeHeightfield(place(bytes, 8), 8).heights]).toEqual([1, 2, 3, 4]);
    expect(() => decodeHeightfield(place(bytes, 2), 2)).toThrow(/aligned/);
  });

  it('rejects bad magic', () => {
    const bytes = encodeHeightfield(2, 2, grid(0, 0, 0, 0));
    bytes[0] = 0x58; // 'X'
    expect(() => decodeHeightfield(bytes.buffer)).toThrow(/magic/);
  });

  it('rejects a file shorter than its header', () => {
    expect(() => decodeHeightfield(new ArrayBuffer(8))).toThrow(/shorter than its header/);
  });

  it('rejects a size that does not match the header, either way', () => {
    const bytes = encodeHeightfield(2, 2, grid(0, 0, 0, 0));
    expect(() => decodeHeightfield(bytes.buffer.slice(0, bytes.byteLength - 4))).toThrow(/must be 32 bytes \(got 28\)/);
    const longer = new Uint8Array(bytes.byteLength + 4);
    longer.set(bytes);
    expect(() => decodeHeightfield(longer.buffer)).toThrow(/must be 32 bytes \(got 36\)/);
  });

  it('rejects fewer than 2x2 samples', () => {
    const bytes = encodeHeightfield(1, 4, grid(0, 0, 0, 0));
    expect(() => decodeHeightfield(bytes.buffer)).toThrow(/at least 2x2/);
  });

  it('returns a view over a SharedArrayBuffer, not a copy', () => {
    const sab = place(encodeHeightfield(2, 2, grid(1, 2, 3, 4)), 0, true);
    const hf = decodeHeightfield(sab);
    expect(hf.heights.buffer).toBe(sab);
    new Float32Array(sab, HEIGHTFIELD_HEADER_BYTES)[3] = 42;
    expect(hf.heights[3]).toBe(42);
    hf.heights[0] = -1;
    expect(new DataView(sab).getFloat32(HEIGHTFIELD_HEADER_BYTES, true)).toBe(-1);
  });
});

describe('heightfield collider', () => {
  const terrain = (asset = 't.khf'): ColliderComponent => ({
    shape: 'heightfield', asset, elementSize: 1, offset: [0, 0, 0], friction: 0.4, restitution: 0, trigger: false,
  });
  const ball: ColliderComponent = { shape: 'sphere', radius: 0.25, offset: [0, 0, 0], friction: 0.4, restitution: 0, trigger: false };

  /** A static terrain entity at `origin` and a 0.25 m ball dropped at (x, dropY, z); returns the ball's position after `steps`. */
  function drop(hf: HeightfieldData, x: number, z: number, opts: { origin?: Vec3; dropY?: number; steps?: number } = {}): Vec3 {
    const origin = opts.origin ?? [0, 0, 0];
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    p.addBody('terrain', { rigidBody: defaultComponent('rigidBody'), collider: terrain(), heightfield: hf, position: origin, rotation: [0, 0, 0, 1] });
    const dynamic = { ...defaultComponent('rigidBody'), type: 'dynamic' as const };
    p.addBody('ball', { rigidBody: dynamic, collider: ball, position: [x, opts.dropY ?? origin[1] + 4, z], rotation: [0, 0, 0, 1] });
    let pos: Vec3 = [NaN, NaN, NaN];
    for (let i = 0; i < (opts.steps ?? 180); i++) {
      p.step(1 / 60);
      p.forEachMoved((_id, at) => (pos = at));
    }
    return pos;
  }
  const flat = (h: number) => decodeHeightfield(encodeHeightfield(3, 3, grid(h, h, h, h, h, h, h, h, h)).buffer);

  it('stops a falling sphere on a flat 3x3 terrain at height + radius', () => {
    const [x, y, z] = drop(flat(1), 0.3, -0.4);
    expect(y).toBeCloseTo(1.25, 1);
    expect(x).toBeCloseTo(0.3, 2);
    expect(z).toBeCloseTo(-0.4, 2);
  });

  it('follows the entity position', () => {
    expect(drop(flat(1), 0, 0, { origin: [0, 2, 0] })[1]).toBeCloseTo(3.25, 1);
  });

  it('is centred on the entity: 2 m wide for 3 samples of 1 m', () => {
    // Well inside the edges: cannon-es lets a sphere slip through within ~0.1 m of a heightfield's border.
    for (const [x, z] of [[0.6, 0.6], [-0.6, -0.6], [0.6, -0.6], [-0.6, 0.6]] as const) {
      expect(drop(flat(1), x, z)[1], `(${x}, ${z})`).toBeCloseTo(1.25, 1);
    }
    for (const [x, z] of [[1.5, 0], [-1.5, 0], [0, 1.5], [0, -1.5]] as const) {
      expect(drop(flat(1), x, z)[1], `(${x}, ${z})`).toBeLessThan(-1);
    }
  });

  it('places sample (i, j) at x = i - (rows-1)/2, z = (cols-1)/2 - j', () => {
    // Heights rise with i: the ball rolls toward -X.
    const alongI = decodeHeightfield(encodeHeightfield(3, 3, grid(0, 0, 0, 1, 1, 1, 2, 2, 2)).buffer);
    const a = drop(alongI, 0, 0, { dropY: 1.6, steps: 30 });
    expect(a[0]).toBeLessThan(-0.05);
    expect(Math.abs(a[2])).toBeLessThan(0.01);
    // Heights rise with j: the ball rolls toward +Z.
    const alongJ = decodeHeightfield(encodeHeightfield(3, 3, grid(0, 1, 2, 0, 1, 2, 0, 1, 2)).buffer);
    const b = drop(alongJ, 0, 0, { dropY: 1.6, steps: 30 });
    expect(b[2]).toBeGreaterThan(0.05);
    expect(Math.abs(b[0])).toBeLessThan(0.01);
  });

  it('refuses to build a heightfield collider without its data', () => {
    const p = createCannonPhysics({ gravity: [0, -9.81, 0] });
    const desc = { rigidBody: defaultComponent('rigidBody'), collider: terrain('missing.khf'), position: [0, 0, 0] as Vec3, rotation: [0, 0, 0, 1] as Quat };
    expect(() => p.addBody('t', desc)).toThrow(/missing\.khf/);
    expect(p.hasBody('t')).toBe(false);
  });
});
