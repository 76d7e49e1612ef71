/**
 * The inspector model, generated from the scene schema: walking a component's JSON Schema
 * (TypeBox schemas are JSON Schema) yields one descriptor per field with the control to draw,
 * its JSON pointer, limits, units, default and description. Adding a field or a component to
 * `runtime/core/scene/schema.ts` makes it editable with no editor code.
 *
 * Control kinds come from the schema alone:
 * - `control` annotation: 'color', 'asset', 'script' (pickers);
 * - `enum`: 'enum'; boolean: 'boolean'; number / integer: 'number' (with min/max/step/units);
 * - a tuple of numbers: 'vector' (one 'number' per item); an array of enum values with
 *   `uniqueItems`: 'flags'; any other array: 'list';
 * - an object with `patternProperties`/`additionalProperties` (a record): 'record' (key/value);
 *   an object with properties: 'object' (its fields); a tagged union (`discriminator`): 'variant';
 * - a string: 'string'; anything else: 'json'.
 * This module is pure data in, data out: the editor's UI renders the descriptors.
 */
import { ComponentsSchema } from '../scene/schema.js';
import type { EntityDocument, SceneDocument } from '../scene/schema.js';
import { formatPointer, getIn, parsePointer, sameJson } from './pointer.js';
import type { SceneEdit } from './scene-edit.js';

export type ControlKind =
  | 'number'
  | 'vector'
  | 'color'
  | 'enum'
  | 'boolean'
  | 'string'
  | 'asset'
  | 'script'
  | 'record'
  | 'flags'
  | 'list'
  | 'object'
  | 'variant'
  | 'json';

/** One editable field. `pointer` is relative to where the walk started (a component, usually). */
export interface FieldDescriptor {
  key: string;
  /** Human label from the key (`linearDamping` → `Linear damping`) or the schema's `title`. */
  label: string;
  pointer: string;
  kind: ControlKind;
  /** True when the field may be absent (not in `required`). */
  optional: boolean;
  description?: string;
  default?: unknown;
  units?: string;
  min?: number;
  max?: number;
  /** True when `min`/`max` are exclusive bounds. */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  step?: number;
  integer?: boolean;
  /** enum and flags: the allowed values. */
  options?: string[];
  maxLength?: number;
  /** vector: one number descriptor per item; list: the item descriptor; record: the value descriptor. */
  items?: FieldDescriptor[];
  item?: FieldDescriptor;
  /** object: the fields, in schema order. */
  fields?: FieldDescriptor[];
  /** variant: the tag field and the fields of each variant (tag included), by tag value. */
  tag?: string;
  variants?: Record<string, FieldDescriptor[]>;
}

/** A component the inspector can show and add. */
export interface ComponentDescriptor {
  name: string;
  label: string;
  description?: string;
  /** The component's own descriptor (kind 'object' or 'variant'), pointer `/components/<name>`. */
  field: FieldDescriptor;
}

/** The subset of JSON Schema the walk reads. */
export interface SchemaNode {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  units?: string;
  control?: string;
  step?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  maxLength?: number;
  enum?: unknown[];
  const?: unknown;
  uniqueItems?: boolean;
  items?: SchemaNode | SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  discriminator?: { propertyName: string };
}

