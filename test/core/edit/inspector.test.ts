/**
 * The inspector model comes from the schema alone: every field of the scene schema gets the
 * right control, limits and units; a field and a component added to a test schema show up with
 * no other code; a selection shows shared values, "mixed", and each value's document pointer.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { applySceneEdit } from '../../../runtime/core/edit/scene-edit.js';
import { componentDescriptors, defaultValue, fieldsOf, fieldsToFill, inspectSelection, setFieldEdit, type FieldDescriptor, type SchemaNode } from '../../../runtime/core/edit/inspector.js';
import { ComponentsSchema, TransformSchema } from '../../../runtime/core/scene/schema.js';
import { validateEntity } from '../../../runtime/core/scene/validate.js';
import { loadScene } from '../helpers.js';

const components = componentDescriptors();
const comp = (name: string) => components.find((c) => c.name === name)!;
/** The field at `path` (keys below the component), through objects and variants. */
function field(component: string, path: string[], variant?: string): FieldDescriptor {
  let fields = variant ? comp(component).field.variants![variant]! : fieldsOf(comp(component).field, {});
  let f: FieldDescriptor | undefined;
  for (const key of path) {
    f = fields.find((x) => x.key === key);
    if (!f) throw new Error(`no field ${key} in ${component}`);
    fields = f.fields ?? [];
  }
  return f!;
}

describe('descriptors of the scene schema', () => {
  it('lists every component in schema order', () => {
    expect(components.map((c) => c.name)).toEqual(['transform', 'mesh', 'material', 'rigidBody', 'collider', 'script', 'light', 'camera', 'spawnPoint']);
    expect(comp('rigidBody').label).toBe('Rigid body');
  });

  it('gives vectors with units and one number per axis', () => {
    const pos = field('transform', ['position']);
    expect(pos).toMatchObject({ kind: 'vector', pointer: '/components/transform/position', units: 'm', default: [0, 0, 0] });
    expect(pos.items!.map((i) => [i.label, i.kind, i.pointer, i.units])).toEqual([
      ['X', 'number', '/components/transform/position/0', 'm'],
      ['Y', 'number', '/components/transform/position/1', 'm'],
      ['Z', 'number', '/components/transform/position/2', 'm'],
    ]);
    expect(field('transform', ['rotation']).units).toBe('°');
  });

  it('gives numbers their limits, step and units', () => {
    expect(field('material', ['roughness'])).toMatchObject({ kind: 'number', min: 0, max: 1, step: 0.01, default: 0.8 });
    expect(field('rigidBody', ['mass'])).toMatchObject({ kind: 'number', min: 0, units: 'kg', default: 1 });
    expect(field('camera', ['fov'])).toMatchObject({ kind: 'number', min: 0, exclusiveMin: true, max: 180, exclusiveMax: true, units: '°' });
  });

  it('gives colours, enums, booleans, strings, assets, scripts, records and flags their controls', () => {
    expect(field('material', ['color'])).toMatchObject({ kind: 'color', default: '#cccccc' });
    expect(field('rigidBody', ['type'])).toMatchObject({ kind: 'enum', options: ['static', 'dynamic', 'kinematic'], default: 'static' });
    expect(field('rigidBody', ['fixedRotation'])).toMatchObject({ kind: 'boolean', default: false });
    expect(field('spawnPoint', ['team'])).toMatchObject({ kind: 'string', optional: true });
    expect(field('collider', ['asset'], 'heightfield')).toMatchObject({ kind: 'asset', pointer: '/components/collider/asset' });
    expect(field('script', ['module'])).toMatchObject({ kind: 'script' });
    expect(field('script', ['props'])).toMatchObject({ kind: 'record', item: { kind: 'json' } });
    expect(field('script', ['modes'])).toMatchObject({ kind: 'flags', options: ['client', 'server', 'editor'] });
  });

  it('describes tagged unions as variants with the fields of each', () => {
    const collider = comp('collider').field;
    expect(collider).toMatchObject({ kind: 'variant', tag: 'shape', options: ['box', 'sphere', 'cylinder', 'plane', 'heightfield'] });
    expect(fieldsOf(collider, { shape: 'sphere' }).map((f) => f.key)).toEqual(['shape', 'offset', 'friction', 'restitution', 'trigger', 'radius']);
    expect(fieldsOf(comp('mesh').field, { shape: 'plane' }).map((f) => [f.key, f.kind])).toEqual([['shape', 'enum'], ['size', 'vector']]);
  });

  it('builds a valid default value for every component ("Add component"), once its fields to fill are filled', () => {
    expect(components.filter((c) => fieldsToFill(c.field).length > 0).map((c) => [c.name, fieldsToFill(c.field).map((f) => f.key)])).toEqual([['script', ['module']]]);
    expect(fieldsToFill(comp('collider').field, 'heightfield').map((f) => f.key)).toEqual(['asset']);
    for (const c of components) {
      const value = defaultValue(c.field) as Record<string, unknown>;
      for (const f of fieldsToFill(c.field)) value[f.key] = 'picked.js';
      const r = validateEntity({ id: 'x', components: { [c.name]: value } }, 'x');
      expect(r.ok, `${c.name}: ${JSON.stringify(value)} ${r.ok ? '' : JSON.stringify(r.problems)}`).toBe(true);
    }
    expect(defaultValue(comp('collider').field, 'sphere')).toEqual({ shape: 'sphere', offset: [0, 0, 0], friction: 0.4, restitution: 0.1, trigger: false, radius: 0.5 });
  });
});

