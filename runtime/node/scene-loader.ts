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
}

const HOOKS = ['start', 'update', 'collision', 'destroy'] as const;

/**
 * Reads, validates and loads a scene file with its scripts and binary assets. Any problem,
 * in the JSON or in a referenced file, throws a SceneError listing all of them; nothing is
 * half-loaded, so a bad edit never replaces a running scene.
 */
export async function loadSceneFile(file: string, assets: AssetRoot, mode: RunMode, cwd = process.cwd()): Promise<LoadedScene> {
  const t0 = performance.now();
  const shown = relative(cwd, file) || file;
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (err) {
    throw new SceneError([{ file: shown, pointer: '', rule: 'read', message: `cannot read: ${(err as Error).message}` }]);
  }
  const checked = parseSceneText(text.toString('utf8'), shown);
  if (!checked.ok) throw new SceneError(checked.problems);
  const doc = checked.scene;
  const problems: SceneProblem[] = [];
  const scripts = new Map<string, ScriptDefinition>();
  const heightfields = new Map<string, HeightfieldData>();

  const jobs: Promise<void>[] = [];
  doc.entities.forEach((e, i) => {
    const script = e.components.script;
    if (script && script.modes.includes(mode)) {
      const key = normaliseAssetPath(script.module)!;
      if (!scripts.has(key)) {
        scripts.set(key, {}); // placeholder so each module loads once
        jobs.push(
          importScript(assets, key).then(
            (def) => void scripts.set(key, def),
            (err: Error) => {
              problems.push({ file: shown, pointer: `/entities/${i}/components/script/module`, rule: 'script-load', message: `${script.module}: ${err.message}` });
            },
          ),
        );
      }
    }
    const collider = e.components.collider;
    if (collider?.shape === 'heightfield') {
      const key = normaliseAssetPath(collider.asset)!;
      jobs.push(
        assets.heightfield(key).then(
          (hf) => void heightfields.set(key, hf),
          (err: Error) => {
            problems.push({ file: shown, pointer: `/entities/${i}/components/collider/asset`, rule: 'asset', message: `${collider.asset}: ${err.message}` });
          },
        ),
      );
    }
  });
  await Promise.all(jobs);
  if (problems.length > 0) throw new SceneError(problems);
  return {
    file,
    doc,
    hash: createHash('sha256').update(text).digest('hex'),
    scripts,
    heightfields,
    loadMs: performance.now() - t0,
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
