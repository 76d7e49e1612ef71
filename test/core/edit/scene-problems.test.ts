/**
 * The editor's incremental check: after any sequence of scene edits it reports the same problems
 * as validating the whole document, while each entity object is checked once.
 */
import { describe, expect, it } from 'vitest';
import { applySceneEdit, type SceneEdit } from '../../../runtime/core/edit/scene-edit.js';
import { SceneProblemCache } from '../../../runtime/core/edit/scene-problems.js';
import type { SceneDocument } from '../../../runtime/core/scene/schema.js';
import { validateScene, type SceneProblem } from '../../../runtime/core/scene/validate.js';
import { loadScene } from '../helpers.js';

const FILE = 'scenes/t.json';
const key = (p: SceneProblem) => `${p.pointer} ${p.rule} ${p.message}`;
const full = (doc: SceneDocument) => {
  const r = validateScene(doc, FILE);
  return r.ok ? [] : r.problems.map(key).sort();
};

describe('SceneProblemCache', () => {
  it('matches whole-document validation through a sequence of edits', () => {
    let doc = loadScene([
      { id: 'a', components: { transform: { position: [0, 0, 0] } } },
      { id: 'b', parent: 'a', components: { transform: { position: [1, 0, 0] } } },
      { id: 'c', components: { mesh: { shape: 'box' } } },
    ]);
    const cache = new SceneProblemCache();
    expect(cache.problems(doc, FILE)).toEqual([]);
    const edits: SceneEdit[] = [
      { op: 'set', entity: 'b', path: '/components/transform/position/1', value: 2 },
      { op: 'set', entity: 'c', path: '/components/mesh/shape', value: 'blob' },
      { op: 'set', entity: 'a', path: '/components/script', value: { module: '../escape.js' } },
      { op: 'set', entity: 'b', path: '/name', value: '' },
      { op: 'reparent', entity: 'a', parent: 'b' },
      { op: 'add', entity: { id: 'd', parent: 'ghost', components: {} } },
      { op: 'set', entity: 'c', path: '/components/mesh/shape', value: 'box' },
      { op: 'set', path: '/name', value: 'x'.repeat(300) },
    ];
    let sawProblems = 0;
    for (const edit of edits) {
      try {
        doc = applySceneEdit(doc, edit).doc;
      } catch {
        continue; // an edit the document refuses outright changes nothing
      }
      const got = cache.problems(doc, FILE).map(key).sort();
      expect(got).toEqual(full(doc));
      if (got.length > 0) sawProblems++;
    }
    expect(sawProblems).toBeGreaterThan(3);
  });

  it('reports an entity problem at its current index after entities before it are removed', () => {
    let doc = loadScene([
      { id: 'a', components: {} },
      { id: 'b', components: { transform: { position: [0, 0, 0] } } },
    ]);
    const cache = new SceneProblemCache();
    doc = applySceneEdit(doc, { op: 'set', entity: 'b', path: '/components/rigidBody', value: { type: 'floaty' } }).doc;
    expect(cache.problems(doc, FILE).map((p) => p.pointer)).toContain('/entities/1/components/rigidBody/type');
    doc = applySceneEdit(doc, { op: 'remove', entity: 'a' }).doc;
    expect(cache.problems(doc, FILE).map((p) => p.pointer)).toContain('/entities/0/components/rigidBody/type');
    expect(cache.problems(doc, FILE).map(key).sort()).toEqual(full(doc));
  });
});
