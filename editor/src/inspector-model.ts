/**
 * The inspector's model, generated from the published JSON Schema of the scene format
 * (scenes/keel-scene.schema.json, itself generated from runtime/core/scene/schema.ts): for each
 * component, its fields with the control kind each needs, limits, default and description.
 * A tagged union (mesh, collider) yields the fields of the variant the value has.
 */
import schemaJson from '../../scenes/keel-scene.schema.json' with { type: 'json' };

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema | JsonSchema[];
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  discriminator?: { propertyName: string };
}

export type FieldKind = 'number' | 'unit' | 'vec2' | 'vec3' | 'color' | 'boolean' | 'enum' | 'multi' | 'text' | 'asset' | 'record';

export interface FieldModel {
  key: string;
  kind: FieldKind;
  label: string;
  description?: string;
  options?: string[];
  min?: number;
  max?: number;
  default?: unknown;
  /** For `asset`: which files the picker lists. */
  accept?: string[];
}

export interface ComponentModel {
  name: string;
  label: string;
  /** The discriminator (`shape`) when the component is a tagged union. */
  tag?: { key: string; options: string[] };
  fields: FieldModel[];
}

const root = schemaJson as unknown as JsonSchema;
const componentsSchema = root.properties!.entities!.items as JsonSchema;
const COMPONENTS = (componentsSchema.properties!.components!.properties ?? {}) as Record<string, JsonSchema>;
const ASSET_ACCEPT: Record<string, string[]> = { 'script.module': ['.js', '.mjs'], 'mesh.asset': ['.glb'], 'collider.asset': ['.khf'] };

/** Names of every component the format knows, in schema order. */
export const componentNames: readonly string[] = Object.keys(COMPONENTS);

const labelOf = (key: string) => key.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());

function fieldOf(component: string, key: string, s: JsonSchema): FieldModel {
  const base = { key, label: labelOf(key), ...(s.description ? { description: s.description } : {}), ...(s.default !== undefined ? { default: s.default } : {}) };
  if (s.type === 'number') {
    const min = s.minimum ?? s.exclusiveMinimum;
    const max = s.maximum ?? s.exclusiveMaximum;
    const kind: FieldKind = min === 0 && max === 1 ? 'unit' : 'number';
    return { ...base, kind, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  if (s.type === 'boolean') return { ...base, kind: 'boolean' };
  if (s.type === 'array' && Array.isArray(s.items)) return { ...base, kind: s.items.length === 2 ? 'vec2' : 'vec3' };
  if (s.type === 'array' && s.items && !Array.isArray(s.items) && s.items.enum) return { ...base, kind: 'multi', options: s.items.enum.map(String) };
  if (s.enum) return { ...base, kind: 'enum', options: s.enum.map(String) };
  if (s.type === 'string' && s.pattern === '^#[0-9a-fA-F]{6}$') return { ...base, kind: 'color' };
  if (s.type === 'object' && s.patternProperties) return { ...base, kind: 'record' };
  const accept = ASSET_ACCEPT[`${component}.${key}`];
  if (accept) return { ...base, kind: 'asset', accept };
  return { ...base, kind: 'text' };
}

/** The model of a component as it is now (`value` picks the variant of a tagged union). */
export function componentModel(name: string, value: unknown): ComponentModel | null {
  const s = COMPONENTS[name];
  if (!s) return null;
  if (s.oneOf && s.discriminator) {
    const tag = s.discriminator.propertyName;
    const options = s.oneOf.map((v) => String(v.properties?.[tag]?.const));
    const current = (value as Record<string, unknown> | undefined)?.[tag];
    const variant = s.oneOf.find((v) => v.properties?.[tag]?.const === current) ?? s.oneOf[0]!;
    const fields = Object.entries(variant.properties ?? {})
      .filter(([k]) => k !== tag)
      .map(([k, f]) => fieldOf(name, k, f));
    return { name, label: labelOf(name), tag: { key: tag, options }, fields };
  }
  return { name, label: labelOf(name), fields: Object.entries(s.properties ?? {}).map(([k, f]) => fieldOf(name, k, f)) };
}

/** The value a new component starts with (defaults; the first variant of a union). */
export function newComponent(name: string, variant?: string): Record<string, unknown> {
  const s = COMPONENTS[name];
  if (!s) return {};
  const fromProps = (props: Record<string, JsonSchema>) =>
    Object.fromEntries(
      Object.entries(props)
        .map(([k, f]) => [k, f.const ?? (f.default !== undefined ? structuredClone(f.default) : f.type === 'string' ? '' : undefined)] as const)
        .filter(([, v]) => v !== undefined),
    );
  if (s.oneOf && s.discriminator) {
    const tag = s.discriminator.propertyName;
    const v = s.oneOf.find((o) => o.properties?.[tag]?.const === variant) ?? s.oneOf[0]!;
    return fromProps(v.properties ?? {});
  }
  return fromProps(s.properties ?? {});
}
