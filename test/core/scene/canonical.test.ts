/**
 * The canonical scene writer: every committed scene survives load, validate, write byte for byte;
 * one moved entity is one changed line; the layout rules hold for keys the schema orders, free
 * records, long arrays and the dropped `"parent": null`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJsonText, canonicalSceneText, formatSceneText, INLINE_ARRAY_MAX, SceneTextWriter } from '../../../runtime/core/scene/canonical.js';
import { parseSceneText, SceneError, validateScene } from '../../../runtime/core/scene/validate.js';
import { loadScene } from '../helpers.js';
import { applySceneEdit } from '../../../runtime/core/edit/scene-edit.js';

const SCENES = join(import.meta.dirname, '../../../scenes');
const sceneFiles = readdirSync(SCENES).filter((f) => f.endsWith('.json') && f !== 'keel-scene.schema.json');

function load(text: string) {
  const r = parseSceneText(text, 'x.json');
  if (!r.ok) throw new SceneError(r.problems);
  return r.scene;
}

/** Lines of `b` that differ from `a`, for texts with the same number of lines. */
function changedLines(a: string, b: string): { line: number; before: string; after: string }[] {
  const la = a.split('\n');
  const lb = b.split('\n');
  expect(lb.length).toBe(la.length);
  return la.flatMap((l, i) => (l === lb[i] ? [] : [{ line: i + 1, before: l, after: lb[i]! }]));
}

