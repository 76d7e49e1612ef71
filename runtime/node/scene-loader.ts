import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  normaliseAssetPath,
  parseSceneText,
  SceneError,
  type HeightfieldData,
  type RunMode,
  type SceneDocument,
  type SceneProblem,
  type ScriptDefinition,
} from '../core/index.js';
import type { AssetRoot } from './assets.js';
import type { ParseBase, SceneParser } from './scene-parser.js';

/** A validated scene with everything it references loaded: ready to build a Simulation. */
export interface LoadedScene {
  /** Absolute path. */
  file: string;
  doc: SceneDocument;
  /** sha256 of the file's bytes; clients compare it to know they have the same scene. */
  hash: string;
  scripts: Map<string, ScriptDefinition>;
  heightfields: Map<string, HeightfieldData>;
  loadMs: number;
  /** Whether the file was read and validated on a SceneParser's worker thread. */
  parsedOnWorker: boolean;
  /**
   * The part of the load that holds the thread it runs on (parsing, validating and hashing the
   * file), ms, as it would have taken on this thread: what decides where the next reload runs.
   */
  workMs: number;
}

const HOOKS = ['start', 'update', 'collision', 'destroy'] as const;

/** A scene file read and validated, before anything it references is loaded. */
export interface CheckedScene {
  file: string;
  /** The path as shown in messages (relative to the working directory). */
  shown: string;
  doc: SceneDocument;
  bytes: Buffer;
  /** How long parsing and validating held the thread, ms. */
  parseMs: number;
}

export async function readAndValidate(file: string, cwd: string): Promise<CheckedScene> {
  const shown = relative(cwd, file) || file;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new SceneError([{ file: shown, pointer: '', rule: 'read', message: `cannot read: ${(err as Error).message}` }]);
  }
  const t0 = performance.now();
  const checked = parseSceneText(bytes.toString('utf8'), shown);
  if (!checked.ok) throw new SceneError(checked.problems);
  return { file, shown, doc: checked.scene, bytes, parseMs: performance.now() - t0 };
}

/** A scene file read and validated, as a parse worker can send it: the document and the file's hash. */
export interface ReadScene {
  /** The path as shown in messages. */
  shown: string;
  doc: SceneDocument;
  /** sha256 of the file's bytes. */
  hash: string;
  /** How long parsing, validating and hashing held the thread, ms (reading the file not counted: it waits, it does not hold). */
  parseMs: number;
}

/** Reads and validates a scene file and hashes its bytes (on this thread; see SceneParser for another). */
export async function readScene(file: string, cwd: string): Promise<ReadScene> {
  const c = await readAndValidate(file, cwd);
  const t0 = performance.now();
  const hash = createHash('sha256').update(c.bytes).digest('hex');
  return { shown: c.shown, doc: c.doc, hash, parseMs: c.parseMs + (performance.now() - t0) };
}

/** Each file the scene needs in `mode`, with the pointer that names it. */
export function references(doc: SceneDocument, mode: RunMode): { kind: 'script' | 'heightfield'; key: string; pointer: string; given: string }[] {
  const out: { kind: 'script' | 'heightfield'; key: string; pointer: string; given: string }[] = [];
  doc.entities.forEach((e, i) => {
    const script = e.components.script;
    if (script && script.modes.includes(mode)) {
      out.push({ kind: 'script', key: normaliseAssetPath(script.module)!, pointer: `/entities/${i}/components/script/module`, given: script.module });
    }
    const collider = e.components.collider;
    if (collider?.shape === 'heightfield') {
      out.push({ kind: 'heightfield', key: normaliseAssetPath(collider.asset)!, pointer: `/entities/${i}/components/collider/asset`, given: collider.asset });
    }
  });
  return out;
}

/**
 * Reads and validates a scene and checks that every file it references exists, without
 * importing or decoding them: cheap enough to run before a server binds anything.
 */
export async function checkSceneFile(file: string, assets: AssetRoot, mode: RunMode, cwd = process.cwd()): Promise<CheckedScene> {
  const checked = await readAndValidate(file, cwd);
  const problems: SceneProblem[] = [];
  await Promise.all(
    references(checked.doc, mode).map(async (r) => {
      const st = await stat(assets.resolve(r.key)).catch(() => null);
      if (!st?.isFile()) problems.push({ file: checked.shown, pointer: r.pointer, rule: 'missing-file', message: `${r.given}: no such file under ${assets.dir}` });
    }),
  );
  if (problems.length > 0) throw new SceneError(problems);
  return checked;
}

/**
 * Reads, validates and loads a scene file with its scripts and binary assets. Any problem,
 * in the JSON or in a referenced file, throws a SceneError listing all of them; nothing is
 * half-loaded, so a bad edit never replaces a running scene.
 */
export async function loadSceneFile(file: string, assets: AssetRoot, mode: RunMode, cwd = process.cwd(), parser?: SceneParser, base?: ParseBase): Promise<LoadedScene> {
  const t0 = performance.now();
  const { shown, doc, hash, parseMs } = parser ? await parser.read(file, cwd, base) : await readScene(file, cwd);
  const problems: SceneProblem[] = [];
  const scripts = new Map<string, ScriptDefinition>();
  const heightfields = new Map<string, HeightfieldData>();
  const seen = new Set<string>();
  await Promise.all(
    references(doc, mode).map(async (r) => {
      const id = `${r.kind}:${r.key}`;
      if (seen.has(id)) return; // each file loads once
      seen.add(id);
      try {
        if (r.kind === 'script') scripts.set(r.key, await importScript(assets, r.key));
        else heightfields.set(r.key, await assets.heightfield(r.key));
      } catch (err) {
        problems.push({ file: shown, pointer: r.pointer, rule: r.kind === 'script' ? 'script-load' : 'asset', message: `${r.given}: ${(err as Error).message}` });
      }
    }),
  );
  if (problems.length > 0) throw new SceneError(problems);
  return {
    file,
    doc,
    hash,
    scripts,
    heightfields,
    loadMs: performance.now() - t0,
    parsedOnWorker: parser?.lastOnWorker ?? false,
    workMs: parser?.lastOnWorker ? parser.lastWorkMs : parseMs,
  };
}

async function importScript(assets: AssetRoot, key: string): Promise<ScriptDefinition> {
  const abs = assets.resolve(key);
  const st = await stat(abs).catch(() => null);
  if (!st?.isFile()) throw new Error(`no such file ${abs}`);
  // The mtime in the URL makes a hot reload import the edited file instead of the cached module.
  const mod = (await import(`${pathToFileURL(abs).href}?v=${st.mtimeMs}`)) as { default?: unknown };
  const def = mod.default;
  if (typeof def !== 'object' || def === null) throw new Error('must export default an object of hooks (start, update, collision, destroy)');
  for (const hook of HOOKS) {
    const fn = (def as Record<string, unknown>)[hook];
    if (fn !== undefined && typeof fn !== 'function') throw new Error(`export default.${hook} must be a function`);
  }
  return def as ScriptDefinition;
}
