/**
 * Atomic save: a writer process killed (SIGKILL) after writing and syncing its temporary file but
 * before the rename leaves the old scene whole; its leftover is a hidden `.tmp` file that nothing
 * takes for a scene, and the write plugin's start-up sweep removes it once its writer is dead.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { TEMP_PREFIX, writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { sweepTempFiles } from '../../runtime/node/dev/scene-write-plugin.js';
import { REPO } from '../helpers/keel-process.js';
import { TempDirs, until } from '../helpers/wait.js';

const temps = new TempDirs('keel-atomic-');
const children: number[] = [];
afterEach(async () => {
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await temps.cleanup();
});

/** Bundles a writer from source (no stale dist/) that stops between the synced temp file and the rename. */
async function writerScript(dir: string): Promise<string> {
  const entry = join(dir, 'writer.ts');
  await writeFile(
    entry,
    `import { writeFileAtomic } from ${JSON.stringify(join(REPO, 'runtime/node/atomic-write.ts'))};
import { readFileSync } from 'node:fs';
const [file, source] = process.argv.slice(2);
const text = readFileSync(source, 'utf8');
await writeFileAtomic(file, text, {
  beforeRename: (temp) => new Promise(() => { process.stdout.write('TEMP ' + temp + '\\n'); setInterval(() => {}, 1000); }),
});
process.stdout.write('RENAMED\\n');
`,
  );
  const out = join(dir, 'writer.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' });
  return out;
}

describe('atomic scene write', () => {
  it('a writer killed before the rename leaves the old file whole and only a hidden .tmp behind', async () => {
    const tools = await temps.make();
    const scenes = await temps.make();
    const file = join(scenes, 'arena.json');
    const old = await readFile(join(REPO, 'scenes/arena.json'), 'utf8');
    await writeFile(file, old);
    const next = old.replace('"name": "arena"', '"name": "arena-2"') + ' '.repeat(256 * 1024);

    const source = join(tools, 'next.json');
    await writeFile(source, next);
    const child = spawn(process.execPath, [await writerScript(tools), file, source], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child.pid!);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    const temp = await until(() => /^TEMP (.+)$/m.exec(out)?.[1], 'the writer to reach the rename', 20_000, 20);
    expect(await readFile(temp, 'utf8')).toBe(next); // the new bytes were written and synced
    process.kill(child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(out).not.toContain('RENAMED');

    expect(await readFile(file, 'utf8')).toBe(old);
    const names = await readdir(scenes);
    const leftovers = names.filter((n) => n !== 'arena.json');
    expect(leftovers).toHaveLength(1);
    expect(leftovers[0]!.startsWith(`${TEMP_PREFIX}arena.json.${child.pid}.`)).toBe(true);
    expect(names.filter((n) => n.endsWith('.json'))).toEqual(['arena.json']);

    expect(await sweepTempFiles(scenes)).toEqual(leftovers);
    expect(await readdir(scenes)).toEqual(['arena.json']);
  });

  it('the sweep leaves the temporary file of a writer that is still running', async () => {
    const scenes = await temps.make();
    const mine = `${TEMP_PREFIX}a.json.${process.pid}.abcdef012345.tmp`;
    await writeFile(join(scenes, mine), 'x');
    expect(await sweepTempFiles(scenes)).toEqual([]);
    expect(await readdir(scenes)).toEqual([mine]);
  });

  it('replaces the file and leaves nothing else when it completes', async () => {
    const dir = await temps.make();
    const file = join(dir, 's.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['s.json']);
  });
});
