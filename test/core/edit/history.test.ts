/**
 * The editor's document model: undo/redo of edits and selection as data, one step per gesture,
 * same-field edits merged within a second, bulk edits as one step, a dirty flag against the last
 * save, and a history that survives JSON (a page reload) and keeps undoing.
 */
import { describe, expect, it } from 'vitest';
import { SceneHistory, type HistoryChange } from '../../../runtime/core/edit/history.js';
import { canonicalSceneText } from '../../../runtime/core/scene/canonical.js';
import type { SceneEdit } from '../../../runtime/core/edit/scene-edit.js';
import { Simulation } from '../../../runtime/core/sim/simulation.js';
import { loadScene, recordingLogger } from '../helpers.js';

const start = () =>
  loadScene([
    { id: 'a', components: { transform: { position: [0, 0, 0] } } },
    { id: 'b', components: { transform: { position: [1, 0, 0] } } },
    { id: 'c', components: { transform: { position: [2, 0, 0] } } },
  ]);

function make() {
  let t = 1000;
  const clock = { advance: (ms: number) => (t += ms) };
  const h = new SceneHistory(start(), { now: () => t });
  return { h, clock };
}

const move = (id: string, x: number): SceneEdit => ({ op: 'set', entity: id, path: '/components/transform/position/0', value: x });
const xOf = (h: SceneHistory, id: string) => h.doc.entities.find((e) => e.id === id)!.components.transform!.position[0];
const text = (h: SceneHistory) => canonicalSceneText(h.doc);

