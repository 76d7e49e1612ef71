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
import { SCENE_VERSION } from './format.js';
import { SCENE_MIGRATIONS, SceneError, crossEntityProblems, parseSceneText, validateScene, type SceneProblem, type ValidateSceneOptions } from './validate.js';

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
 * Writes successive versions of one scene, remembering the text of each entity: an entity equal
 * to the one with its id in the version written last reuses that text, so a save after an edit
 * formats the entities that changed, not all of them. The text is byte for byte
 * {@link canonicalSceneText}'s. A document given to it must not be changed afterwards (scene
 * edits and parsing make new objects).
 */
export class SceneTextWriter {
  private last = new Map<string, EntityText>();

  /** Whether a version has been written (so that {@link validated} can answer). */
  get primed(): boolean {
    return this.last.size > 0;
  }

  /**
   * Validates `raw`, a just-parsed scene (it is changed: defaults filled in), checking against
   * the schema only the entities that differ from those of the version written last: an entity
   * equal to one written before is valid as it stands. What concerns the whole document (its top
   * level, ids, parents) is always checked. Returns the document when it is valid, or null when
   * it is not or this cannot tell (an older version, no version written yet): the caller then
   * validates the whole document as usual, from a fresh parse, for the exact problems.
   */
  validated(raw: unknown, file: string): SceneDocument | null {
    if (this.last.size === 0 || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
    const top = raw as Record<string, unknown>;
    if (top.version !== SCENE_VERSION || !Array.isArray(top.entities)) return null;
    const entities = top.entities as unknown[];
    const changed: unknown[] = [];
    for (let i = 0; i < entities.length; i++) {
      const e = entities[i];
      const id = typeof e === 'object' && e !== null ? (e as { id?: unknown }).id : undefined;
      const prev = typeof id === 'string' ? this.last.get(id) : undefined;
      if (prev && equalJson(prev.entity, e)) entities[i] = prev.entity;
      else changed.push(e);
    }
    // The top level and the changed entities in one pass, validated in place (owned: no copy,
    // defaults filled into these very objects). A changed entity's parent may be an unchanged
    // one, outside this pass: ids and parents are checked over all entities after it.
    const pass = { ...top, entities: changed };
    const r = validateScene(pass, file, SCENE_MIGRATIONS, { owned: true });
    if (!r.ok && r.problems.some((p) => p.rule !== 'unknown-parent')) return null;
    if (crossEntityProblems(entities, file).length > 0) return null;
    return { ...(pass as unknown as SceneDocument), entities: entities as SceneDocument['entities'] };
  }

  /** The canonical text of `doc`, a validated scene document. */
  text(doc: SceneDocument): string {
    const memo: EntityMemo = { last: this.last, next: new Map() };
    const w = new Writer(dropNullParent, memo);
    w.value(doc, SceneSchema as unknown as SchemaNode, 0);
    this.last = memo.next;
    return `${w.out}\n`;
  }
}

interface EntityText {
  /** The entity as validated (defaults filled in). */
  entity: object;
  text: string;
}
interface EntityMemo {
  last: ReadonlyMap<string, EntityText>;
  next: Map<string, EntityText>;
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

/**
 * Like {@link formatSceneText} for a parsed value; returns the problems instead of throwing.
 * With `owned` (see {@link ValidateSceneOptions}) `raw` is validated in place, not copied.
 */
export function canonicalizeScene(raw: unknown, file: string, options: ValidateSceneOptions = {}): { ok: true; text: string; scene: SceneDocument } | { ok: false; problems: SceneProblem[] } {
  const r = validateScene(raw, file, SCENE_MIGRATIONS, options);
  if (!r.ok) return r;
  return { ok: true, text: canonicalSceneText(r.scene), scene: r.scene };
}

/** Decides whether to leave out a key; `path` holds the keys and indices down to the object holding it. */
export type SkipKey = (key: string, value: unknown, path: readonly (string | number)[]) => boolean;

/**
 * Writes any JSON value in the canonical layout, ordering object keys by `schema`. `skip` may
 * drop a key.
 *
 * One pass straight to text: no reordered copy of the value, no JSON.stringify of the whole and
 * no second pass folding arrays (a 1 MiB scene is written in a few milliseconds).
 */
export function canonicalJsonText(value: unknown, schema: SchemaNode | undefined, skip?: SkipKey): string {
  const w = new Writer(skip);
  w.value(value, schema, 0);
  return `${w.out}\n`;
}

function dropNullParent(key: string, value: unknown, path: readonly (string | number)[]): boolean {
  return key === 'parent' && value === null && path.length === 2 && path[0] === 'entities';
}

/** Line breaks with the indent of each depth, two spaces a level (a scene nests at most 64 levels). */
const BREAKS: readonly string[] = Object.freeze(Array.from({ length: 66 }, (_, i) => `\n${'  '.repeat(i)}`));
const lineBreak = (depth: number): string => BREAKS[depth] ?? `\n${'  '.repeat(depth)}`;

// The path is one array pushed and popped on the way down: no pointer string is built per value
// (a 2000-entity scene has ~100 000 of them) unless a value cannot be written. Separators come
// from the table above and key texts are made once per key: the walk allocates little beyond
// the output itself.
class Writer {
  out = '';
  private readonly path: (string | number)[] = [];
  /** `"key": ` of each key met. */
  private readonly keyText = new Map<string, string>();
  /** Declared keys of each schema node met. */
  private readonly declared = new Map<Record<string, SchemaNode>, string[]>();
  constructor(
    private readonly skip: SkipKey | undefined,
    private readonly memo?: EntityMemo,
  ) {}

