#!/usr/bin/env node
/**
 * Generates the demo terrain heightfield, scenes/assets/terrain-heights.khf.
 *
 *   node scripts/generate-terrain.mjs [--out PATH] [--size N] [--force]
 *
 * The file is the `.khf` format of runtime/core/physics/heightfield.ts: a 16-byte header
 * ('KHF1' as uint32 LE 0x3146484b, uint32 rows, uint32 cols, uint32 0) then rows * cols
 * little-endian float32 heights, row-major (sample (i, j) at float index i * cols + j).
 *
 * The terrain is seeded fractal value noise (gentle hills, roughly 0..40 m) with a flat-ish
 * area around the centre, where scenes put their spawn points. It is defined in world units
 * around the centre of the grid (one sample per metre, i.e. collider elementSize 1), so a
 * smaller --size is a centred crop of the same landscape; `terrainHeightAt(x, z)` gives the
 * height at any world point, as placed by keel's heightfield collider on an entity at the origin:
 * sample (i, j) lies at x = i - (rows - 1) / 2, z = (cols - 1) / 2 - j.
 *
 * Idempotent: when the output already has the expected byte length and header and its sidecar
 * `<out>.version` holds this generator's version string, it prints "up to date" and exits.
 * Writes go to a temporary file that is renamed into place, so an interrupted run never
 * leaves a truncated heightfield behind.
 *
 * Plain Node ESM, no dependencies; only IEEE-exact arithmetic (+ - * / sqrt, integer hashing)
 * feeds the heights, so every platform produces the same bytes.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HEIGHTFIELD_MAGIC = 0x3146484b; // 'KHF1' read as little-endian uint32
export const HEADER_BYTES = 16;
export const DEFAULT_SIZE = 2048;
export const SEED = 7; // chosen so the centre sits at mid height, among hills
/** Bump when the terrain function changes: existing files are then regenerated. */
export const GENERATOR_VERSION = 1;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = resolve(REPO_ROOT, 'scenes/assets/terrain-heights.khf');

/** Terrain shape. Distances in metres (samples), heights in metres. */
const MAX_HEIGHT = 40;
const BASE_CELL = 384; // wavelength of the largest hills
const OCTAVES = 5;
const GAIN = 0.45; // amplitude ratio between successive octaves
const FLAT_INNER = 28; // within this radius of the centre the ground is (almost) flat
const FLAT_OUTER = 96; // beyond this radius the hills are untouched
const FLAT_RESIDUE = 0.03; // fraction of the relief kept on the flat area

/** mulberry32: a small, fast, seeded 32-bit PRNG. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per-octave parameters, drawn once from the seed. */
const octaves = (() => {
  const rand = mulberry32(SEED);
  const out = [];
  let amplitude = 1;
  let total = 0;
  for (let k = 0; k < OCTAVES; k++) {
    out.push({
      cell: BASE_CELL / 2 ** k,
      amplitude,
      salt: (rand() * 4294967296) | 0,
      // A random lattice offset per octave, so lattice corners do not line up across octaves.
      dx: Math.floor(rand() * 4096),
      dz: Math.floor(rand() * 4096),
    });
    total += amplitude;
    amplitude *= GAIN;
  }
  for (const o of out) o.amplitude /= total; // the octave sum lies in [0, 1]
  return out;
})();

/** Value in [0, 1) at integer lattice point (ix, iz): an integer hash, no tables. */
function lattice(ix, iz, salt) {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iz | 0, 0x165667b1) ^ salt;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Quintic fade: C2-continuous, so slopes have no creases at lattice lines. */
const fade = (t) => t * t * t * (t * (t * 6 - 15) + 10);