/** Describes the field `schema` defines at `pointer` (named `key`). */
export function describeField(schema: SchemaNode, pointer = '', key = '', optional = false): FieldDescriptor {
  const base: FieldDescriptor = { key, label: schema.title ?? labelOf(key), pointer, kind: 'json', optional };
  if (schema.description !== undefined) base.description = schema.description;
  if (schema.default !== undefined) base.default = schema.default;
  if (schema.units !== undefined) base.units = schema.units;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;

  if (schema.control === 'color' || schema.control === 'asset' || schema.control === 'script') {
    return { ...base, kind: schema.control, ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}) };
  }
  if (schema.discriminator && schema.oneOf) {
    const tag = schema.discriminator.propertyName;
    const variants: Record<string, FieldDescriptor[]> = {};
    for (const v of schema.oneOf) {
      const value = v.properties?.[tag]?.const;
      if (typeof value === 'string') variants[value] = objectFields(v, pointer);
    }
    return { ...base, kind: 'variant', tag, options: Object.keys(variants), variants };
  }
  if (schema.enum) return { ...base, kind: 'enum', options: schema.enum.map(String) };
  if (schema.const !== undefined && typeof schema.const === 'string') return { ...base, kind: 'enum', options: [schema.const] };
  if (type === 'boolean') return { ...base, kind: 'boolean' };
  if (type === 'number' || type === 'integer') return { ...base, ...numberLimits(schema, type === 'integer'), kind: 'number' };
  if (type === 'string') return { ...base, kind: 'string', ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}) };
  if (type === 'array') {
    const items = schema.items;
    if (Array.isArray(items) && items.length > 0 && items.every((i) => i.type === 'number' || i.type === 'integer')) {
      return {
        ...base,
        kind: 'vector',
        items: items.map((item, i) => {
          const d = describeField({ ...(schema.units !== undefined ? { units: schema.units } : {}), ...item }, `${pointer}/${i}`, String(i));
          return { ...d, label: 'XYZW'[i] ?? String(i) };
        }),
      };
    }
    if (items && !Array.isArray(items) && items.enum && schema.uniqueItems) return { ...base, kind: 'flags', options: items.enum.map(String) };
    if (items && !Array.isArray(items)) return { ...base, kind: 'list', item: describeField(items, `${pointer}/-`, '') };
    return base;
  }
  if (type === 'object' || schema.properties || schema.patternProperties) {
    const record = schema.patternProperties ? Object.values(schema.patternProperties)[0] : typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    if (record && !schema.properties) return { ...base, kind: 'record', item: describeField(record, `${pointer}/*`, '') };
    return { ...base, kind: 'object', fields: objectFields(schema, pointer) };
  }
  // A union such as `string | null` (an entity's parent): the non-null branch decides.
  const branch = (schema.anyOf ?? schema.oneOf)?.find((b) => b.type !== 'null');
  if (branch) return { ...describeField(branch, pointer, key, optional), ...stripUndefined({ description: base.description, default: base.default }), label: base.label };
  return base;
}

function objectFields(schema: SchemaNode, pointer: string): FieldDescriptor[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([k, s]) => describeField(s, `${pointer}/${escape(k)}`, k, !required.has(k)));
}

function numberLimits(s: SchemaNode, integer: boolean): Partial<FieldDescriptor> {
  const out: Partial<FieldDescriptor> = {};
  if (integer) out.integer = true;
  if (s.minimum !== undefined) out.min = s.minimum;
  else if (s.exclusiveMinimum !== undefined) Object.assign(out, { min: s.exclusiveMinimum, exclusiveMin: true });
  if (s.maximum !== undefined) out.max = s.maximum;
  else if (s.exclusiveMaximum !== undefined) Object.assign(out, { max: s.exclusiveMaximum, exclusiveMax: true });
  // A slider over a closed range moves in hundredths of it; an open number in 0.01 (1 for integers).
  out.step = s.step ?? s.multipleOf ?? (integer ? 1 : out.min !== undefined && out.max !== undefined ? (out.max - out.min) / 100 : 0.01);
  return out;
}

/**
 * Every component of the schema (default: the scene's), in schema order, with pointers
 * `/components/<name>/…` relative to an entity.
 */
export function componentDescriptors(components: SchemaNode = ComponentsSchema as unknown as SchemaNode): ComponentDescriptor[] {
  return Object.entries(components.properties ?? {}).map(([name, schema]) => ({
    name,
    label: schema.title ?? labelOf(name),
    ...(schema.description !== undefined ? { description: schema.description } : {}),
    field: describeField(schema, `/components/${escape(name)}`, name, true),
  }));
}

/** The fields a value currently shows: for a variant, those of the variant its tag selects. */
export function fieldsOf(field: FieldDescriptor, value: unknown): FieldDescriptor[] {
  if (field.kind === 'object') return field.fields ?? [];
  if (field.kind === 'variant' && field.tag && field.variants) {
    const tag = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field.tag] : undefined;
    return field.variants[String(tag)] ?? [];
  }
  return [];
}

/** One control as the inspector draws it for a selection of entities. */
export interface FieldView {
  field: FieldDescriptor;
  /** The value when every selected entity has the same one. */
  value: unknown;
  /** True when the selected entities differ here (the control shows "mixed"). */
  mixed: boolean;
  /** The document pointer of this value in each selected entity, e.g. `/entities/3/components/transform/position/0`. */
  pointers: string[];
}

