import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { formatSceneText } from '../runtime/core/scene/canonical.js';
import { SceneError } from '../runtime/core/index.js';
import { writeFileAtomic } from '../runtime/node/atomic-write.js';

/**
 * `keel fmt`: rewrites scene files in canonical form (runtime/core/scene/canonical.ts), or with
 * `check` only lists those that are not. Exit 0 when every file is (now) canonical, 1 when a file
 * is invalid or, with `check`, not canonical.
 */
export async function fmt(files: string[], cwd: string, opts: { check: boolean }): Promise<number> {
  let invalid = 0;
  const unformatted: string[] = [];
  let rewritten = 0;
  for (const f of files) {
    const file = resolve(cwd, f);
    const shown = relative(cwd, file) || file;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      process.stderr.write(`${shown}: cannot read: ${(err as Error).message}\n`);
      invalid++;
      continue;
    }
    if (isJsonSchema(text)) {
      // `keel fmt scenes/*.json` also matches the published schema beside the scenes.
      process.stderr.write(`skipped ${shown}: a JSON Schema, not a scene\n`);
      continue;
    }
    let canonical: string;
    try {
      canonical = formatSceneText(text, shown);
    } catch (err) {
      if (!(err instanceof SceneError)) throw err;
      process.stderr.write(`${err.message}\n`);
      invalid++;
      continue;
    }
    if (canonical === text) continue;
    if (opts.check) {
      unformatted.push(shown);
      process.stdout.write(`${shown}\n`);
    } else {
      await writeFileAtomic(file, canonical);
      rewritten++;
      process.stdout.write(`formatted ${shown}\n`);
    }
  }
  const n = (count: number) => `${count} file${count === 1 ? '' : 's'}`;
  if (invalid > 0) process.stderr.write(`${n(invalid)} could not be formatted (invalid scene)\n`);
  if (opts.check && unformatted.length > 0) {
    process.stderr.write(`${n(unformatted.length)} not in canonical form; run keel fmt ${unformatted.join(' ')}\n`);
    return 1;
  }
  if (!opts.check && rewritten === 0 && invalid === 0) process.stdout.write(`${n(files.length)} already canonical\n`);
  return invalid > 0 ? 1 : 0;
}

function isJsonSchema(text: string): boolean {
  try {
    const v = JSON.parse(text) as { $schema?: unknown; format?: unknown };
    return typeof v.$schema === 'string' && /^https?:\/\/json-schema\.org\//.test(v.$schema) && v.format === undefined;
  } catch {
    return false;
  }
}
