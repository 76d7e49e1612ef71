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

/** Decides whether to leave out a key; `path` holds the keys and indices down to the object holding it. */
export type SkipKey = (key: string, value: unknown, path: readonly (string | number)[]) => boolean;

/**
 * Writes any JSON value in the canonical layout, ordering object keys by `schema`. `skip` may
 * drop a key.
 *
 * Done in two passes for speed: a copy of the value with its keys in canonical order, printed by
 * the engine's JSON.stringify with a 2-space indent, then every array whose items are all scalars
 * folded onto one line (a 1 MiB scene takes a few times JSON.stringify, not tens of times).
 */
export function canonicalJsonText(value: unknown, schema: SchemaNode | undefined, skip?: SkipKey): string {
  return `${JSON.stringify(ordered(value, schema, [], skip), null, 2).replace(SCALAR_ARRAY, foldArray)}\n`;
}

function dropNullParent(key: string, value: unknown, path: readonly (string | number)[]): boolean {
  return key === 'parent' && value === null && path.length === 2 && path[0] === 'entities';
}

// The path is one array pushed and popped on the way down: no pointer string is built per value
// (a 2000-entity scene has ~100 000 of them) unless a value cannot be written.
function ordered(value: unknown, schema: SchemaNode | undefined, path: (string | number)[], skip: SkipKey | undefined): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`${pointerOf(path)}: ${value} cannot be written as JSON`);
      return Object.is(value, -0) ? 0 : value;
    }
    if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
    throw new Error(`${pointerOf(path)}: a ${typeof value} cannot be written as JSON`);
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out[i] = ordered(value[i], itemSchema(schema, i), path, skip);
      path.pop();
    }
    return out;
  }
  const obj = value as Record<string, unknown>;
  const node = resolveVariant(schema, obj);
  const props = node?.properties;
  const keys: string[] = [];
  let rest: string[] | null = null;
  if (props) for (const k in props) if (Object.hasOwn(obj, k)) keys.push(k);
  for (const k of Object.keys(obj)) if (!props || !Object.hasOwn(props, k)) (rest ??= []).push(k);
  if (rest) keys.push(...rest.sort(byCodePoint));
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || skip?.(k, v, path)) continue;
    path.push(k);
    out[k] = ordered(v, props?.[k] ?? recordSchema(node), path, skip);
    path.pop();
  }
  return out;
}

/**
 * An array in JSON.stringify's indented output whose items are all scalars: between its brackets
 * only strings (which may hold any character, a newline never: JSON escapes it) and characters
 * that are not brackets or braces.
 */
const SCALAR_ARRAY = /\[\n(?:"(?:[^"\\]|\\.)*"|[^[\]{}"])*?\]/g;

function foldArray(text: string): string {
  const items = text.slice(1, -1).trim().split(/,\n\s*/);
  const line = `[${items.join(', ')}]`;
  return line.length <= INLINE_ARRAY_MAX ? line : text;
}

function pointerOf(path: readonly (string | number)[]): string {
  return path.length === 0 ? '/' : path.map((k) => `/${escapePointer(String(k))}`).join('');
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