describe('canonical scene text', () => {
  it('finds the committed scenes', () => {
    expect(sceneFiles).toEqual(expect.arrayContaining(['arena.json', 'terrain.json']));
  });

  it.each(sceneFiles)('%s: load, validate and write gives the same bytes', (f) => {
    const text = readFileSync(join(SCENES, f), 'utf8');
    expect(canonicalSceneText(load(text))).toBe(text);
  });

  it('moving one entity changes exactly one line', () => {
    const text = readFileSync(join(SCENES, 'arena.json'), 'utf8');
    const doc = load(text);
    const i = doc.entities.findIndex((e) => e.components.rigidBody?.type === 'dynamic');
    expect(i).toBeGreaterThanOrEqual(0);
    const t = doc.entities[i]!.components.transform!;
    doc.entities[i]!.components.transform = { ...t, position: [t.position[0] + 1.25, t.position[1], t.position[2]] };
    const diff = changedLines(text, canonicalSceneText(doc));
    expect(diff).toHaveLength(1);
    expect(diff[0]!.before.trim()).toBe(`"position": [${t.position.join(', ')}],`);
    expect(diff[0]!.after.trim()).toBe(`"position": [${[t.position[0] + 1.25, t.position[1], t.position[2]].join(', ')}],`);
  });

  it('a move made with a scene edit (the editor path) is one line too', () => {
    const text = readFileSync(join(SCENES, 'arena.json'), 'utf8');
    const doc = load(text);
    const crate = doc.entities.find((e) => e.components.rigidBody?.type === 'dynamic')!;
    const next = applySceneEdit(doc, { op: 'set', entity: crate.id, path: '/components/transform/position/2', value: 7.5 }).doc;
    const diff = changedLines(text, canonicalSceneText(next));
    expect(diff).toHaveLength(1);
    expect(diff[0]!.after).toContain(', 7.5]');
  });

  it('changing a value that is at its default is also one line (defaults are written out)', () => {
    const text = canonicalSceneText(loadScene([{ id: 'a', components: { transform: {}, material: {} } }]));
    const doc = load(text);
    doc.entities[0]!.components.material!.opacity = 0.5;
    const diff = changedLines(text, canonicalSceneText(doc));
    expect(diff.map((d) => d.after.trim())).toEqual(['"opacity": 0.5']);
  });

  it('orders keys as the schema declares them, whatever order the input had', () => {
    const doc = loadScene([
      { components: { collider: { size: [1, 2, 3], shape: 'box' }, transform: { scale: [2, 2, 2], position: [1, 2, 3] } }, id: 'b', name: 'B' },
    ]);
    const text = canonicalSceneText(doc);
    const keys = [...text.matchAll(/^\s*"([^"]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      'format', 'version', 'name', 'settings', 'gravity', 'tickRate', 'maxPlayers', 'entities',
      'id', 'name', 'components',
      'transform', 'position', 'rotation', 'scale',
      'collider', 'shape', 'offset', 'friction', 'restitution', 'trigger', 'size',
    ]);
  });

  it('sorts the keys of free-form records and drops "parent": null', () => {
    const doc = loadScene([
      { id: 'p', parent: null, components: { script: { module: 'a.js', props: { zeta: 1, alpha: { b: 2, a: 1 }, Mid: [1, 2] } } } },
    ]);
    const text = canonicalSceneText(doc);
    expect(text).not.toContain('"parent"');
    expect(text).toContain(['"props": {', '            "Mid": [1, 2],', '            "alpha": {', '              "a": 1,', '              "b": 2', '            },', '            "zeta": 1', '          },'].join('\n'));
  });

  it('writes short scalar arrays on one line and long ones one item per line', () => {
    const short = Array.from({ length: 5 }, (_, i) => i);
    const long = Array.from({ length: INLINE_ARRAY_MAX }, (_, i) => i * 1000);
    const text = canonicalSceneText(loadScene([{ id: 'a', tags: ['x', 'y'], components: { script: { module: 'a.js', props: { long, short } } } }]));
    expect(text).toContain('"tags": ["x", "y"],');
    expect(text).toContain('"short": [0, 1, 2, 3, 4]');
    expect(text).toContain(`"long": [\n              0,\n              1000,\n`);
    expect(formatSceneText(text, 'x.json')).toBe(text);
  });

  it('keeps brackets, braces, commas and escapes inside strings intact', () => {
    const tags = ['a]b', 'c,\n d', '{x}', '[', 'q"uote\\'];
    const text = canonicalSceneText(loadScene([{ id: 'a', tags, components: { script: { module: 'a.js', props: { nested: [['x]', 1], { k: '[v]' }] } } } }]));
    expect(text).toContain(`"tags": ${JSON.stringify(tags).replace(/","/g, '", "')},`);
    expect(text).toContain('"nested": [\n              ["x]", 1],\n              {\n                "k": "[v]"\n              }\n            ]');
    const r = parseSceneText(text, 'x.json');
    expect(r.ok && r.scene.entities[0]!.tags).toEqual(tags);
    expect(formatSceneText(text, 'x.json')).toBe(text);
  });

  it('writes empty objects as {}, ends with one newline, and prints -0 as 0', () => {
    const doc = loadScene([{ id: 's', components: { transform: { position: [-0, 1, 0] }, spawnPoint: {} } }]);
    const text = canonicalSceneText(doc);
    expect(text).toContain('"spawnPoint": {}');
    expect(text).toContain('"position": [0, 1, 0]');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  it('refuses an invalid scene with every problem and its pointer', () => {
    const bad = JSON.stringify({ format: 'keel-scene', version: 1, name: 'x', entities: [{ id: 'a', components: { rigidBody: { type: 'floaty' } } }] });
    expect(() => formatSceneText(bad, 'bad.json')).toThrowError(/bad\.json \/entities\/0\/components\/rigidBody\/type: must be one of static, dynamic, kinematic/);
  });
});

describe('canonicalJsonText, the one-pass writer', () => {
  // The layout as a slow reference: keys sorted into a copy, JSON.stringify with a 2-space
  // indent, then every array of scalars folded onto one line when it fits.
  const reference = (value: unknown): string => {
    const sortKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortKeys)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
          : v;
    const text = JSON.stringify(sortKeys(value), null, 2).replace(/\[\n(?:"(?:[^"\\]|\\.)*"|[^[\]{}"])*?\]/g, (m) => {
      const line = `[${m.slice(1, -1).trim().split(/,\n\s*/).join(', ')}]`;
      return line.length <= INLINE_ARRAY_MAX ? line : m;
    });
    return `${text}\n`;
  };

  it('writes what the stringify-and-fold layout writes, for nested and awkward values', () => {
    const values: unknown[] = [
      [],
      {},
      'text',
      3.25,
      null,
      [1, 2.5, 'a, "b"\n]', null, true, false],
      { b: [[], [1, [2, { c: [] }]]], a: [{}, { z: 1, y: [] }], s: Array.from({ length: 30 }, (_, i) => `item-${i}`) },
      { long: Array.from({ length: 40 }, (_, i) => i * 1.5), edge: Array.from({ length: 33 }, () => 1) },
      { deep: { er: { est: { x: [0.1, 0.2, 0.3], y: 'a]b[c{d}e', u: undefined } } } },
    ];
    for (const v of values) expect(canonicalJsonText(v, undefined)).toBe(reference(v));
  });

  it('names the pointer of a value JSON cannot hold', () => {
    expect(() => canonicalJsonText({ a: [0, { b: Number.NaN }] }, undefined)).toThrow('/a/1/b: NaN cannot be written as JSON');
    expect(() => canonicalJsonText({ a: [1, () => 1] }, undefined)).toThrow('/a/1: a function cannot be written as JSON');
  });
});

