import type { ErrorObject } from 'ajv';
import { SCENE_FORMAT, SCENE_VERSION } from './format.js';
import type { Components, EntityDocument, SceneDocument } from './schema.js';
import { validate as schemaValidate } from './scene-validator.generated.js';
import { normaliseAssetPath } from './paths.js';
import { MAX_WIRE_STRING_BYTES } from '../protocol/codec.js';

/** One thing wrong with a scene file, located by JSON pointer and named by the rule it breaks. */
export interface SceneProblem {
  file: string;
  /** RFC 6901 pointer into the document, '' for the whole document. */
  pointer: string;
  /** The schema keyword (`minimum`, `required`…) or semantic rule (`duplicate-id`, `path-escape`…). */
  rule: string;
  message: string;
}

export function formatProblem(p: SceneProblem): string {
  return `${p.file} ${p.pointer === '' ? '/' : p.pointer}: ${p.message}`;
}

/** Thrown when a scene cannot be used; `problems` holds every error found, not just the first. */
export class SceneError extends Error {
  constructor(readonly problems: SceneProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SceneError';
  }
}

/** Upgrades a document of version N to N+1. The table is keyed by N. */
export type SceneMigration = (doc: Record<string, unknown>) => Record<string, unknown>;
/** Format v1 is the first; when v2 arrives, `1: v1ToV2` goes here and old files keep loading. */
export const SCENE_MIGRATIONS: Readonly<Record<number, SceneMigration>> = {};

export type SceneValidation =
  | { ok: true; scene: SceneDocument; migratedFrom: number | null }
  | { ok: false; problems: SceneProblem[] };

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
// Compiled ahead of time from schema.ts (see scripts/schema-codegen.mjs): no Ajv compile at
// start-up. It keeps the errors of its last call on itself, read right after each call.
const schemaValidator = schemaValidate as unknown as CompiledValidator;

/** Parses scene text; JSON syntax errors come back as a problem with line and column. */
export function parseSceneText(text: string, file: string): SceneValidation {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const at = /position (\d+)/.exec(msg);
    const pos = at ? Number(at[1]) : locateJsonError(text);
    let where = '';
    if (pos !== null) {
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      where = ` (line ${line}, column ${col})`;
    }
    const detail = msg
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/^JSON\.parse: /, '');
    return { ok: false, problems: [{ file, pointer: '', rule: 'json-syntax', message: `invalid JSON${where}: ${detail}` }] };
  }
  return validateScene(raw, file, SCENE_MIGRATIONS, { owned: true });
}

/** How {@link validateScene} may treat its input. */
export interface ValidateSceneOptions {
  /**
   * The caller gives `raw` away (it was just parsed and nothing else holds it): defaults are
   * filled into it and it becomes the returned document, with no copy made. Default false.
   */
  owned?: boolean;
}

/**
 * Checks a parsed document against the schema and the rules a schema cannot express, migrating
 * older versions first. Returns a document with defaults filled in; unless `options.owned`, it
 * is a new one and `raw` is not modified.
 */
export function validateScene(
  raw: unknown,
  file: string,
  migrations: Readonly<Record<number, SceneMigration>> = SCENE_MIGRATIONS,
  options: ValidateSceneOptions = {},
): SceneValidation {
  const problem = (pointer: string, rule: string, message: string): SceneProblem => ({ file, pointer, rule, message });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [problem('', 'type', 'a scene must be a JSON object')] };
  }
  const top = raw as Record<string, unknown>;
  if (top.format !== SCENE_FORMAT) {
    return {
      ok: false,
      problems: [problem('/format', 'format', `must be "${SCENE_FORMAT}" (got ${JSON.stringify(top.format) ?? 'nothing'})`)],
    };
  }
  // One walk checks nesting and numbers and, unless the caller gave the document away, copies
  // it (the schema validator fills defaults in place).
  const scan = new Scan(options.owned !== true);
  const copy = scan.walk(top, 1);
  if (scan.tooDeep !== null) {
    return { ok: false, problems: [problem(scan.tooDeep, 'depth', `nested deeper than ${MAX_SCENE_DEPTH} levels`)] };
  }
  if (scan.nonFinite.length > 0) {
    return { ok: false, problems: scan.nonFinite.map((p) => problem(p, 'finite', 'must be a finite number')) };
  }
  let doc = copy as Record<string, unknown>;
  let migratedFrom: number | null = null;
  const version = doc.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, problems: [problem('/version', 'version', `must be a positive integer (got ${JSON.stringify(version)})`)] };
  }
  if (version > SCENE_VERSION) {
    return {
      ok: false,
      problems: [problem('/version', 'version', `version ${version} is newer than this keel reads (${SCENE_VERSION}); upgrade keel`)],
    };
  }
  for (let v = version; v < SCENE_VERSION; v++) {
    const step = migrations[v];
    if (!step) return { ok: false, problems: [problem('/version', 'version', `no migration from version ${v}`)] };
    doc = { ...step(doc), version: v + 1 };
    migratedFrom ??= version;
  }

  const problems: SceneProblem[] = [];
  if (!schemaValidator(doc)) {
    for (const e of schemaValidator.errors ?? []) {
      const p = describeAjvError(e);
      if (p) problems.push(problem(p.pointer, e.keyword, p.message));
    }
  }
  problems.push(...semanticProblems(doc, file));
  if (problems.length > 0) return { ok: false, problems: dedupe(problems) };
  return { ok: true, scene: doc as unknown as SceneDocument, migratedFrom };
}

