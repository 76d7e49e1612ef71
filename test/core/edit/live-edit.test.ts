/**
 * The same edit scripts applied to a scene document and to a running Simulation: the world
 * ends up where the edited document puts it, and physics, poses and scripts follow each edit.
 */
import { describe, expect, it } from 'vitest';
import { applySceneEdits, docWorldPose, SceneEditError, type SceneEdit } from '../../../runtime/core/edit/scene-edit.js';
import { applyLiveEdit } from '../../../runtime/core/edit/live-edit.js';
import { sameJson } from '../../../runtime/core/edit/pointer.js';
import { eulerDegFromQuat, quatFromEulerDeg } from '../../../runtime/core/math/vec.js';
import { SceneError } from '../../../runtime/core/scene/validate.js';
import type { SceneDocument } from '../../../runtime/core/scene/schema.js';
import type { ScriptDefinition } from '../../../runtime/core/scripts/script.js';
import { Simulation } from '../../../runtime/core/sim/simulation.js';
import { loadScene, recordingLogger } from '../helpers.js';

const DT = 1 / 60;
const close = (a: readonly number[], b: readonly number[], digits = 6) => b.forEach((v, i) => expect(a[i], `component ${i} of [${a.join(', ')}]`).toBeCloseTo(v, digits));

function makeSim(scene: SceneDocument, scripts: Record<string, ScriptDefinition> = {}) {
  const logger = recordingLogger();
  const sim = new Simulation({ scene, mode: 'server', logger, scripts: new Map(Object.entries(scripts)) });
  const run = (n: number) => {
    for (let i = 0; i < n; i++) sim.tick(DT, sim.tickNumber + 1);
  };
  return { sim, logger, run };
}

const box = (id: string, position: number[], type: 'static' | 'dynamic' | 'kinematic' = 'static', size = [1, 1, 1], extra: Record<string, unknown> = {}) => ({
  id,
  ...extra,
  components: { transform: { position }, rigidBody: { type }, collider: { shape: 'box', size } },
});
const floor = box('floor', [0, -0.5, 0], 'static', [40, 1, 40]);

const base = () =>
  loadScene([
    floor,
    box('crate', [0, 3, 0]),
    { id: 'arm', components: { transform: { position: [5, 1, 0] } } },
    box('hand', [1, 0, 0], 'kinematic', [0.2, 0.2, 0.2], { parent: 'arm' }),
    { id: 'marker', parent: 'hand', components: { transform: { position: [0, 1, 0] } } },
    box('shelf', [-5, 2, 0], 'static', [2, 0.2, 2]),
    { id: 'post', components: { transform: { position: [8, 0, 3], rotation: [0, 30, 0] } } },
  ]);

/** The live world matches `doc`: same entities, components, and poses where nothing simulated moved them. */
function expectWorldMatches(sim: Simulation, doc: SceneDocument) {
  expect([...sim.world.values()].map((e) => e.id)).toEqual(doc.entities.map((e) => e.id));
  expect(sameJson(sim.scene, doc)).toBe(true);
  for (const e of doc.entities) {
    const live = sim.world.get(e.id)!;
    expect(sameJson(live.components, e.components), e.id).toBe(true);
    expect(live.parent, e.id).toBe(e.parent ?? null);
    const [p, q] = docWorldPose(doc, e.id);
    close(live.position, p);
    close(live.rotation, q);
  }
}

/** Edit scripts the editor could send, each checked against the document applying the same edits. */
const scripts: [string, SceneEdit[]][] = [
  ['move a parent', [{ op: 'set', entity: 'arm', path: '/components/transform/position', value: [5, 3, 2] }]],
  ['turn a parent', [{ op: 'set', entity: 'arm', path: '/components/transform/rotation', value: [0, 90, 0] }]],
  ['reparent keeping world pose', [{ op: 'reparent', entity: 'crate', parent: 'hand' }]],
  ['reparent to the root', [{ op: 'reparent', entity: 'marker', parent: null }]],
  ['reparent under a turned entity', [{ op: 'reparent', entity: 'shelf', parent: 'post' }]],
  ['remove a transform', [{ op: 'unset', entity: 'hand', path: '/components/transform' }]],
  ['rename and tag', [{ op: 'set', entity: 'crate', path: '/name', value: 'Big crate' }, { op: 'set', entity: 'crate', path: '/tags', value: ['loot'] }]],
  ['add and remove', [{ op: 'add', entity: box('new', [1, 1, 1], 'static', [1, 1, 1], { parent: 'arm' }), before: 'crate' }, { op: 'remove', entity: 'shelf' }]],
  ['reorder', [{ op: 'reorder', entity: 'post', before: 'floor' }]],
  ['remove a subtree', [{ op: 'remove', entity: 'arm' }]],
  [
    'bulk move as one batch',
    [{ op: 'batch', edits: ['crate', 'shelf', 'post'].map((id) => ({ op: 'set', entity: id, path: '/components/transform/position/1', value: 7 }) as SceneEdit) }],
  ],
];

