import { describe, expect, it, vi } from 'vitest';
import { SCENE_VERSION } from '../../../runtime/core/scene/format.js';
import {
  defaultComponent,
  formatProblem,
  parseSceneText,
  SceneError,
  validateEntity,
  validateScene,
  type SceneProblem,
  type SceneValidation,
} from '../../../runtime/core/scene/validate.js';
import { sceneDoc } from '../helpers.js';

const FILE = 'scenes/x.json';

function problemsOf(r: SceneValidation): SceneProblem[] {
  if (r.ok) throw new Error('expected the scene to be rejected');
  return r.problems;
}
const validate = (entities: unknown[], extra: Record<string, unknown> = {}) => validateScene(sceneDoc(entities, extra), FILE);
const rules = (r: SceneValidation) => problemsOf(r).map((p) => [p.rule, p.pointer]);

describe('validateScene: valid scenes and defaults', () => {
  it('accepts a minimal scene and fills settings defaults', () => {
    const r = validate([]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.scene.settings).toEqual({ gravity: [0, -9.81, 0], tickRate: 60, maxPlayers: 16 });
    expect(r.scene.entities).toEqual([]);
    expect(r.migratedFrom).toBeNull();
  });

  it('fills component defaults, including the sphere radius chosen by the mesh discriminator', () => {
    const r = validate([{ id: 'a', components: { transform: {}, mesh: { shape: 'sphere' }, rigidBody: {} } }]);
    if (!r.ok) throw new SceneError(r.problems);
    const c = r.scene.entities[0]!.components;
    expect(c.transform).toEqual({ position: [0, 0, 0], rotation: [0, 0, 0], scale: [1, 1, 1] });
    expect(c.mesh).toEqual({ shape: 'sphere', radius: 0.5 });
    expect(c.rigidBody).toEqual({
      type: 'static',
      mass: 1,
      linearDamping: 0.01,
      angularDamping: 0.01,
      fixedRotation: false,
      allowSleep: true,
    });
  });

  it('applies the defaults of the matching branch only (box mesh gets size, not radius)', () => {
    const r = validate([{ id: 'a', components: { mesh: { shape: 'box' }, collider: { shape: 'box', size: [2, 1, 2] } } }]);
    if (!r.ok) throw new SceneError(r.problems);
    const c = r.scene.entities[0]!.components;
    expect(c.mesh).toEqual({ shape: 'box', size: [1, 1, 1] });
    expect(c.collider).toMatchObject({ shape: 'box', size: [2, 1, 2], friction: 0.4, restitution: 0.1, trigger: false });
    expect(c.collider).not.toHaveProperty('radius');
  });

  it('keeps given values over defaults', () => {
    const r = validate([], { settings: { tickRate: 30, gravity: [0, -1, 0] } });
    if (!r.ok) throw new SceneError(r.problems);
    expect(r.scene.settings).toEqual({ gravity: [0, -1, 0], tickRate: 30, maxPlayers: 16 });
  });

  it('does not mutate its input', () => {
    const raw = sceneDoc([{ id: 'a', components: { rigidBody: {}, mesh: { shape: 'sphere' } } }]);
    const before = structuredClone(raw);
    const r = validateScene(raw, FILE);
    expect(r.ok).toBe(true);
    expect(raw).toEqual(before);
    expect(raw).not.toHaveProperty('settings');
  });
});

