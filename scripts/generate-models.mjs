// Writes scenes/models/beacon.glb: a small glTF binary (a stone plinth, a post and a lamp cone,
// coloured per vertex in one mesh) built from code, so the repository needs no downloaded asset. Deterministic: the same
// bytes every run. Run with `node scripts/generate-models.mjs`.
import { mkdir, writeFile } from 'node:fs/promises';

/** A capped cylinder (or cone when rTop is 0) along +Y from y0 to y1: positions, normals, indices. */
function cylinder(rBottom, rTop, y0, y1, segments) {
  const pos = [];
  const nrm = [];
  const idx = [];
  const slope = (rBottom - rTop) / (y1 - y0);
  for (let i = 0; i <= segments; i++) {
    const a = (i / segments) * Math.PI * 2;
    const c = Math.cos(a);
    const s = Math.sin(a);
    const len = Math.hypot(1, slope);
    for (const [r, y] of [[rBottom, y0], [rTop, y1]]) {
      pos.push(r * c, y, r * s);
      nrm.push(c / len, slope / len, s / len);
    }
  }
  for (let i = 0; i < segments; i++) {
    const a = i * 2;
    idx.push(a, a + 1, a + 2, a + 1, a + 3, a + 2);
  }
  for (const [r, y, ny] of [[rBottom, y0, -1], [rTop, y1, 1]]) {
    if (r === 0) continue;
    const centre = pos.length / 3;
    pos.push(0, y, 0);
    nrm.push(0, ny, 0);
    for (let i = 0; i <= segments; i++) {
      const a = (i / segments) * Math.PI * 2;
      pos.push(r * Math.cos(a), y, r * Math.sin(a));
      nrm.push(0, ny, 0);
    }
    for (let i = 0; i < segments; i++) {
      if (ny > 0) idx.push(centre, centre + 2 + i, centre + 1 + i);
      else idx.push(centre, centre + 1 + i, centre + 2 + i);
    }
  }
  return { pos, nrm, idx };
}

const parts = [
  { name: 'plinth', geo: cylinder(0.55, 0.45, 0, 0.3, 8), color: [0.42, 0.45, 0.5, 1], emissive: [0, 0, 0] },
  { name: 'post', geo: cylinder(0.12, 0.1, 0.3, 1.9, 12), color: [0.25, 0.27, 0.3, 1], emissive: [0, 0, 0] },
  { name: 'lamp', geo: cylinder(0.35, 0, 1.9, 2.5, 16), color: [1, 0.75, 0.2, 1], emissive: [0.9, 0.55, 0.1] },
];

const chunks = [];
const bufferViews = [];
const accessors = [];
let offset = 0;
function addView(array, target) {
  const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  const padded = Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
  bufferViews.push({ buffer: 0, byteOffset: offset, byteLength: bytes.length, target });
  chunks.push(padded);
  offset += padded.length;
  return bufferViews.length - 1;
}
// One primitive with a colour per vertex: the whole model is one draw call (and one shadow draw).
const merged = { pos: [], nrm: [], col: [], idx: [] };
for (const p of parts) {
  const base = merged.pos.length / 3;
  merged.pos.push(...p.geo.pos);
  merged.nrm.push(...p.geo.nrm);
  for (let i = 0; i < p.geo.pos.length / 3; i++) merged.col.push(...p.color.slice(0, 3).map((c, k) => Math.min(1, c + p.emissive[k] * 0.3)));
  merged.idx.push(...p.geo.idx.map((i) => i + base));
}
const pos = new Float32Array(merged.pos);
const min = [Infinity, Infinity, Infinity];
const max = [-Infinity, -Infinity, -Infinity];
for (let i = 0; i < pos.length; i++) {
  min[i % 3] = Math.min(min[i % 3], pos[i]);
  max[i % 3] = Math.max(max[i % 3], pos[i]);
}
accessors.push({ bufferView: addView(pos, 34962), componentType: 5126, count: pos.length / 3, type: 'VEC3', min, max });
accessors.push({ bufferView: addView(new Float32Array(merged.nrm), 34962), componentType: 5126, count: pos.length / 3, type: 'VEC3' });
accessors.push({ bufferView: addView(new Float32Array(merged.col), 34962), componentType: 5126, count: pos.length / 3, type: 'VEC3' });
accessors.push({ bufferView: addView(new Uint16Array(merged.idx), 34963), componentType: 5123, count: merged.idx.length, type: 'SCALAR' });
const primitives = [{ attributes: { POSITION: 0, NORMAL: 1, COLOR_0: 2 }, indices: 3, material: 0 }];
const bin = Buffer.concat(chunks);
const gltf = {
  asset: { version: '2.0', generator: 'keel scripts/generate-models.mjs' },
  scene: 0,
  scenes: [{ nodes: [0] }],
  nodes: [{ name: 'beacon', mesh: 0 }],
  meshes: [{ name: 'beacon', primitives }],
  materials: [{ name: 'beacon', pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0.1, roughnessFactor: 0.7 } }],
  accessors,
  bufferViews,
  buffers: [{ byteLength: bin.length }],
};
let json = Buffer.from(JSON.stringify(gltf));
json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
const header = Buffer.alloc(12);
header.writeUInt32LE(0x46546c67, 0); // 'glTF'
header.writeUInt32LE(2, 4);
header.writeUInt32LE(12 + 8 + json.length + 8 + bin.length, 8);
const chunk = (type, data) => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(data.length, 0);
  h.writeUInt32LE(type, 4);
  return Buffer.concat([h, data]);
};
const glb = Buffer.concat([header, chunk(0x4e4f534a, json), chunk(0x004e4942, bin)]);
const out = new URL('../scenes/models/beacon.glb', import.meta.url);
await mkdir(new URL('.', out), { recursive: true });
await writeFile(out, glb);
process.stdout.write(`wrote scenes/models/beacon.glb (${glb.length} bytes)\n`);
