/** The binary Writer and Reader: values written across the writer's growth read back intact. */
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../../runtime/core/protocol/codec.js';

describe('Writer', () => {
  it('keeps every value written while it grows, at any offset the growth happens', () => {
    // Start each writer one to eight bytes short of its first growth, then write every kind.
    for (let pad = 1; pad <= 8; pad++) {
      const w = new Writer(16);
      for (let i = 0; i < 16 - pad; i++) w.u8(0xaa);
      w.u16(0xbeef).u32(0xdeadbeef).i8(-5).i16(-1234).varuint(300).i24(-70000).f32(1.5).f64(-2.25).u8(7);
      const r = new Reader(w.finish());
      for (let i = 0; i < 16 - pad; i++) expect(r.u8()).toBe(0xaa);
      expect([r.u16(), r.u32(), r.i8(), r.i16(), r.varuint(), r.i24(), r.f32(), r.f64(), r.u8()]).toEqual([0xbeef, 0xdeadbeef, -5, -1234, 300, -70000, 1.5, -2.25, 7]);
    }
  });
});