describe('validateScene: schema errors', () => {
  it('reports every error at once', () => {
    const r = validate([
      { id: 'a', components: { rigidBody: { mass: -1 } } },
      { id: 'b', components: { mesh: { shape: 'cone' } } },
      { id: 'c', components: { light: { kind: 'laser' } } },
    ]);
    expect(rules(r)).toEqual([
      ['minimum', '/entities/0/components/rigidBody/mass'],
      ['discriminator', '/entities/1/components/mesh/shape'],
      ['enum', '/entities/2/components/light/kind'],
    ]);
  });

  it('formats problems as "file pointer: message"', () => {
    const [p] = problemsOf(validate([{ id: 'a', components: { rigidBody: { mass: -1 } } }]));
    expect(formatProblem(p!)).toBe('scenes/x.json /entities/0/components/rigidBody/mass: must be >= 0');
    expect(formatProblem({ file: 'f.json', pointer: '', rule: 'type', message: 'bad' })).toBe('f.json /: bad');
  });

  it('SceneError carries every problem and joins them in its message', () => {
    const problems = problemsOf(validate([{ id: 'a', components: { rigidBody: { mass: -1, type: 'x' } } }]));
    const err = new SceneError(problems);
    expect(err.name).toBe('SceneError');
    expect(err.problems).toHaveLength(2);
    expect(err.message.split('\n')).toEqual(problems.map(formatProblem));
  });

  it('points at an unknown component and lists the allowed ones', () => {
    const [p, ...rest] = problemsOf(validate([{ id: 'a', components: { rigidbody: {} } }]));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ rule: 'additionalProperties', pointer: '/entities/0/components/rigidbody' });
    expect(p!.message).toContain('allowed: transform, mesh, material, rigidBody, collider, script');
  });

  it('rejects an unknown mesh shape, pointing at /shape and listing the shapes', () => {
    const [p, ...rest] = problemsOf(validate([{ id: 'a', components: { mesh: { shape: 'cone' } } }]));
    expect(rest).toEqual([]);
    expect(p!.pointer).toMatch(/\/shape$/);
    expect(p!.message).toBe('must be one of box, sphere, cylinder, capsule, plane, model (got "cone")');
  });

  it('reports a missing tag as required', () => {
    expect(rules(validate([{ id: 'a', components: { collider: { radius: 1 } } }]))).toEqual([
      ['required', '/entities/0/components/collider/shape'],
    ]);
  });

  it('rejects a bad rigidBody.type enum value', () => {
    const [p] = problemsOf(validate([{ id: 'a', components: { rigidBody: { type: 'floating' } } }]));
    expect(p).toMatchObject({ rule: 'enum', pointer: '/entities/0/components/rigidBody/type' });
    expect(p!.message).toBe('must be one of static, dynamic, kinematic (got "floating")');
  });

  it('rejects a bad id pattern and a missing id', () => {
    expect(rules(validate([{ id: 'has space', components: {} }, { components: {} }]))).toEqual([
      ['pattern', '/entities/0/id'],
      ['required', '/entities/1/id'],
    ]);
  });

  it('defaults a missing components object to {}', () => {
    const r = validate([{ id: 'b' }]);
    expect(r.ok && r.scene.entities[0]!.components).toEqual({});
  });

  it('rejects non-objects and wrong formats before anything else', () => {
    expect(rules(validateScene([], FILE))).toEqual([['type', '']]);
    expect(rules(validateScene(null, FILE))).toEqual([['type', '']]);
    const [p] = problemsOf(validateScene({ format: 'other-scene', version: 1 }, FILE));
    expect(p).toMatchObject({ rule: 'format', pointer: '/format' });
    expect(p!.message).toBe('must be "keel-scene" (got "other-scene")');
  });
});

describe('validateScene: rules beyond the schema', () => {
  it('reports duplicate ids at the second use', () => {
    const [p, ...rest] = problemsOf(validate([{ id: 'a', components: {} }, { id: 'a', components: {} }]));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ rule: 'duplicate-id', pointer: '/entities/1/id' });
    expect(p!.message).toContain('/entities/0');
  });

  it('reports an unknown parent', () => {
    expect(rules(validate([{ id: 'a', parent: 'ghost', components: {} }]))).toEqual([['unknown-parent', '/entities/0/parent']]);
  });

  it('accepts a null parent and a real one', () => {
    expect(validate([{ id: 'a', parent: null, components: {} }, { id: 'b', parent: 'a', components: {} }]).ok).toBe(true);
  });

  it('reports a two-entity parent cycle once', () => {
    const problems = problemsOf(validate([{ id: 'a', parent: 'b', components: {} }, { id: 'b', parent: 'a', components: {} }]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule: 'parent-cycle', pointer: '/entities/0/parent', message: 'parent chain loops: a -> b -> a' });
  });

  it('reports a self-parent as a cycle', () => {
    const [p] = problemsOf(validate([{ id: 'ok', components: {} }, { id: 'c', parent: 'c', components: {} }]));
    expect(p).toMatchObject({ rule: 'parent-cycle', pointer: '/entities/1/parent', message: 'parent chain loops: c -> c' });
  });

  it('rejects non-finite numbers, e.g. 1e999 parsed as Infinity', () => {
    const raw = JSON.parse(
      '{"format":"keel-scene","version":1,"name":"t","entities":[{"id":"a","components":{"transform":{"position":[0,1e999,0]}}}]}',
    ) as unknown;
    expect(rules(validateScene(raw, FILE))).toEqual([['finite', '/entities/0/components/transform/position/1']]);
    const nan = sceneDoc([], { settings: { gravity: [NaN, 0, -Infinity] } });
    expect(rules(validateScene(nan, FILE))).toEqual([
      ['finite', '/settings/gravity/0'],
      ['finite', '/settings/gravity/2'],
    ]);
  });

  it('leaves its input untouched and copies it as JSON would, unless the input is handed over', () => {
    const raw = sceneDoc([{ id: 'a', name: undefined, components: { transform: { position: [1, 2, 3] } } }]);
    const before = structuredClone(raw);
    const r = validateScene(raw, FILE);
    if (!r.ok) throw new Error('expected a valid scene');
    expect(raw).toEqual(before);
    expect(r.scene).not.toBe(raw);
    expect('name' in r.scene.entities[0]!).toBe(false);
    expect(r.scene.entities[0]!.components.transform).toEqual({ position: [1, 2, 3], rotation: [0, 0, 0], scale: [1, 1, 1] });

    const owned = sceneDoc([{ id: 'a', components: { transform: { position: [1, 2, 3] } } }]);
    const o = validateScene(owned, FILE, undefined, { owned: true });
    if (!o.ok) throw new Error('expected a valid scene');
    expect(o.scene).toBe(owned);
    expect(o.scene.entities[0]!.components.transform!.scale).toEqual([1, 1, 1]);
  });

  it('refuses nesting past the depth limit with the pointer of the first level too deep', () => {
    let props: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 70; i++) props = { n: props };
    const [p] = problemsOf(validate([{ id: 'a', components: { script: { module: 'a.js', props } } }]));
    expect(p!.rule).toBe('depth');
    expect(p!.pointer).toMatch(/^\/entities\/0\/components\/script\/props(\/n)+$/);
  });

  it.each(['../x.js', '/abs.js', 'a/../../x'])('rejects script module path %j escaping the root', (module) => {
    const [p, ...rest] = problemsOf(validate([{ id: 'a', components: { script: { module } } }]));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ rule: 'path-escape', pointer: '/entities/0/components/script/module' });
  });

  it.each(['../terrain.khf', '/etc/terrain.khf', 'a/../../t.khf'])('rejects heightfield asset path %j escaping the root', (asset) => {
    const r = validate([{ id: 't', components: { collider: { shape: 'heightfield', asset } } }]);
    expect(rules(r)).toEqual([['path-escape', '/entities/0/components/collider/asset']]);
  });

  it('accepts paths that stay inside the root', () => {
    const r = validate([
      { id: 'a', components: { script: { module: './scripts/../scripts/spin.js' } } },
      { id: 't', components: { collider: { shape: 'heightfield', asset: 'assets/t.khf' } } },
    ]);
    expect(r.ok).toBe(true);
  });
});