describe('SceneTextWriter', () => {
  it('writes each version of a scene as canonicalSceneText does, reusing unchanged entities', () => {
    const writer = new SceneTextWriter();
    let doc = load(readFileSync(join(SCENES, 'arena.json'), 'utf8'));
    expect(writer.text(doc)).toBe(canonicalSceneText(doc));
    const id = doc.entities.find((e) => e.components.transform)!.id;
    const versions = [
      applySceneEdit(doc, { op: 'set', entity: id, path: '/components/transform/position/0', value: 42.5 }).doc,
      applySceneEdit(doc, { op: 'set', entity: id, path: '/name', value: 'Renamed, "quoted"' }).doc,
      applySceneEdit(doc, { op: 'remove', entity: id }).doc,
      applySceneEdit(doc, { op: 'add', entity: { id: 'new-one', components: { transform: { position: [1, 2, 3], rotation: [0, 0, 0], scale: [1, 1, 1] } } } }).doc,
      applySceneEdit(doc, { op: 'reorder', entity: id, before: null }).doc,
      // The same ids over other content, parsed afresh (new objects, keys in another order).
      JSON.parse(JSON.stringify({ ...doc, entities: [...doc.entities].reverse().map((e) => ({ components: e.components, id: e.id })) })) as typeof doc,
    ];
    for (const v of versions) {
      expect(writer.text(v)).toBe(canonicalSceneText(v));
      doc = v;
    }
    expect(writer.text(doc)).toBe(canonicalSceneText(doc));
  });
});

describe('SceneTextWriter.validated', () => {
  const arena = () => readFileSync(join(SCENES, 'arena.json'), 'utf8');
  const primed = () => {
    const w = new SceneTextWriter();
    w.text(load(arena()));
    return w;
  };
  const full = (raw: unknown) => validateScene(structuredClone(raw), 'x.json');

  it('accepts what whole-document validation accepts, with the same document', () => {
    const w = primed();
    const raw = JSON.parse(arena()) as { entities: { id: string; parent?: string; components: Record<string, unknown> }[] };
    const child = raw.entities.find((e) => e.parent) ?? raw.entities[1]!;
    child.components.transform = { position: [1, 2, 3] }; // rotation and scale left to the defaults
    raw.entities.push({ id: 'added', components: { mesh: { shape: 'sphere' } } });
    const expected = full(raw);
    if (!expected.ok) throw new Error('expected a valid scene');
    const got = w.validated(raw, 'x.json');
    expect(got).toEqual(expected.scene);
    expect(w.text(got!)).toBe(canonicalSceneText(expected.scene));
  });

  it('answers null, for the whole check to report, whenever the document has a problem', () => {
    const broken: ((raw: { name: string; entities: { id: string; parent?: string; components: Record<string, unknown> }[] }) => void)[] = [
      (r) => void (r.entities[2]!.components.rigidBody = { type: 'floaty' }),
      (r) => void (r.entities[3]!.id = r.entities[0]!.id), // a duplicate made of an unchanged id
      (r) => void (r.entities[1]!.parent = 'nobody'),
      (r) => void ((r.entities[0]!.parent = r.entities[1]!.id), (r.entities[1]!.parent = r.entities[0]!.id)),
      (r) => void (r.name = ''),
      (r) => void r.entities.push({ id: 'x', components: { script: { module: '../escape.js' } } }),
    ];
    for (const breakIt of broken) {
      const raw = JSON.parse(arena()) as Parameters<(typeof broken)[number]>[0];
      breakIt(raw);
      expect(full(raw).ok).toBe(false);
      expect(primed().validated(raw, 'x.json')).toBeNull();
    }
  });

  it('cannot tell before a first version is written', () => {
    expect(new SceneTextWriter().validated(JSON.parse(arena()), 'x.json')).toBeNull();
  });
});