describe('a schema that grows needs no inspector code', () => {
  // A test schema: the scene's components plus a new field on transform and a new component.
  const TestTransform = Type.Object({ ...TransformSchema.properties, pivot: Type.Tuple([Type.Number(), Type.Number(), Type.Number()], { default: [0, 0, 0], units: 'm', description: 'Rotation pivot' }) });
  const Health = Type.Object({
    max: Type.Integer({ minimum: 1, maximum: 1000, default: 100, units: 'hp' }),
    regenerates: Type.Boolean({ default: true }),
    team: Type.Unsafe<string>({ type: 'string', enum: ['red', 'blue'], default: 'red' }),
    tint: Type.String({ control: 'color', default: '#ff0000' }),
  });
  const TestComponents = Type.Object({ ...ComponentsSchema.properties, transform: Type.Optional(TestTransform), health: Type.Optional(Health) });
  const described = componentDescriptors(TestComponents as unknown as SchemaNode);

  it('shows the new field and the new component with their controls', () => {
    const transform = described.find((c) => c.name === 'transform')!;
    expect(fieldsOf(transform.field, {}).find((f) => f.key === 'pivot')).toMatchObject({ kind: 'vector', units: 'm', pointer: '/components/transform/pivot', description: 'Rotation pivot' });
    const health = described.find((c) => c.name === 'health')!;
    expect(fieldsOf(health.field, {}).map((f) => [f.key, f.kind, f.pointer])).toEqual([
      ['max', 'number', '/components/health/max'],
      ['regenerates', 'boolean', '/components/health/regenerates'],
      ['team', 'enum', '/components/health/team'],
      ['tint', 'color', '/components/health/tint'],
    ]);
    expect(fieldsOf(health.field, {})[0]).toMatchObject({ integer: true, step: 1, min: 1, max: 1000, units: 'hp' });
    expect(defaultValue(health.field)).toEqual({ max: 100, regenerates: true, team: 'red', tint: '#ff0000' });
  });

  it('inspects and edits the new component in a document like any other', () => {
    const doc = loadScene([{ id: 'a', components: {} }, { id: 'b', components: {} }]);
    // Documents with the new component (as a loader for the test schema would give them).
    const withHealth = { ...doc, entities: doc.entities.map((e, i) => ({ ...e, components: { ...e.components, health: { max: 100 + i, regenerates: true } } })) };
    const view = inspectSelection(withHealth as never, ['a', 'b'], described);
    const health = view.find((v) => v.component.name === 'health')!;
    const max = health.fields.find((f) => f.field.key === 'max')!;
    expect(max).toMatchObject({ mixed: true, pointers: ['/entities/0/components/health/max', '/entities/1/components/health/max'] });
    expect(health.fields.find((f) => f.field.key === 'regenerates')).toMatchObject({ mixed: false, value: true });
    const edited = applySceneEdit(withHealth as never, setFieldEdit(['a', 'b'], max.field, 250)).doc;
    expect(edited.entities.map((e) => (e.components as Record<string, any>).health.max)).toEqual([250, 250]);
  });
});

describe('inspecting a selection', () => {
  const doc = loadScene([
    { id: 'floor', components: { transform: {}, collider: { shape: 'box' } } },
    { id: 'c1', components: { transform: { position: [1, 2, 3] }, collider: { shape: 'sphere' } } },
    { id: 'c2', components: { transform: { position: [1, 5, 3] }, collider: { shape: 'sphere', radius: 2 } } },
    { id: 'lamp', components: { light: {} } },
  ]);

  it('shows the components all selected entities share, with each value pointer', () => {
    const view = inspectSelection(doc, ['c1', 'c2']);
    expect(view.map((v) => v.component.name)).toEqual(['transform', 'collider']);
    const pos = view[0]!.fields.find((f) => f.field.key === 'position')!;
    expect(pos.mixed).toBe(true);
    expect(pos.pointers).toEqual(['/entities/1/components/transform/position', '/entities/2/components/transform/position']);
    const radius = view[1]!.fields.find((f) => f.field.key === 'radius')!;
    expect(radius).toMatchObject({ mixed: true });
    expect(view[1]!.fields.find((f) => f.field.key === 'friction')).toMatchObject({ mixed: false, value: 0.4 });
  });

  it('shows only the shape of a component whose variants differ', () => {
    const view = inspectSelection(doc, ['floor', 'c1']);
    const collider = view.find((v) => v.component.name === 'collider')!;
    expect(collider.fields.map((f) => [f.field.key, f.field.kind, f.mixed])).toEqual([['shape', 'enum', true]]);
    expect(inspectSelection(doc, ['floor', 'lamp'])).toEqual([]);
  });
});
