import { relative, resolve, dirname } from 'node:path';
import { RunMode, SceneError } from '../runtime/core/index.js';
import { AssetRoot } from '../runtime/node/assets.js';
import { loadSceneFile } from '../runtime/node/scene-loader.js';
import { inspectSceneFile } from '../runtime/node/script-check.js';
import { checkModels } from '../runtime/node/model-check.js';

/**
 * `keel validate`: checks each scene and what it references (scripts parse and export hooks,
 * heightfields decode), prints every problem as `file /pointer: message`, and exits 1 when any
 * is invalid. Scripts are parsed, never run, unless `importScripts` asks for the server's own
 * load (which runs each script's top-level code with this process's privileges).
 */
export async function validate(files: string[], cwd: string, assetsDir: string | undefined, opts: { importScripts?: boolean } = {}): Promise<number> {
  // Same rule as `keel serve`: with an asset root, relative scene paths resolve against it.
  const root = assetsDir ? resolve(cwd, assetsDir) : undefined;
  let bad = 0;
  let problems = 0;
  for (const f of files) {
    const file = resolve(root ?? cwd, f);
    const assets = new AssetRoot(root ?? dirname(file));
    try {
      const scene = opts.importScripts
        ? await loadSceneFile(file, assets, RunMode.Server, cwd).then((s) => ({ doc: s.doc, scripts: s.scripts.size, heightfields: s.heightfields.size }))
        : await inspectSceneFile(file, assets, RunMode.Server, cwd);
      const modelProblems = await checkModels(scene.doc, assets, relative(cwd, file) || file);
      if (modelProblems.length > 0) throw new SceneError(modelProblems);
      const e = scene.doc.entities.length;
      const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
      process.stdout.write(
        `ok   ${relative(cwd, file)}: scene "${scene.doc.name}", ${n(e, 'entity').replace('entitys', 'entities')}, ${n(scene.scripts, 'script')}, ${n(scene.heightfields, 'heightfield')}\n`,
      );
    } catch (err) {
      if (!(err instanceof SceneError)) throw err;
      bad++;
      problems += err.problems.length;
      process.stderr.write(`${err.message}\n`);
    }
  }
  const total = files.length;
  if (bad === 0) {
    process.stdout.write(`${total} scene${total === 1 ? '' : 's'} valid\n`);
    return 0;
  }
  process.stderr.write(`${bad} of ${total} scene${total === 1 ? '' : 's'} invalid (${problems} problem${problems === 1 ? '' : 's'})\n`);
  return 1;
}
