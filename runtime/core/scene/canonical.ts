/**
 * The canonical text of a scene file: what `keel fmt`, the editor and the dev server's save API
 * write, so that a file changes by exactly the lines that changed in the scene.
 *
 * The form:
 * - keys in the order the schema declares them (`runtime/core/scene/schema.ts`); keys of free-form
 *   records (a script's `props`) and any key the schema does not know, sorted by code point, after
 *   the declared ones;
 * - 2-space indent, `"key": value`, objects and arrays of objects one entry per line, empty
 *   objects and arrays as `{}` and `[]`;
 * - arrays of scalars (vectors, tags, modes) on one line, `[0, 1.5, -2]`, unless that line would
 *   pass {@link INLINE_ARRAY_MAX} characters, then one item per line;
 * - **defaults kept**: the text is the document as the loader returns it, with every schema default
 *   filled in. A file then says everything it means (changing a default in the schema never
 *   silently changes a committed scene) and one edit is one line whatever its old value was.
 *   The only thing dropped is `"parent": null`, which means the same as no parent;
 * - numbers as JavaScript prints them (`-0` as `0`), strings as JSON escapes them;
 * - one trailing newline.
 *
 * Canonical text is a function of the validated document: load, validate, write gives the same
 * bytes back for a file already in this form.
 */
import { SceneSchema, type SceneDocument } from './schema.js';
import { SceneError, parseSceneText, validateScene, type SceneProblem } from './validate.js';

/** Arrays of scalars longer than this many characters on one line are written one item per line. */
export const INLINE_ARRAY_MAX = 100;

/** The subset of JSON Schema the writer reads to order keys (TypeBox schemas are JSON Schema). */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode | SchemaNode[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  discriminator?: { propertyName: string };
  const?: unknown;
}

/** The canonical text of a validated scene document (see the module comment for the form). */
export function canonicalSceneText(doc: SceneDocument): string {
  return canonicalJsonText(doc, SceneSchema as unknown as SchemaNode, dropNullParent);
}

/**
 * Parses, validates (defaults filled in, older versions migrated) and writes `text` in canonical
 * form. Throws {@link SceneError} with every problem when the text is not a valid scene.
 */
export function formatSceneText(text: string, file: string): string {
  const r = parseSceneText(text, file);
  if (!r.ok) throw new SceneError(r.problems);
  return canonicalSceneText(r.scene);
}

/** Like {@link formatSceneText} for a parsed value; returns the problems instead of throwing. */
export function canonicalizeScene(raw: unknown, file: string): { ok: true; text: string; scene: SceneDocument } | { ok: false; problems: SceneProblem[] } {
  const r = validateScene(raw, file);
  if (!r.ok) return r;
  return { ok: true, text: canonicalSceneText(r.scene), scene: r.scene };
}

/**
 * Writes any JSON value in the canonical layout, ordering object keys by `schema`. `skip` may
 * drop a key (it sees the key, its value and the pointer of the object holding it).
 */
export function canonicalJsonText(value: unknown, schema: SchemaNode | undefined, skip?: (key: string, value: unknown, pointer: string) => boolean): string {
  return `${write(value, schema, '', '', skip)}\n`;
}

function dropNullParent(key: string, value: unknown, pointer: string): boolean {
  return key === 'parent' && value === null && /^\/entities\/\d+$/.test(pointer);
}

function write(value: unknown, schema: SchemaNode | undefined, indent: string, pointer: string, skip: ((k: string, v: unknown, p: string) => boolean) | undefined): string {
  if (value === null || typeof value !== 'object') return scalar(value, pointer);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const line = `[${value.map((v, i) => scalar(v, `${pointer}/${i}`)).join(', ')}]`;
      if (line.length <= INLINE_ARRAY_MAX) return line;
    }
    const items = value.map((v, i) => `${inner}${write(v, itemSchema(schema, i), inner, `${pointer}/${i}`, skip)}`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const obj = value as Record<string, unknown>;
  const node = resolveVariant(schema, obj);
  const declared = Object.keys(node?.properties ?? {});
  const keys = declared.filter((k) => Object.hasOwn(obj, k));
  const rest = Object.keys(obj)
    .filter((k) => !declared.includes(k))
    .sort(byCodePoint);
  const lines: string[] = [];
  for (const k of [...keys, ...rest]) {
    const v = obj[k];
    if (v === undefined || skip?.(k, v, pointer)) continue;
    const child = node?.properties?.[k] ?? recordSchema(node);
    lines.push(`${inner}${JSON.stringify(k)}: ${write(v, child, inner, `${pointer}/${escapePointer(k)}`, skip)}`);
  }
  if (lines.length === 0) return '{}';
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

function scalar(v: unknown, pointer: string): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${pointer || '/'}: ${v} cannot be written as JSON`);
    return Object.is(v, -0) ? '0' : JSON.stringify(v);
  }
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
    throw new Error(`${pointer || '/'}: a ${typeof v} cannot be written as JSON`);
  }
  return JSON.stringify(v);
}

/** For a tagged union (`oneOf` + `discriminator`), the variant the value's tag selects. */
function resolveVariant(schema: SchemaNode | undefined, obj: Record<string, unknown>): SchemaNode | undefined {
  if (!schema) return undefined;
  const options = schema.oneOf ?? schema.anyOf;
  if (!options) return schema;
  const tag = schema.discriminator?.propertyName;
  if (tag !== undefined) {
    const match = options.find((o) => o.properties?.[tag]?.const === obj[tag]);
    if (match) return match;
    // An unknown tag: order by the first variant's keys, which every variant shares the start of.
    return options[0];
  }
  return options.find((o) => o.properties !== undefined) ?? schema;
}

function itemSchema(schema: SchemaNode | undefined, i: number): SchemaNode | undefined {
  const items = schema?.items;
  if (Array.isArray(items)) return items[i];
  return items;
}

function recordSchema(node: SchemaNode | undefined): SchemaNode | undefined {
  if (!node) return undefined;
  const pattern = node.patternProperties ? Object.values(node.patternProperties)[0] : undefined;
  if (pattern) return pattern;
  return typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
