/**
 * The `.khf` heightfield asset: a 16-byte header then row-major little-endian float32 heights.
 *
 *   offset 0  'KHF1' magic
 *   offset 4  uint32 rows  (samples along X)
 *   offset 8  uint32 cols  (samples along Z)
 *   offset 12 uint32 reserved, 0
 *   offset 16 rows * cols float32
 *
 * The header keeps the float data 4-byte aligned, so `decodeHeightfield` returns a view over the
 * caller's buffer without copying: several instances in one process can share one
 * SharedArrayBuffer.
 */
export const HEIGHTFIELD_MAGIC = 0x3146484b; // 'KHF1' read as little-endian uint32
export const HEIGHTFIELD_HEADER_BYTES = 16;

export interface HeightfieldData {
  rows: number;
  cols: number;
  /** rows * cols heights, row-major: heights[i * cols + j] is sample (i, j). */
  heights: Float32Array;
}

export function decodeHeightfield(buffer: ArrayBufferLike, byteOffset = 0, byteLength = buffer.byteLength - byteOffset): HeightfieldData {
  if (byteLength < HEIGHTFIELD_HEADER_BYTES) throw new Error(`heightfield is ${byteLength} bytes, shorter than its header`);
  if (byteOffset % 4 !== 0) throw new Error('heightfield buffer must be 4-byte aligned');
  const view = new DataView(buffer, byteOffset, HEIGHTFIELD_HEADER_BYTES);
  if (view.getUint32(0, true) !== HEIGHTFIELD_MAGIC) throw new Error('not a keel heightfield (missing KHF1 magic)');
  const rows = view.getUint32(4, true);
  const cols = view.getUint32(8, true);
  if (rows < 2 || cols < 2) throw new Error(`heightfield must be at least 2x2 samples (got ${rows}x${cols})`);
  const expected = HEIGHTFIELD_HEADER_BYTES + rows * cols * 4;
  if (byteLength !== expected) throw new Error(`heightfield of ${rows}x${cols} samples must be ${expected} bytes (got ${byteLength})`);
  const heights = new Float32Array(buffer, byteOffset + HEIGHTFIELD_HEADER_BYTES, rows * cols);
  return { rows, cols, heights };
}

/** Builds a `.khf` file in memory (used by the terrain generator and tests). */
export function encodeHeightfield(rows: number, cols: number, heights: Float32Array): Uint8Array {
  if (heights.length !== rows * cols) throw new Error(`expected ${rows * cols} heights, got ${heights.length}`);
  const out = new Uint8Array(HEIGHTFIELD_HEADER_BYTES + heights.length * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, HEIGHTFIELD_MAGIC, true);
  view.setUint32(4, rows, true);
  view.setUint32(8, cols, true);
  new Float32Array(out.buffer, HEIGHTFIELD_HEADER_BYTES).set(heights);
  return out;
}
