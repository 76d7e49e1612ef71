import {
  decodeHeightfield,
  normaliseAssetPath,
  parseSceneText,
  SceneError,
  type HeightfieldData,
  type RunMode,
  type SceneDocument,
  type SceneProblem,
  type ScriptDefinition,
} from '../../core/index.js';

/** URL prefix of the dev server's read-only scene API (runtime/node/dev/scene-read-plugin.ts). */
export const SCENES_URL = '/__keel/scenes';

/** A scene with what it references fetched: what a browser Simulation and WorldView need. */
export interface BrowserScene {
  name: string;
  /** The file as named in messages, e.g. `scenes/arena.json`. */
  file: string;
  doc: SceneDocument;
  /** sha256 of the file's bytes, hex: the same value the server's Welcome carries. */
  hash: string;
  scripts: Map<string, ScriptDefinition>;
  heightfields: Map<string, HeightfieldData>;
}

/**
 * Scene names are file names in the scenes folder without `.json`: letters, digits, `-`, `_`
 * and `.`, not starting with a dot and never `..`. Anything else (a path, an absolute path, a
 * URL) is refused before any request is made.
 */
export function checkSceneName(name: string | null): string | null {
  if (name === null || name === '') return 'no scene given: add ?scene=<name> to the address (for example ?scene=arena)';
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(name) || name.includes('..')) {
    return `"${name.slice(0, 80)}" is not a scene name: use the name of a .json file in the scenes folder, without folders or extension (for example arena)`;
  }
  return null;
}

/** The URL of an asset under the scenes folder (its asset root). */
export function assetUrl(path: string): string {
  const norm = normaliseAssetPath(path);
  if (norm === null) throw new Error(`asset path "${path}" must be a relative path inside the scenes folder`);
  return `${SCENES_URL}/${norm.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Fetches, validates and loads a scene by name with its scripts (those that run in `mode`)
 * and heightfields. Every problem, in the JSON or in a referenced file, is collected and thrown
 * as one SceneError naming the file and JSON pointer of each.
 */
export async function loadBrowserScene(name: string, mode: RunMode, fetchFn: typeof fetch = fetch): Promise<BrowserScene> {
  const bad = checkSceneName(name);
  const file = `scenes/${name}.json`;
  if (bad) throw new SceneError([{ file, pointer: '', rule: 'scene-name', message: bad }]);
  const res = await fetchFn(`${SCENES_URL}/${encodeURIComponent(name)}.json`, { cache: 'no-store' });
  if (!res.ok) {
    const message = res.status === 404 ? 'no such scene in the scenes folder' : `cannot read (HTTP ${res.status})`;
    throw new SceneError([{ file, pointer: '', rule: 'read', message }]);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const checked = parseSceneText(new TextDecoder().decode(bytes), file);
  if (!checked.ok) throw new SceneError(checked.problems);
  const doc = checked.scene;
  const problems: SceneProblem[] = [];
  const scripts = new Map<string, ScriptDefinition>();
  const heightfields = new Map<string, HeightfieldData>();
  const jobs = new Map<string, Promise<void>>();
  doc.entities.forEach((e, i) => {
    const script = e.components.script;
    if (script && script.modes.includes(mode)) {
      const key = normaliseAssetPath(script.module)!;
      const pointer = `/entities/${i}/components/script/module`;
      if (!jobs.has(`s:${key}`)) {
        jobs.set(
          `s:${key}`,
          importScript(key).then(
            (def) => void scripts.set(key, def),
            (err: Error) => void problems.push({ file, pointer, rule: 'script-load', message: `${script.module}: ${err.message}` }),
          ),
        );
      }
    }
    const collider = e.components.collider;
    if (collider?.shape === 'heightfield') {
      const key = normaliseAssetPath(collider.asset)!;
      const pointer = `/entities/${i}/components/collider/asset`;
      if (!jobs.has(`h:${key}`)) {
        jobs.set(
          `h:${key}`,
          fetchHeightfield(key, fetchFn).then(
            (hf) => void heightfields.set(key, hf),
            (err: Error) => void problems.push({ file, pointer, rule: 'asset', message: `${collider.asset}: ${err.message}` }),
          ),
        );
      }
    }
  });
  await Promise.all(jobs.values());
  if (problems.length > 0) throw new SceneError(problems);
  return { name, file, doc, hash: await sha256Hex(bytes), scripts, heightfields };
}

async function fetchHeightfield(key: string, fetchFn: typeof fetch): Promise<HeightfieldData> {
  const res = await fetchFn(assetUrl(key));
  if (!res.ok) throw new Error(res.status === 404 ? 'no such file under the scenes folder' : `HTTP ${res.status}`);
  return decodeHeightfield(await res.arrayBuffer());
}

async function importScript(key: string): Promise<ScriptDefinition> {
  // A fresh URL per load, so a reload after an edit runs the edited module.
  const mod = (await import(/* @vite-ignore */ `${assetUrl(key)}?v=${Date.now()}`)) as { default?: unknown };
  const def = mod.default;
  if (typeof def !== 'object' || def === null) throw new Error('must export default an object of hooks (start, update, collision, destroy)');
  for (const hook of ['start', 'update', 'collision', 'destroy']) {
    const fn = (def as Record<string, unknown>)[hook];
    if (fn !== undefined && typeof fn !== 'function') throw new Error(`export default.${hook} must be a function`);
  }
  return def as ScriptDefinition;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  // crypto.subtle exists only in secure contexts; 127.0.0.1 is one.
  if (!globalThis.crypto?.subtle) return '';
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
