/** Loads the script modules a Play session runs (modes `client` and `editor`) from the asset root. */
import { normaliseAssetPath, type SceneDocument, type ScriptDefinition } from '../../runtime/core/index.js';
import { assetUrl } from '../../runtime/browser/scene/scene-source.js';

export const PLAY_SCRIPT_MODES = ['client', 'editor'] as const;

/** Every script module the document's Play-mode scripts name; problems name the entity and module. */
export async function loadPlayScripts(doc: SceneDocument): Promise<{ scripts: Map<string, ScriptDefinition>; problems: string[] }> {
  const scripts = new Map<string, ScriptDefinition>();
  const problems: string[] = [];
  const jobs = new Map<string, Promise<void>>();
  for (const e of doc.entities) {
    const s = e.components.script;
    if (!s || !s.modes.some((m) => (PLAY_SCRIPT_MODES as readonly string[]).includes(m))) continue;
    const key = normaliseAssetPath(s.module);
    if (key === null) {
      problems.push(`${e.id}: script module "${s.module}" is not a path inside the scenes folder`);
      continue;
    }
    if (jobs.has(key)) continue;
    jobs.set(
      key,
      import(/* @vite-ignore */ `${assetUrl(key)}?v=${Date.now()}`).then(
        (mod: { default?: unknown }) => {
          if (typeof mod.default !== 'object' || mod.default === null) problems.push(`${s.module}: must export default an object of hooks`);
          else scripts.set(key, mod.default as ScriptDefinition);
        },
        (err: Error) => void problems.push(`${s.module}: ${err.message}`),
      ),
    );
  }
  await Promise.all(jobs.values());
  return { scripts, problems };
}