describe('validateScene: versions and migrations', () => {
  it('rejects version 0 as not a positive integer', () => {
    const [p] = problemsOf(validateScene(sceneDoc([], { version: 0 }), FILE));
    expect(p).toMatchObject({ rule: 'version', pointer: '/version', message: 'must be a positive integer (got 0)' });
  });

  it('rejects a version newer than this keel reads', () => {
    const [p] = problemsOf(validateScene(sceneDoc([], { version: SCENE_VERSION + 1 }), FILE));
    expect(p).toMatchObject({ rule: 'version', pointer: '/version' });
    expect(p!.message).toContain('newer');
  });

  it('does not run migrations for a current-version document', () => {
    const migrate = vi.fn((d: Record<string, unknown>) => d);
    const r = validateScene(sceneDoc([]), FILE, { [SCENE_VERSION]: migrate, [SCENE_VERSION - 1]: migrate });
    expect(r.ok && r.migratedFrom).toBeNull();
    expect(migrate).not.toHaveBeenCalled();
  });
});

describe('parseSceneText', () => {
  it('parses and validates good text', () => {
    const r = parseSceneText(JSON.stringify(sceneDoc([{ id: 'a', components: {} }])), FILE);
    expect(r.ok && r.scene.entities[0]!.id).toBe('a');
  });

  it('reports a missing comma as json-syntax with line and column', () => {
    const [p] = problemsOf(parseSceneText('{\n "a": 1\n "b": 2}', FILE));
    expect(p).toMatchObject({ file: FILE, pointer: '', rule: 'json-syntax' });
    expect(p!.message).toContain('line 3, column 2');
  });

  it('reports an unexpected token as json-syntax with line and column', () => {
    const [p] = problemsOf(parseSceneText('{\n "a": 1,\n "b": }', FILE));
    expect(p).toMatchObject({ pointer: '', rule: 'json-syntax' });
    expect(p!.message).toContain('line 3, column 7');
  });
});

describe('validateEntity and defaultComponent', () => {
  it('skips the parent check but keeps the parent', () => {
    const r = validateEntity({ id: 'child', parent: 'not-in-this-doc', components: { mesh: { shape: 'sphere' } } }, 'spawn');
    if (!r.ok) throw new SceneError(r.problems);
    expect(r.entity.parent).toBe('not-in-this-doc');
    expect(r.entity.components.mesh).toEqual({ shape: 'sphere', radius: 0.5 });
    expect(validateEntity({ id: 'self', parent: 'self', components: {} }, 'spawn').ok).toBe(true);
  });

  it('reports problems with pointers relative to the entity', () => {
    const r = validateEntity({ id: 'x', components: { rigidBody: { mass: -2 } } }, 'spawned entity "x"');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      { file: 'spawned entity "x"', pointer: '/components/rigidBody/mass', rule: 'minimum', message: 'must be >= 0' },
    ]);
  });

  it('gives components at their defaults, and refuses ones with required fields', () => {
    expect(defaultComponent('material')).toEqual({ color: '#cccccc', roughness: 0.8, metalness: 0, opacity: 1 });
    expect(defaultComponent('rigidBody').type).toBe('static');
    expect(() => defaultComponent('mesh')).toThrow(/required fields/);
  });
});
