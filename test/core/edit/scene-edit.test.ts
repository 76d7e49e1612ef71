/**
 * Scene edits on documents: each operation, its exact inverse (applying it gives back the
 * original document), defaults filled in as the loader would, structure enforced, untouched
 * entities shared, and edits that survive JSON.
 */
import { describe, expect, it } from 'vitest';
import { sameJson } from '../../../runtime/core/edit/pointer.js';
import { checkSceneEdit } from '../../../runtime/core/edit/check-scene-edit.js';
import { applySceneEdit, applySceneEdits, docWorldPose, SceneEditError, type SceneEdit } from '../../../runtime/core/edit/scene-edit.js';
import { canonicalSceneText } from '../../../runtime/core/scene/canonical.js';
import type { SceneDocument } from '../../../runtime/core/scene/schema.js';
import { loadScene } from '../helpers.js';

const close = (a: readonly number[], b: readonly number[], digits = 9) => b.forEach((v, i) => expect(a[i], `component ${i}`).toBeCloseTo(v, digits));

const scene = (): SceneDocument =>
  loadScene([
    { id: 'child-first', parent: 'table', components: { transform: { position: [0, 1, 0] } } },
    { id: 'table', name: 'Table', tags: ['furniture'], components: { transform: { position: [2, 0, 0], rotation: [0, 90, 0] }, collider: { shape: 'box', size: [2, 1, 1] } } },
    { id: 'cup', parent: 'table', components: { transform: { position: [0.5, 1, 0] }, mesh: { shape: 'cylinder' } } },
    { id: 'crate', components: { transform: { position: [-3, 1, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
    { id: 'lamp', components: { light: { kind: 'point' } } },
  ]);

/** Applies `edit`, then its inverse, and checks the round trip; returns the edited document. */
function roundTrip(doc: SceneDocument, edit: SceneEdit): SceneDocument {
  const r = applySceneEdit(doc, edit);
  const back = applySceneEdit(r.doc, JSON.parse(JSON.stringify(r.inverse)) as SceneEdit);
  expect(canonicalSceneText(back.doc)).toBe(canonicalSceneText(doc));
  expect(back.doc.entities.map((e) => e.id)).toEqual(doc.entities.map((e) => e.id));
  // The inverse of the inverse is the edit again.
  expect(canonicalSceneText(applySceneEdit(back.doc, back.inverse).doc)).toBe(canonicalSceneText(r.doc));
  return r.doc;
}

const ids = (d: SceneDocument) => d.entities.map((e) => e.id);
const entity = (d: SceneDocument, id: string) => d.entities.find((e) => e.id === id)!;

describe('path edits inside an entity', () => {
  it('sets one vector component and undoes it', () => {
    const doc = scene();
    const next = roundTrip(doc, { op: 'set', entity: 'crate', path: '/components/transform/position/1', value: 4 });
    expect(entity(next, 'crate').components.transform!.position).toEqual([-3, 4, 0]);
    expect(entity(doc, 'crate').components.transform!.position).toEqual([-3, 1, 0]); // input untouched
  });

  it('shares every untouched entity with the input', () => {
    const doc = scene();
    const next = applySceneEdit(doc, { op: 'set', entity: 'crate', path: '/name', value: 'Crate' }).doc;
    expect(next.entities.filter((e, i) => e === doc.entities[i]).map((e) => e.id)).toEqual(['child-first', 'table', 'cup', 'lamp']);
    expect(next.settings).toBe(doc.settings);
  });

  it('adds a component with its defaults filled in, and removes it again', () => {
    const doc = scene();
    const next = roundTrip(doc, { op: 'set', entity: 'lamp', path: '/components/rigidBody', value: { type: 'dynamic' } });
    expect(entity(next, 'lamp').components.rigidBody).toEqual({ type: 'dynamic', mass: 1, linearDamping: 0.01, angularDamping: 0.01, fixedRotation: false, allowSleep: true });
    roundTrip(doc, { op: 'unset', entity: 'crate', path: '/components/collider' });
  });

  it('unsetting a field with a default resets it to the default', () => {
    let doc = applySceneEdit(scene(), { op: 'set', entity: 'lamp', path: '/components/light/intensity', value: 3 }).doc;
    doc = roundTrip(doc, { op: 'unset', entity: 'lamp', path: '/components/light/intensity' });
    expect(entity(doc, 'lamp').components.light!.intensity).toBe(1);
  });

  it('inserts into and removes from arrays (tags), with inverses that restore positions', () => {
    const doc = scene();
    const ins = roundTrip(doc, { op: 'insert', entity: 'table', path: '/tags/0', value: 'wood' });
    expect(entity(ins, 'table').tags).toEqual(['wood', 'furniture']);
    const app = roundTrip(doc, { op: 'set', entity: 'table', path: '/tags/-', value: 'big' });
    expect(entity(app, 'table').tags).toEqual(['furniture', 'big']);
    const del = roundTrip(ins, { op: 'unset', entity: 'table', path: '/tags/1' });
    expect(entity(del, 'table').tags).toEqual(['wood']);
  });

  it('keeps an invalid value (the editor shows it) but reports nothing structural', () => {
    const next = applySceneEdit(scene(), { op: 'set', entity: 'lamp', path: '/components/light/intensity', value: -5 }).doc;
    expect(entity(next, 'lamp').components.light!.intensity).toBe(-5);
  });

  it('edits document settings without an entity', () => {
    const next = roundTrip(scene(), { op: 'set', path: '/settings/gravity', value: [0, -1.6, 0] });
    expect(next.settings.gravity).toEqual([0, -1.6, 0]);
  });

  it('changes nothing for an unset of a missing key (inverse: nothing)', () => {
    const doc = scene();
    const r = applySceneEdit(doc, { op: 'unset', entity: 'lamp', path: '/components/camera' });
    expect(r.doc).toBe(doc);
    expect(r.inverse).toEqual({ op: 'batch', edits: [] });
  });

  it.each<[string, SceneEdit, RegExp]>([
    ['unknown entity', { op: 'set', entity: 'nope', path: '/name', value: 'x' }, /entity "nope" does not exist/],
    ['the id', { op: 'set', entity: 'lamp', path: '/id', value: 'x' }, /id is changed with remove and add/],
    ['the parent', { op: 'set', entity: 'lamp', path: '/parent', value: 'table' }, /parent is changed with reparent/],
    ['a missing component', { op: 'set', entity: 'lamp', path: '/components/camera/fov', value: 50 }, /\/components\/camera does not exist/],
    ['a bad pointer', { op: 'set', entity: 'lamp', path: 'name', value: 'x' }, /not a JSON pointer/],
    ['the entity list', { op: 'set', path: '/entities/0/name', value: 'x' }, /entities are changed with entity edits/],
    ['an index past the end', { op: 'set', entity: 'table', path: '/tags/5', value: 'x' }, /not an index/],
    ['no value', { op: 'set', entity: 'lamp', path: '/name', value: undefined }, /a value is required/],
  ])('refuses to set %s', (_what, edit, message) => {
    expect(() => applySceneEdit(scene(), edit)).toThrowError(SceneEditError);
    expect(() => applySceneEdit(scene(), edit)).toThrowError(message);
  });
});

describe('entity edits', () => {
  it('adds an entity before another, with defaults, and removes it on undo', () => {
    const doc = scene();
    const next = roundTrip(doc, { op: 'add', entity: { id: 'ball', parent: 'table', components: { collider: { shape: 'sphere' } } }, before: 'crate' });
    expect(ids(next)).toEqual(['child-first', 'table', 'cup', 'ball', 'crate', 'lamp']);
    expect(entity(next, 'ball').components.collider).toMatchObject({ shape: 'sphere', radius: 0.5, friction: 0.4 });
  });

  it('refuses a duplicate id, an unknown parent and an unknown anchor', () => {
    expect(() => applySceneEdit(scene(), { op: 'add', entity: { id: 'lamp', components: {} } })).toThrowError(/already exists/);
    expect(() => applySceneEdit(scene(), { op: 'add', entity: { id: 'x', parent: 'ghost', components: {} } })).toThrowError(/parent "ghost" does not exist/);
    expect(() => applySceneEdit(scene(), { op: 'add', entity: { id: 'x', components: {} }, before: 'ghost' })).toThrowError(/before "ghost" does not exist/);
  });

  it('removes an entity with its descendants and undo puts all back in their places', () => {
    const doc = scene();
    const next = roundTrip(doc, { op: 'remove', entity: 'table' });
    expect(ids(next)).toEqual(['crate', 'lamp']);
  });

  it('reorders and undoes', () => {
    const doc = scene();
    expect(ids(roundTrip(doc, { op: 'reorder', entity: 'lamp', before: 'table' }))).toEqual(['child-first', 'lamp', 'table', 'cup', 'crate']);
    expect(ids(roundTrip(doc, { op: 'reorder', entity: 'child-first', before: null }))).toEqual(['table', 'cup', 'crate', 'lamp', 'child-first']);
  });

  it('reparents keeping the world pose, rewriting the local transform, and undoes exactly', () => {
    const doc = scene();
    const [wp, wq] = docWorldPose(doc, 'crate');
    const next = roundTrip(doc, { op: 'reparent', entity: 'crate', parent: 'table' });
    expect(entity(next, 'crate').parent).toBe('table');
    const [np, nq] = docWorldPose(next, 'crate');
    close(np, wp);
    close(nq, wq);
    // table at (2,0,0) turned 90° about Y: world (-3,1,0) is 5 m behind it along its local Z.
    close(entity(next, 'crate').components.transform!.position, [0, 1, -5]);
    close(entity(next, 'crate').components.transform!.rotation, [0, -90, 0]);
  });

  it('reparents to the root keeping the world pose, and gives a transform to an entity without one only when needed', () => {
    const doc = scene();
    const [wp] = docWorldPose(doc, 'cup');
    const next = roundTrip(doc, { op: 'reparent', entity: 'cup', parent: null });
    expect(entity(next, 'cup').parent).toBeUndefined();
    close(entity(next, 'cup').components.transform!.position, wp);
    const lampUnder = roundTrip(doc, { op: 'reparent', entity: 'lamp', parent: 'table' });
    close(docWorldPose(lampUnder, 'lamp')[0], [0, 0, 0]);
    close(entity(lampUnder, 'lamp').components.transform!.position, [0, 0, -2]);
  });

  it('reparents without keeping the pose when asked, and moves in the list with before', () => {
    const doc = scene();
    const next = roundTrip(doc, { op: 'reparent', entity: 'crate', parent: 'table', keepWorldPose: false, before: 'table' });
    expect(entity(next, 'crate').components.transform!.position).toEqual([-3, 1, 0]);
    expect(ids(next)).toEqual(['child-first', 'crate', 'table', 'cup', 'lamp']);
  });

  it('refuses a reparent that makes a cycle', () => {
    const doc = applySceneEdit(scene(), { op: 'reparent', entity: 'crate', parent: 'cup' }).doc;
    expect(() => applySceneEdit(doc, { op: 'reparent', entity: 'table', parent: 'crate' })).toThrowError(/cycle/);
    expect(() => applySceneEdit(doc, { op: 'reparent', entity: 'table', parent: 'table' })).toThrowError(/cycle/);
  });

  it('applies a batch as one edit with one inverse, and leaves the input alone when a later edit fails', () => {
    const doc = scene();
    const batch: SceneEdit = {
      op: 'batch',
      edits: [
        { op: 'add', entity: { id: 'shelf', components: { transform: { position: [0, 3, 0] } } } },
        { op: 'reparent', entity: 'cup', parent: 'shelf' },
        { op: 'set', entity: 'shelf', path: '/components/transform/position/0', value: 1 },
        { op: 'remove', entity: 'lamp' },
      ],
    };
    const next = roundTrip(doc, batch);
    expect(ids(next)).toEqual(['child-first', 'table', 'cup', 'crate', 'shelf']);
    const before = canonicalSceneText(doc);
    expect(() => applySceneEdits(doc, [{ op: 'remove', entity: 'lamp' }, { op: 'remove', entity: 'lamp' }])).toThrowError(/"lamp" does not exist/);
    expect(canonicalSceneText(doc)).toBe(before);
  });
});

describe('sameJson', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['key order ignored', { a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    ['an undefined key is absent', { a: 1, b: undefined }, { a: 1 }, true],
    ['an undefined key is absent, either side', { a: 1 }, { a: 1, b: undefined }, true],
    ['a missing key', { a: 1, b: 2 }, { a: 1 }, false],
    ['an extra key', { a: 1 }, { a: 1, b: 2 }, false],
    ['same key count, other keys', { a: 1, b: 2 }, { a: 1, c: 2 }, false],
    ['array against object', [1, 2], { 0: 1, 1: 2 }, false],
    ['array length', [1, 2], [1, 2, 3], false],
    ['nested difference', { t: { p: [0, 1, 2] } }, { t: { p: [0, 1, 2.5] } }, false],
    ['null against object', null, {}, false],
    ['numbers', 0.5, 0.5, true],
  ])('%s', (_what, a, b, same) => {
    expect(sameJson(a, b)).toBe(same);
    expect(sameJson(b, a)).toBe(same);
  });
});

describe('edits as data', () => {
  it('survive JSON: applying a round-tripped edit gives the same document', () => {
    const edit: SceneEdit = { op: 'batch', edits: [{ op: 'set', entity: 'crate', path: '/components/transform/rotation', value: [0, 45, 0] }, { op: 'reparent', entity: 'lamp', parent: 'crate' }] };
    const a = applySceneEdit(scene(), edit).doc;
    const b = applySceneEdit(scene(), JSON.parse(JSON.stringify(edit)) as SceneEdit).doc;
    expect(sameJson(a, b)).toBe(true);
  });

  it.each<[unknown, RegExp]>([
    [null, /must be an object/],
    [{ op: 'fly' }, /unknown op "fly"/],
    [{ op: 'set', path: '/name' }, /set needs path, value/],
    [{ op: 'reparent', entity: 'a' }, /reparent needs entity and parent/],
    [{ op: 'batch', edits: [{ op: 'remove' }] }, /edit.edits\[0\]: remove needs entity/],
  ])('checkSceneEdit says what is wrong with %j', (value, message) => {
    expect(checkSceneEdit(value)).toMatch(message);
  });

  it('checkSceneEdit accepts every well-formed edit', () => {
    const good: SceneEdit[] = [
      { op: 'set', entity: 'a', path: '/name', value: 'x' },
      { op: 'insert', path: '/settings/gravity/0', value: 1 },
      { op: 'unset', entity: 'a', path: '/tags' },
      { op: 'add', entity: { id: 'a', components: {} }, before: null },
      { op: 'remove', entity: 'a' },
      { op: 'reparent', entity: 'a', parent: null, keepWorldPose: false },
      { op: 'reorder', entity: 'a', before: null },
      { op: 'batch', edits: [] },
    ];
    for (const e of good) expect(checkSceneEdit(e), JSON.stringify(e)).toBeNull();
  });
});