function describeAjvError(e: ErrorObject): { pointer: string; message: string } | null {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return {
        pointer: `${e.instancePath}/${escapePointer(String(params.additionalProperty))}`,
        message: `is not allowed here${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
      };
    }
    case 'required':
      return { pointer: `${e.instancePath}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'discriminator': {
      const tag = String(params.tag);
      const options = ((e.parentSchema as { oneOf?: { properties: Record<string, { const?: unknown }> }[] })?.oneOf ?? [])
        .map((v) => v.properties[tag]?.const)
        .filter((v) => v !== undefined);
      const got = params.tagValue === undefined ? 'nothing' : JSON.stringify(params.tagValue);
      return {
        pointer: `${e.instancePath}/${tag}`,
        message: params.error === 'tag' && params.tagValue === undefined ? 'is required' : `must be one of ${options.join(', ')} (got ${got})`,
      };
    }
    case 'enum':
      return {
        pointer: e.instancePath,
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')} (got ${JSON.stringify(e.data)})`,
      };
    case 'const':
      return { pointer: e.instancePath, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern':
      return { pointer: e.instancePath, message: `must match ${String(params.pattern)} (got ${JSON.stringify(e.data)})` };
    case 'oneOf':
    case 'anyOf':
      return null; // the branch errors say more
    default:
      return { pointer: e.instancePath, message: e.message ?? e.keyword };
  }
}

const utf8 = new TextEncoder();

function semanticProblems(doc: Record<string, unknown>, file: string): SceneProblem[] {
  const out: SceneProblem[] = [];
  // The scene name travels in every welcome as a wire string: the schema counts characters,
  // the wire counts UTF-8 bytes (an emoji is 4).
  if (typeof doc.name === 'string') {
    const bytes = utf8.encode(doc.name).byteLength;
    if (bytes > MAX_WIRE_STRING_BYTES) {
      out.push({ file, pointer: '/name', rule: 'wire-length', message: `is ${bytes} bytes in UTF-8; at most ${MAX_WIRE_STRING_BYTES} fit the wire` });
    }
  }
  const entities = Array.isArray(doc.entities) ? (doc.entities as unknown[]) : [];
  out.push(...crossEntityProblems(entities, file));
  entities.forEach((ent, i) => out.push(...assetPathProblems(ent, `/entities/${i}`, file)));
  return out;
}

/** Asset and script paths of one entity that escape the asset root; `at` is the entity's pointer. */
function assetPathProblems(ent: unknown, at: string, file: string): SceneProblem[] {
  if (typeof ent !== 'object' || ent === null) return [];
  const comps = ((ent as Record<string, unknown>).components ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const out: SceneProblem[] = [];
  const assetRefs: [string, unknown][] = [
    ['script/module', comps.script?.module],
    ['collider/asset', comps.collider?.asset],
    ['mesh/asset', comps.mesh?.asset],
  ];
  for (const [where, value] of assetRefs) {
    if (typeof value === 'string' && normaliseAssetPath(value) === null) {
      out.push({ file, pointer: `${at}/components/${where}`, rule: 'path-escape', message: `"${value}" must be a relative path inside the scene's asset root` });
    }
  }
  return out;
}

/** What is wrong between entities: duplicate ids, unknown parents and parent cycles. */
export function crossEntityProblems(entities: readonly unknown[], file: string): SceneProblem[] {
  const out: SceneProblem[] = [];
  const indexOf = new Map<string, number>();
  const parentOf = new Map<string, string>();
  entities.forEach((ent, i) => {
    if (typeof ent !== 'object' || ent === null) return;
    const e = ent as Record<string, unknown>;
    if (typeof e.id !== 'string') return;
    const first = indexOf.get(e.id);
    if (first !== undefined) {
      out.push({ file, pointer: `/entities/${i}/id`, rule: 'duplicate-id', message: `duplicate id "${e.id}" (first used at /entities/${first})` });
    } else indexOf.set(e.id, i);
    if (typeof e.parent === 'string') parentOf.set(e.id, e.parent);
  });
  entities.forEach((ent, i) => {
    if (typeof ent !== 'object' || ent === null) return;
    const e = ent as Record<string, unknown>;
    if (typeof e.parent === 'string' && !indexOf.has(e.parent)) {
      out.push({ file, pointer: `/entities/${i}/parent`, rule: 'unknown-parent', message: `no entity has id "${e.parent}"` });
    }
  });
  // Parent cycles: walk up from every entity; a walk longer than the entity count revisits a node.
  const reported = new Set<string>();
  for (const [id] of parentOf) {
    const seen = new Set<string>([id]);
    let cur = parentOf.get(id);
    while (cur !== undefined) {
      if (seen.has(cur)) {
        if (cur === id && !reported.has(id)) {
          const cycle = [...seen].filter((x) => !reported.has(x));
          cycle.forEach((x) => reported.add(x));
          out.push({
            file,
            pointer: `/entities/${indexOf.get(id)}/parent`,
            rule: 'parent-cycle',
            message: `parent chain loops: ${[...cycle, id].join(' -> ')}`,
          });
        }
        break;
      }
      seen.add(cur);
      cur = parentOf.get(cur);
    }
  }
  return out;
}

/**
 * How deeply a scene document may nest (objects and arrays, the document itself being level 1).
 * The format needs 6 levels to reach a script's props; the rest is for props. Checked before
 * anything walks the document recursively, so a hostile file gets a problem, not a stack overflow.
 */
export const MAX_SCENE_DEPTH = 64;

/**
 * A walk over a parsed document that finds the first value nested deeper than MAX_SCENE_DEPTH
 * (without descending past it, so any depth is safe) and every non-finite number, and copies the
 * document on the way when asked. Pointers are built only for what it reports.
 */
class Scan {
  tooDeep: string | null = null;
  readonly nonFinite: string[] = [];
  private readonly path: string[] = [];
  constructor(private readonly copy: boolean) {}

  walk(value: unknown, depth: number): unknown {
    if (typeof value !== 'object' || value === null) {
      if (typeof value === 'number' && !Number.isFinite(value)) this.nonFinite.push(this.pointer());
      return value;
    }
    if (depth > MAX_SCENE_DEPTH) {
      this.tooDeep ??= this.pointer();
      return value;
    }
    if (Array.isArray(value)) {
      const out: unknown[] | null = this.copy ? new Array(value.length) : null;
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'object' && v !== null) {
          this.path.push(String(i));
          const c = this.walk(v, depth + 1);
          this.path.pop();
          if (out) out[i] = c;
        } else {
          if (typeof v === 'number' && !Number.isFinite(v)) this.nonFinite.push(`${this.pointer()}/${i}`);
          // As JSON would carry it: what JSON cannot hold is null in an array.
          if (out) out[i] = v === undefined || typeof v === 'function' || typeof v === 'symbol' ? null : v;
        }
      }
      return out ?? value;
    }
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> | null = this.copy ? {} : null;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      // As JSON would carry it: a key whose value JSON cannot hold is left out.
      if (out && (v === undefined || typeof v === 'function' || typeof v === 'symbol')) continue;
      this.path.push(k);
      const c = typeof v === 'object' && v !== null ? this.walk(v, depth + 1) : this.leaf(v);
      this.path.pop();
      // A "__proto__" key stays an own property, as JSON.parse makes it.
      if (out) {
        if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        else out[k] = c;
      }
    }
    return out ?? value;
  }

  private leaf(v: unknown): unknown {
    if (typeof v === 'number' && !Number.isFinite(v)) this.nonFinite.push(this.pointer());
    return v;
  }

  private pointer(): string {
    let p = '';
    for (const k of this.path) p += `/${escapePointer(k)}`;
    return p;
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function dedupe(problems: SceneProblem[]): SceneProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.pointer}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Validates one entity as if it stood in a scene (defaults applied); used by `world.spawn`. */
export function validateEntity(
  entity: unknown,
  file: string,
): { ok: true; entity: EntityDocument } | { ok: false; problems: SceneProblem[] } {
  // The parent lives in the running world, not in this one-entity scene: World.add checks it.
  const { parent, ...rest } = (typeof entity === 'object' && entity !== null ? entity : { entity }) as Record<string, unknown>;
  const r = validateScene({ format: SCENE_FORMAT, version: SCENE_VERSION, name: 'spawn', entities: [rest] }, file);
  if (!r.ok) return { ok: false, problems: r.problems.map((p) => ({ ...p, pointer: p.pointer.replace(/^\/entities\/0/, '') })) };
  const checked = r.scene.entities[0]!;
  return { ok: true, entity: typeof parent === 'string' ? { ...checked, parent } : checked };
}

/** A component with every field at its schema default, e.g. `defaultComponent('material')`. */
export function defaultComponent<K extends keyof Components>(name: K): NonNullable<Components[K]> {
  const r = validateEntity({ id: 'defaults', components: { [name]: {} } }, 'defaults');
  if (!r.ok) throw new Error(`component ${String(name)} has required fields and no default`);
  return r.entity.components[name]!;
}

/**
 * Offset of the first character that makes `text` invalid JSON, for engines whose message has no
 * position (V8 says only "Unexpected token 'x', "..." is not valid JSON"). Null when none is found.
 */
function locateJsonError(text: string): number | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|^true|^false|^null/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const string = () => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (at) {
    return typeof at === 'number' ? at : null;
  }
}