/** The fractal noise sum in [0, 1] at world (x, z), evaluated directly (slow path, any point). */
function fractal(x, z) {
  let sum = 0;
  for (const o of octaves) {
    const gx = x / o.cell + o.dx;
    const gz = z / o.cell + o.dz;
    const ix = Math.floor(gx);
    const iz = Math.floor(gz);
    const fx = fade(gx - ix);
    const fz = fade(gz - iz);
    const a = lattice(ix, iz, o.salt);
    const b = lattice(ix + 1, iz, o.salt);
    const c = lattice(ix, iz + 1, o.salt);
    const d = lattice(ix + 1, iz + 1, o.salt);
    const top = a + (b - a) * fx;
    const bottom = c + (d - c) * fx;
    sum += o.amplitude * (top + (bottom - top) * fz);
  }
  return sum;
}

/** Maps the noise sum to metres: stretched around its typical range, soft-clamped to 0..MAX_HEIGHT. */
function shape(n) {
  let t = (n - 0.15) / 0.7;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  // smoothstep keeps valley floors and hill tops rounded instead of clipped flat-topped.
  return MAX_HEIGHT * t * t * (3 - 2 * t);
}

const CENTRE_HEIGHT = shape(fractal(0, 0));

/** Blends the relief toward the centre height near the origin; `r2` is the squared distance. */
function flatten(h, r2) {
  if (r2 >= FLAT_OUTER * FLAT_OUTER) return h;
  let w = 0;
  if (r2 > FLAT_INNER * FLAT_INNER) {
    const t = (Math.sqrt(r2) - FLAT_INNER) / (FLAT_OUTER - FLAT_INNER);
    w = t * t * (3 - 2 * t);
  }
  const keep = FLAT_RESIDUE + (1 - FLAT_RESIDUE) * w;
  return CENTRE_HEIGHT + (h - CENTRE_HEIGHT) * keep;
}

/** Terrain height in metres at world (x, z) for a terrain entity at the origin with elementSize 1. */
export function terrainHeightAt(x, z) {
  return flatten(shape(fractal(x, z)), x * x + z * z);
}

/** The height of the flat area at the centre. */
export function centreHeight() {
  return CENTRE_HEIGHT;
}

/**
 * Fills `heights` (size * size, row-major, sample (i, j) at i * size + j) with the terrain.
 * The fast path of `terrainHeightAt`: same arithmetic, but lattice corners are hashed once per
 * cell instead of once per sample, and nothing is allocated per sample.
 */
export function fillHeights(heights, size) {
  const half = (size - 1) / 2;
  heights.fill(0);
  for (const o of octaves) {
    const { cell, amplitude, salt, dx, dz } = o;
    for (let i = 0; i < size; i++) {
      const gx = (i - half) / cell + dx;
      const ix = Math.floor(gx);
      const fx = fade(gx - ix);
      const row = i * size;
      let iz = NaN;
      let top0 = 0; // noise along the cell edge z = iz, interpolated in x
      let top1 = 0; // ... and along z = iz + 1
      for (let j = 0; j < size; j++) {
        const gz = (half - j) / cell + dz;
        const cz = Math.floor(gz);
        if (cz !== iz) {
          iz = cz;
          const a = lattice(ix, iz, salt);
          const b = lattice(ix + 1, iz, salt);
          const c = lattice(ix, iz + 1, salt);
          const d = lattice(ix + 1, iz + 1, salt);
          top0 = a + (b - a) * fx;
          top1 = c + (d - c) * fx;
        }
        const fz = fade(gz - cz);
        heights[row + j] += amplitude * (top0 + (top1 - top0) * fz);
      }
    }
  }
  // Float32 accumulation differs from the float64 slow path by < 1e-6 m; shape and flatten in place.
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < size; i++) {
    const x = i - half;
    const row = i * size;
    for (let j = 0; j < size; j++) {
      const z = half - j;
      const h = flatten(shape(heights[row + j]), x * x + z * z);
      heights[row + j] = h;
      if (h < min) min = h;
      if (h > max) max = h;
    }
  }
  return { min, max };
}