describe('the same edits on a document and on a live simulation', () => {
  it.each(scripts)('%s: the world matches the edited document, and the inverses restore both', (_name, edits) => {
    const start = base();
    const { sim } = makeSim(start);
    const expected = applySceneEdits(start, edits).doc;
    const inverses = edits.map((e) => applyLiveEdit(sim, e));
    expectWorldMatches(sim, expected);
    for (const inv of inverses.reverse()) sim.applyEdit(inv);
    expectWorldMatches(sim, start);
  });
});

describe('physics follows edits', () => {
  it('a static crate made dynamic falls', () => {
    const { sim, run } = makeSim(base());
    run(10);
    expect(sim.world.get('crate')!.position[1]).toBe(3);
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'dynamic' });
    run(30);
    expect(sim.world.get('crate')!.position[1]).toBeLessThan(2.5);
  });

  it('a dynamic body made static stops', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'dynamic' });
    run(10);
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'static' });
    const y = sim.world.get('crate')!.position[1];
    run(20);
    expect(sim.world.get('crate')!.position[1]).toBe(y);
  });

  it('removing a collider removes the shape: what rested on it falls through', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'add', entity: { id: 'ball', components: { transform: { position: [-5, 2.6, 0] }, rigidBody: { type: 'dynamic' }, collider: { shape: 'sphere', radius: 0.5 } } } });
    run(90);
    const resting = sim.world.get('ball')!.position[1];
    expect(resting).toBeGreaterThan(2.4); // on the shelf (top at 2.1)
    sim.applyEdit({ op: 'unset', entity: 'shelf', path: '/components/collider' });
    run(60);
    expect(sim.world.get('ball')!.position[1]).toBeLessThan(1.5);
  });

  it('a bigger collider pushes a resting body up; a new friction keeps the body', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'add', entity: { id: 'ball', components: { transform: { position: [-5, 2.6, 0] }, rigidBody: { type: 'dynamic' }, collider: { shape: 'sphere', radius: 0.5 } } } });
    run(90);
    sim.applyEdit({ op: 'set', entity: 'shelf', path: '/components/collider/size', value: [2, 1.2, 2] });
    run(60);
    expect(sim.world.get('ball')!.position[1]).toBeGreaterThan(2.9); // shelf top now at 2.6
    sim.applyEdit({ op: 'set', entity: 'shelf', path: '/components/collider/friction', value: 0.9 });
    expect(sim.physics.hasBody('shelf')).toBe(true);
  });

  it('moving a parent moves its children and their bodies (a kinematic child stays where it was put)', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'set', entity: 'arm', path: '/components/transform/position', value: [0, 10, 0] });
    close(sim.world.get('hand')!.position, [1, 10, 0]);
    close(sim.world.get('marker')!.position, [1, 11, 0]);
    // Physics copies kinematic bodies' poses back every step: had the body stayed behind, the hand would jump back.
    run(5);
    close(sim.world.get('hand')!.position, [1, 10, 0]);
    close(sim.world.get('marker')!.position, [1, 11, 0]);
  });

  it('a child follows a parent that physics moves', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'set', entity: 'arm', path: '/components/rigidBody', value: { type: 'dynamic' } });
    sim.applyEdit({ op: 'set', entity: 'arm', path: '/components/collider', value: { shape: 'sphere', radius: 0.3 } });
    run(20);
    const arm = sim.world.get('arm')!;
    expect(arm.position[1]).toBeLessThan(1);
    close(sim.world.get('marker')!.position, [arm.position[0] + 1, arm.position[1] + 1, arm.position[2]], 3);
  });

  it('a reparented entity keeps its world pose, then moves with its new parent', () => {
    const { sim } = makeSim(base());
    const before = [...sim.world.get('shelf')!.position];
    sim.applyEdit({ op: 'reparent', entity: 'shelf', parent: 'post' });
    close(sim.world.get('shelf')!.position, before);
    sim.applyEdit({ op: 'set', entity: 'post', path: '/components/transform/position/1', value: 4 });
    close(sim.world.get('shelf')!.position, [before[0]!, before[1]! + 4, before[2]!]);
  });

  it('placing a dynamic body puts it there at rest', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'dynamic' });
    run(20);
    expect(sim.physics.getLinearVelocity('crate')[1]).toBeLessThan(-1);
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/transform/position', value: [3, 6, 0] });
    expect(sim.world.get('crate')!.position).toEqual([3, 6, 0]);
    expect(sim.physics.getLinearVelocity('crate')).toEqual([0, 0, 0]);
  });

  it('gravity follows the settings', () => {
    const { sim, run } = makeSim(base());
    sim.applyEdit({ op: 'set', path: '/settings/gravity', value: [0, 0, 0] });
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'dynamic' });
    run(30);
    expect(sim.world.get('crate')!.position[1]).toBeCloseTo(3, 6);
  });

  it('removing an entity removes its body and its children; undo brings them back', () => {
    const { sim } = makeSim(base());
    const inverse = sim.applyEdit({ op: 'remove', entity: 'arm' });
    expect(sim.physics.hasBody('hand')).toBe(false);
    expect(sim.world.get('marker')).toBeUndefined();
    sim.applyEdit(inverse);
    expect(sim.physics.hasBody('hand')).toBe(true);
    close(sim.world.get('marker')!.position, [6, 2, 0]);
  });
});