/**
 * The inspector for a selection: the components every selected entity has, each with its
 * fields' values (or mixed), and the document pointer of each control (for `data-pointer` and
 * for showing validation problems inline).
 */
export function inspectSelection(doc: SceneDocument, ids: readonly string[], components = componentDescriptors()): { component: ComponentDescriptor; fields: FieldView[] }[] {
  const index = new Map(doc.entities.map((e, i) => [e.id, i]));
  const selected = ids.flatMap((id) => (index.has(id) ? [{ entity: doc.entities[index.get(id)!]!, i: index.get(id)! }] : []));
  if (selected.length === 0) return [];
  const out: { component: ComponentDescriptor; fields: FieldView[] }[] = [];
  for (const c of components) {
    const values = selected.map(({ entity }) => (entity.components as Record<string, unknown>)[c.name]);
    if (values.some((v) => v === undefined)) continue;
    // Fields of a variant are shown only when every entity has the same variant.
    const shapes = c.field.kind === 'variant' ? new Set(values.map((v) => fieldsOf(c.field, v))) : null;
    const fields = shapes && shapes.size > 1 ? [] : fieldsOf(c.field, values[0]);
    const tagField = c.field.kind === 'variant' && shapes && shapes.size > 1 ? [{ ...c.field, kind: 'enum' as const, key: c.field.tag!, pointer: `${c.field.pointer}/${c.field.tag}` }] : [];
    out.push({ component: c, fields: [...tagField, ...fields].map((f) => view(f, selected)) });
  }
  return out;
}

function view(field: FieldDescriptor, selected: { entity: EntityDocument; i: number }[]): FieldView {
  const tokens = parsePointer(field.pointer);
  const values = selected.map(({ entity }) => getIn(entity, tokens));
  const mixed = values.some((v) => !sameJson(v, values[0]));
  return { field, value: mixed ? undefined : values[0], mixed, pointers: selected.map(({ i }) => `/entities/${i}${field.pointer}`) };
}

/**
 * The edit that sets `field` (pointer relative to an entity) to `value` on every entity in
 * `ids`: one step for the history, over stable ids.
 */
export function setFieldEdit(ids: readonly string[], field: Pick<FieldDescriptor, 'pointer'>, value: unknown): SceneEdit {
  const edits: SceneEdit[] = ids.map((id) => ({ op: 'set', entity: id, path: field.pointer, value }));
  return edits.length === 1 ? edits[0]! : { op: 'batch', edits };
}

/**
 * A component's value with every default filled in, built from its descriptor (what "Add
 * component" inserts); for a variant, the given (or first) variant.
 */
export function defaultValue(field: FieldDescriptor, variant?: string): unknown {
  if (field.kind === 'variant' && field.variants && field.tag) {
    const name = variant ?? field.options![0]!;
    const fields = field.variants[name] ?? [];
    return Object.fromEntries([[field.tag, name], ...fields.filter((f) => f.key !== field.tag && !f.optional).map((f) => [f.key, defaultValue(f)])]);
  }
  if (field.default !== undefined) return structuredCloneJson(field.default);
  if (field.kind === 'object') return Object.fromEntries((field.fields ?? []).filter((f) => !f.optional).map((f) => [f.key, defaultValue(f)]));
  if (field.kind === 'vector') return (field.items ?? []).map(() => 0);
  if (field.kind === 'number') return field.min ?? 0;
  if (field.kind === 'boolean') return false;
  if (field.kind === 'enum' || field.kind === 'flags') return field.kind === 'enum' ? field.options?.[0] : [];
  if (field.kind === 'record') return {};
  if (field.kind === 'list') return [];
  return '';
}

/**
 * Required fields with no default (a script's module): what "Add component" must ask for
 * before the component is valid. For a variant, those of the given (or first) variant.
 */
export function fieldsToFill(field: FieldDescriptor, variant?: string): FieldDescriptor[] {
  const fields = field.kind === 'variant' ? (field.variants?.[variant ?? field.options![0]!] ?? []) : (field.fields ?? []);
  return fields.filter((f) => !f.optional && f.default === undefined && f.key !== field.tag && (f.kind !== 'object' || fieldsToFill(f).length > 0));
}

function structuredCloneJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v)) as unknown;
}

function labelOf(key: string): string {
  if (key === '') return '';
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function escape(key: string): string {
  return formatPointer([key]).slice(1);
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