export function versionString(size) {
  return `keel-terrain v${GENERATOR_VERSION} seed=0x${SEED.toString(16)} size=${size}x${size}\n`;
}

export function expectedBytes(size) {
  return HEADER_BYTES + size * size * 4;
}

/** True when `out` already holds this generator's terrain of `size`. */
export function isUpToDate(out, size) {
  try {
    if (statSync(out).size !== expectedBytes(size)) return false;
    if (readFileSync(`${out}.version`, 'utf8') !== versionString(size)) return false;
    const header = Buffer.alloc(HEADER_BYTES);
    const fd = openSync(out, 'r');
    try {
      if (readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) return false;
    } finally {
      closeSync(fd);
    }
    return (
      header.readUInt32LE(0) === HEIGHTFIELD_MAGIC &&
      header.readUInt32LE(4) === size &&
      header.readUInt32LE(8) === size &&
      header.readUInt32LE(12) === 0
    );
  } catch {
    return false;
  }
}

/** Builds the whole `.khf` file in one buffer (the heights are a view into it, no copy). */
export function buildKhf(size) {
  const bytes = new Uint8Array(expectedBytes(size));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, HEIGHTFIELD_MAGIC, true);
  view.setUint32(4, size, true);
  view.setUint32(8, size, true);
  view.setUint32(12, 0, true);
  const heights = new Float32Array(bytes.buffer, HEADER_BYTES, size * size);
  const range = fillHeights(heights, size);
  if (endianness() !== 'LE') {
    // Float32Array is platform-endian; the format is little-endian.
    for (let k = 0; k < heights.length; k++) view.setFloat32(HEADER_BYTES + k * 4, heights[k], true);
  }
  return { bytes, ...range };
}

/** Writes `data` to `path` through a temporary file and a rename. */
function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    try {
      if (existsSync(tmp)) unlinkSync(tmp);
    } catch {
      // nothing more to do
    }
    throw err;
  }
}

function parseArgs(argv) {
  const opts = { out: DEFAULT_OUT, size: DEFAULT_SIZE, force: false };
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++k];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--out':
        opts.out = resolve(value());
        break;
      case '--size': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 2 || n > 16384) throw new Error(`--size must be an integer from 2 to 16384 (got ${v})`);
        opts.size = n;
        break;
      }
      case '--force':
        opts.force = true;
        break;
      case '--help':
      case '-h':
        opts.help = true;
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  return opts;
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`terrain: ${err.message}`);
    console.error('usage: node scripts/generate-terrain.mjs [--out PATH] [--size N] [--force]');
    process.exit(2);
  }
  if (opts.help) {
    console.log('usage: node scripts/generate-terrain.mjs [--out PATH] [--size N] [--force]');
    console.log(`  --out PATH  output file (default ${relative(process.cwd(), DEFAULT_OUT)})`);
    console.log(`  --size N    N x N samples (default ${DEFAULT_SIZE})`);
    console.log('  --force     regenerate even when the file is up to date');
    return;
  }
  const shown = relative(process.cwd(), opts.out) || opts.out;
  if (!opts.force && isUpToDate(opts.out, opts.size)) {
    console.log(`terrain: up to date (${shown})`);
    return;
  }
  const started = performance.now();
  console.log(`terrain: generating ${opts.size}x${opts.size} heightfield -> ${shown}`);
  const { bytes, min, max } = buildKhf(opts.size);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeAtomic(opts.out, bytes);
  // The stamp goes last: if we stop before it, the next run sees no match and regenerates.
  writeAtomic(`${opts.out}.version`, versionString(opts.size));
  const ms = Math.round(performance.now() - started);
  const n = bytes.byteLength;
  const mib = n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `terrain: wrote ${shown} (${mib}, ${opts.size}x${opts.size} samples, heights ${min.toFixed(1)}..${max.toFixed(1)} m) in ${ms} ms`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main();
  } catch (err) {
    console.error(`terrain: failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  }
}