describe('scripts follow edits', () => {
  const calls: string[] = [];
  const tracer: ScriptDefinition = {
    start: (ctx) => void calls.push(`start:${ctx.entity.id}:${String(ctx.props.n)}`),
    destroy: (ctx) => void calls.push(`destroy:${ctx.entity.id}:${String(ctx.props.n)}`),
    update: (ctx) => void calls.push(`update:${ctx.entity.id}`),
  };
  const script = (n: number) => ({ module: 'tracer.js', props: { n }, modes: ['server'] });

  it('adding, changing and removing a script starts, restarts and destroys it', () => {
    calls.length = 0;
    const { sim, run } = makeSim(base(), { 'tracer.js': tracer });
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/script', value: script(1) });
    run(1);
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/script/props/n', value: 2 });
    run(1);
    sim.applyEdit({ op: 'unset', entity: 'crate', path: '/components/script' });
    run(1);
    expect(calls).toEqual(['start:crate:1', 'update:crate', 'destroy:crate:1', 'start:crate:2', 'update:crate', 'destroy:crate:2']);
  });

  it('scripts update in document order after a reorder, and see a new name', () => {
    calls.length = 0;
    const { sim, run } = makeSim(base(), { 'tracer.js': tracer });
    sim.applyEdit({
      op: 'batch',
      edits: [
        { op: 'set', entity: 'crate', path: '/components/script', value: script(1) },
        { op: 'set', entity: 'shelf', path: '/components/script', value: script(1) },
      ],
    });
    run(1);
    calls.length = 0;
    sim.applyEdit({ op: 'reorder', entity: 'shelf', before: 'crate' });
    run(1);
    expect(calls).toEqual(['update:shelf', 'update:crate']);
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/name', value: 'Renamed' });
    expect(sim.scripts.count).toBe(2);
    expect(sim.world.get('crate')!.name).toBe('Renamed');
  });
});

describe('refusals change nothing', () => {
  it('an edit that leaves an entity invalid throws SceneError with the pointer, and world and document stay', () => {
    const { sim } = makeSim(base());
    const doc = sim.scene;
    const version = sim.world.get('crate')!.version;
    expect(() => sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/type', value: 'floaty' })).toThrowError(SceneError);
    try {
      sim.applyEdit({ op: 'set', entity: 'crate', path: '/components/rigidBody/mass', value: -1 });
    } catch (err) {
      expect((err as SceneError).problems[0]!.pointer).toBe('/entities/1/components/rigidBody/mass');
    }
    expect(sim.scene).toBe(doc);
    expect(sim.world.get('crate')!.version).toBe(version);
  });

  it('an edit naming an entity that does not exist throws SceneEditError', () => {
    const { sim } = makeSim(base());
    expect(() => sim.applyEdit({ op: 'remove', entity: 'ghost' })).toThrowError(SceneEditError);
  });

  it('an entity the running game removed is not brought back by an edit of it', () => {
    const { sim } = makeSim(base());
    sim.world.remove('crate');
    sim.applyEdit({ op: 'set', entity: 'crate', path: '/name', value: 'x' });
    expect(sim.world.get('crate')).toBeUndefined();
    expect(sim.scene.entities.find((e) => e.id === 'crate')!.name).toBe('x');
  });
});

describe('delta reload (syncTo)', () => {
  it('changes only the entities that differ in a freshly parsed document', () => {
    const { sim } = makeSim(base());
    const versions = new Map([...sim.world.values()].map((e) => [e.id, e.version]));
    const next = JSON.parse(JSON.stringify(sim.scene)) as SceneDocument;
    next.entities.find((e) => e.id === 'shelf')!.components.transform!.position = [-5, 4, 0];
    sim.syncTo(next);
    const moved = [...sim.world.values()].filter((e) => e.version !== versions.get(e.id)).map((e) => e.id);
    expect(moved).toEqual(['shelf']);
    close(sim.world.get('shelf')!.position, [-5, 4, 0]);
  });
});

describe('rotation helpers', () => {
  it('eulerDegFromQuat inverts quatFromEulerDeg', () => {
    for (const e of [[10, 20, 30], [-80, 45, 170], [0, 90, 0], [0, -90, 45], [179, -1, -179]] as [number, number, number][]) {
      close(quatFromEulerDeg(eulerDegFromQuat(quatFromEulerDeg(e))).map((v, i, q) => v * Math.sign(q[3] || 1)), quatFromEulerDeg(e).map((v, i, q) => v * Math.sign(q[3] || 1)), 9);
    }
  });
});