describe('undo and redo', () => {
  it('undoes and redoes edits one step at a time', () => {
    const { h, clock } = make();
    const original = text(h);
    h.apply(move('a', 5));
    clock.advance(2000);
    h.apply({ op: 'remove', entity: 'b' });
    expect(h.entries).toHaveLength(2);
    expect(h.undo()).toBe(true);
    expect(h.doc.entities.map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(xOf(h, 'a')).toBe(5);
    h.undo();
    expect(text(h)).toBe(original);
    expect(h.undo()).toBe(false);
    h.redo();
    h.redo();
    expect(h.doc.entities.map((e) => e.id)).toEqual(['a', 'c']);
    expect(h.redo()).toBe(false);
  });

  it('a new edit after undo drops the redo branch', () => {
    const { h, clock } = make();
    h.apply(move('a', 5));
    clock.advance(2000);
    h.apply(move('b', 5));
    h.undo();
    h.apply(move('c', 9));
    expect(h.entries.map((s) => s.label)).toEqual(['Set position 0 of a', 'Set position 0 of c']);
    expect(h.canRedo).toBe(false);
  });

  it('records nothing for an edit that does not apply', () => {
    const { h } = make();
    expect(() => h.apply({ op: 'remove', entity: 'ghost' })).toThrowError(/ghost/);
    expect(h.entries).toHaveLength(0);
  });
});

describe('merging and gestures', () => {
  it('merges edits of the same field within a second of each other (typing), not after', () => {
    const { h, clock } = make();
    for (const x of [1, 12, 123]) {
      h.apply(move('a', x));
      clock.advance(400);
    }
    expect(h.entries).toHaveLength(1);
    clock.advance(1500);
    h.apply(move('a', 7));
    expect(h.entries).toHaveLength(2);
    h.undo();
    expect(xOf(h, 'a')).toBe(123);
    h.undo();
    expect(xOf(h, 'a')).toBe(0);
  });

  it('does not merge different fields, different entities, or across seal()', () => {
    const { h } = make();
    h.apply(move('a', 1));
    h.apply({ op: 'set', entity: 'a', path: '/components/transform/position/1', value: 1 });
    h.apply(move('b', 1));
    h.apply(move('b', 2));
    h.seal();
    h.apply(move('b', 3));
    expect(h.entries).toHaveLength(4);
  });

  it('makes one step of a gesture, whatever it sends, and undoes to before it', () => {
    const { h, clock } = make();
    h.begin('Drag');
    for (let i = 1; i <= 120; i++) {
      h.apply({ op: 'batch', edits: [move('a', i / 10), move('b', 1 + i / 10)] });
      clock.advance(16);
    }
    h.apply({ op: 'set', entity: 'a', path: '/name', value: 'dragged' });
    expect(h.canUndo).toBe(false);
    h.end();
    expect(h.entries).toHaveLength(1);
    expect(h.entries[0]!.label).toBe('Drag');
    expect(JSON.stringify(h.entries[0]!.edit).length).toBeLessThan(600); // the 120 moves were compacted
    expect(xOf(h, 'a')).toBe(12);
    h.undo();
    expect(xOf(h, 'a')).toBe(0);
    expect(xOf(h, 'b')).toBe(1);
    expect(h.doc.entities[0]!.name).toBeUndefined();
    h.redo();
    expect(xOf(h, 'a')).toBe(12);
    expect(h.doc.entities[0]!.name).toBe('dragged');
  });

  it('nests gestures (the outermost is the step) and records nothing for an empty one', () => {
    const { h } = make();
    h.begin('outer');
    h.begin('inner');
    h.apply(move('a', 1));
    h.end();
    h.apply(move('b', 2));
    h.end();
    expect(h.entries.map((s) => s.label)).toEqual(['outer']);
    h.begin('nothing');
    h.end();
    expect(h.entries).toHaveLength(1);
    expect(() => h.end()).toThrowError(/without begin/);
  });

  it('cancel rolls a gesture back and records nothing', () => {
    const { h } = make();
    const original = text(h);
    const changes: HistoryChange[] = [];
    h.on((c) => changes.push(c));
    h.begin('Drag');
    h.apply(move('a', 3));
    h.apply(move('a', 4));
    h.cancel();
    expect(text(h)).toBe(original);
    expect(h.entries).toHaveLength(0);
    expect(changes.at(-1)!.kind).toBe('cancel');
  });

  it('a bulk edit of the selection is one step', () => {
    const { h } = make();
    h.select(['a', 'b', 'c']);
    h.apply({ op: 'batch', edits: h.selection.map((id) => ({ op: 'set', entity: id, path: '/components/transform/position/1', value: 3 }) as SceneEdit) }, 'Set Y of 3 entities');
    expect(h.entries.map((s) => s.label)).toEqual(['Select', 'Set Y of 3 entities']);
    h.undo();
    expect(h.doc.entities.map((e) => e.components.transform!.position[1])).toEqual([0, 0, 0]);
  });
});

describe('selection', () => {
  it('is undoable, and an undone edit restores the selection it had', () => {
    const { h, clock } = make();
    h.select(['a']);
    clock.advance(2000);
    h.select(['b', 'c']);
    clock.advance(2000);
    h.apply({ op: 'remove', entity: 'b' });
    expect(h.selection).toEqual(['c']); // removed ids leave the selection
    h.undo();
    expect(h.selection).toEqual(['b', 'c']);
    h.undo();
    expect(h.selection).toEqual(['a']);
    h.undo();
    expect(h.selection).toEqual([]);
    h.redo();
    expect(h.selection).toEqual(['a']);
  });

  it('merges quick successive selection changes and ignores unknown ids and no-change selections', () => {
    const { h, clock } = make();
    h.select(['a']);
    clock.advance(200);
    h.select(['a', 'b']);
    clock.advance(200);
    h.select(['a', 'b', 'ghost']);
    expect(h.selection).toEqual(['a', 'b']);
    expect(h.entries).toHaveLength(1);
    h.undo();
    expect(h.selection).toEqual([]);
  });
});

describe('dirty and save', () => {
  it('is clean at the saved state, dirty after edits, clean again when undone to it; selection does not count', () => {
    const { h, clock } = make();
    expect(h.dirty).toBe(false);
    h.select(['a']);
    expect(h.dirty).toBe(false);
    clock.advance(2000);
    h.apply(move('a', 1));
    expect(h.dirty).toBe(true);
    h.markSaved();
    expect(h.dirty).toBe(false);
    h.apply(move('a', 2)); // a save seals the step: this is a new one
    expect(h.entries).toHaveLength(3);
    expect(h.dirty).toBe(true);
    h.undo();
    expect(h.dirty).toBe(false);
    h.undo();
    expect(h.dirty).toBe(true);
  });

  it('reset starts over from a document changed outside the editor', () => {
    const { h } = make();
    h.apply(move('a', 1));
    h.reset(start());
    expect(h.entries).toHaveLength(0);
    expect(h.dirty).toBe(false);
    expect(h.canUndo).toBe(false);
  });
});

describe('persistence', () => {
  it('survives JSON: after a reload the history undoes and redoes the same', () => {
    const { h, clock } = make();
    h.select(['a']);
    clock.advance(2000);
    h.begin('Drag');
    h.apply(move('a', 4));
    h.end();
    h.apply({ op: 'add', entity: { id: 'd', parent: 'a', components: { light: {} } } });
    h.apply({ op: 'reparent', entity: 'c', parent: 'a' });
    h.undo();
    h.markSaved();
    const stored = JSON.stringify(h);
    const again = SceneHistory.fromJSON(JSON.parse(stored));
    expect(text(again)).toBe(text(h));
    expect(again.selection).toEqual(h.selection);
    expect(again.position).toBe(h.position);
    expect(again.dirty).toBe(false);
    again.redo();
    expect(again.doc.entities.find((e) => e.id === 'c')!.parent).toBe('a');
    while (again.undo());
    expect(text(again)).toBe(canonicalSceneText(start()));
    expect(again.selection).toEqual([]);
  });

  it('remembers the hash of the file it belongs to, so a reload over a changed file starts afresh', () => {
    const h = new SceneHistory(start(), { fileHash: 'aaa' });
    h.apply(move('a', 1));
    expect(SceneHistory.fromJSON(JSON.parse(JSON.stringify(h))).fileHash).toBe('aaa');
    h.markSaved('bbb');
    const again = SceneHistory.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(again.fileHash).toBe('bbb');
    expect(again.dirty).toBe(false);
    again.reset(start(), 'ccc');
    expect(again.fileHash).toBe('ccc');
  });

  it('stores the document before an open gesture', () => {
    const { h } = make();
    h.begin('Drag');
    h.apply(move('a', 9));
    const j = h.toJSON();
    expect(j.doc.entities[0]!.components.transform!.position[0]).toBe(0);
  });

  it.each<[unknown, RegExp]>([
    [{}, /not a keel-history/],
    [{ format: 'keel-history', version: 1, doc: { entities: [] }, steps: [], index: 2 }, /index out of range/],
    [{ format: 'keel-history', version: 1, doc: { entities: [] }, steps: [{ edit: { op: 'zap' }, inverse: { op: 'batch', edits: [] }, selectionBefore: [], selectionAfter: [] }], index: 1 }, /steps\[0\]\.edit: unknown op "zap"/],
  ])('fromJSON refuses %j', (json, message) => {
    expect(() => SceneHistory.fromJSON(json)).toThrowError(message);
  });
});

describe('a live world mirrors the document through the change events', () => {
  it('every apply, undo, redo and cancel reaches the simulation, which ends where the document is', () => {
    const { h, clock } = make();
    const sim = new Simulation({ scene: h.doc, mode: 'editor', logger: recordingLogger() });
    h.on((c) => {
      if (c.kind !== 'select' && c.kind !== 'reset') sim.applyEdit(c.edit);
    });
    h.apply(move('a', 3));
    clock.advance(2000);
    h.apply({ op: 'reparent', entity: 'b', parent: 'a' });
    h.begin('Drag');
    h.apply(move('a', 8));
    h.cancel();
    h.undo();
    h.redo();
    h.undo();
    expect(canonicalSceneText(sim.scene)).toBe(text(h));
    expect(sim.world.get('a')!.position[0]).toBe(3);
    expect(sim.world.get('b')!.parent).toBeNull();
  });
});