  /** The JSON text of a scalar. Throws for what JSON cannot hold. */
  private scalar(value: unknown): string {
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value)) throw new Error(`${pointerOf(this.path)}: ${value} cannot be written as JSON`);
        return value === 0 ? '0' : String(value);
      case 'string':
        return JSON.stringify(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'object':
        if (value === null) return 'null';
    }
    throw new Error(`${pointerOf(this.path)}: a ${typeof value} cannot be written as JSON`);
  }

  value(value: unknown, schema: SchemaNode | undefined, depth: number): void {
    if (typeof value !== 'object' || value === null) this.out += this.scalar(value);
    else if (Array.isArray(value)) this.array(value, schema, depth);
    else if (this.memo && depth === 2 && this.path.length === 2 && this.path[0] === 'entities') this.entity(value as Record<string, unknown>, schema, this.memo);
    else this.object(value as Record<string, unknown>, schema, depth);
  }

  /** An entity of a scene: its remembered text when it equals the last one written with its id. */
  private entity(e: Record<string, unknown>, schema: SchemaNode | undefined, memo: EntityMemo): void {
    const id = e.id;
    const prev = typeof id === 'string' ? memo.last.get(id) : undefined;
    let text: string;
    if (prev && equalJson(prev.entity, e)) text = prev.text;
    else {
      const outer = this.out;
      this.out = '';
      this.object(e, schema, 2);
      // Joined into one flat string: a remembered text is then copied, not walked piece by
      // piece, each time it goes into a file.
      text = [this.out, ''].join('');
      this.out = outer;
    }
    this.out += text;
    if (typeof id === 'string') memo.next.set(id, { entity: e, text });
  }

  private array(arr: readonly unknown[], schema: SchemaNode | undefined, depth: number): void {
    const n = arr.length;
    if (n === 0) {
      this.out += '[]';
      return;
    }
    let scalars = true;
    for (let i = 0; i < n; i++) {
      const v = arr[i];
      if (typeof v === 'object' && v !== null) {
        scalars = false;
        break;
      }
    }
    const inner = lineBreak(depth + 1);
    if (scalars) {
      // One line when it fits, else one item per line.
      let line = '[';
      for (let i = 0; i < n; i++) {
        this.path.push(i);
        line += i === 0 ? this.scalar(arr[i]) : `, ${this.scalar(arr[i])}`;
        this.path.pop();
      }
      line += ']';
      if (line.length <= INLINE_ARRAY_MAX) {
        this.out += line;
        return;
      }
    }
    for (let i = 0; i < n; i++) {
      this.out += i === 0 ? `[${inner}` : `,${inner}`;
      this.path.push(i);
      this.value(arr[i], itemSchema(schema, i), depth + 1);
      this.path.pop();
    }
    this.out += `${lineBreak(depth)}]`;
  }

  private keysOf(props: Record<string, SchemaNode>): string[] {
    let keys = this.declared.get(props);
    if (!keys) {
      keys = [];
      for (const k in props) keys.push(k);
      this.declared.set(props, keys);
    }
    return keys;
  }

  private object(obj: Record<string, unknown>, schema: SchemaNode | undefined, depth: number): void {
    const node = resolveVariant(schema, obj);
    const props = node?.properties;
    let written = 0;
    let declaredHere = 0;
    if (props) {
      for (const k of this.keysOf(props)) {
        if (!Object.hasOwn(obj, k)) continue;
        declaredHere++;
        written = this.member(obj, k, props[k], depth, written);
      }
    }
    // Keys the schema does not declare (a record's, or unknown ones), sorted, after the declared.
    let own = 0;
    for (const k in obj) if (Object.hasOwn(obj, k)) own++;
    if (own > declaredHere) {
      const rest = Object.keys(obj).filter((k) => !props || !Object.hasOwn(props, k));
      const record = recordSchema(node);
      for (const k of rest.sort(byCodePoint)) written = this.member(obj, k, record, depth, written);
    }
    this.out += written === 0 ? '{}' : `${lineBreak(depth)}}`;
  }

  /** Writes `"key": value` (unless skipped) after `written` earlier members; returns the new count. */
  private member(obj: Record<string, unknown>, k: string, schema: SchemaNode | undefined, depth: number, written: number): number {
    const v = obj[k];
    if (v === undefined || this.skip?.(k, v, this.path)) return written;
    let head = this.keyText.get(k);
    if (head === undefined) this.keyText.set(k, (head = `${JSON.stringify(k)}: `));
    this.out += written === 0 ? `{${lineBreak(depth + 1)}${head}` : `,${lineBreak(depth + 1)}${head}`;
    this.path.push(k);
    this.value(v, schema, depth + 1);
    this.path.pop();
    return written + 1;
  }
}

/** Equal as JSON (keys in any order, undefined members absent): then the canonical texts are equal. */
function equalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equalJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    n++;
    if (!Object.hasOwn(y, k) || !equalJson(x[k], y[k])) return false;
  }
  let m = 0;
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) m++;
  return n === m;
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
