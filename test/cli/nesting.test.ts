/**
 * A hostile scene nested far deeper than any real one (script props 100 000 levels deep) gets the
 * documented answer: `serve` exits 2 and `validate` exits 1, each with one message naming the file
 * and the pointer, never a stack overflow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cleanupTemp, expectOneLineConfigError, ground, put, scene, scripted, tempDir } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const DEPTH = 100_000;

/** The scene text with `props` nested DEPTH levels deep (written as text: JSON.stringify itself would overflow). */
async function deepScene(dir: string): Promise<string> {
  await put(dir, 'noop.js', 'export default {};\n');
  const text = JSON.stringify(scene('deep', [ground(), scripted('deep', 'noop.js', { a: 'HOLE' })]));
  const nested = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
  const file = join(dir, 'deep.json');
  await writeFile(file, text.replace('"HOLE"', nested));
  return file;
}

// The pointer down to the first level past the limit: the document is level 1, props level 6.
const POINTER = `/entities/1/components/script/props${'/a'.repeat(64 - 5)}`;

describe('deeply nested scenes', () => {
  it('serve exits 2 with one line naming the pointer', async () => {
    const file = await deepScene(await tempDir());
    const r = await runKeel(['serve', file, '--port', String(await freePort()), '--host', '127.0.0.1']);
    const line = expectOneLineConfigError(r, 'deep.json', `${POINTER}: nested deeper than 64 levels`);
    expect(line).not.toMatch(/stack/i);
  });

  it('validate exits 1 naming the file and the pointer, without a stack trace', async () => {
    const dir = await tempDir();
    const file = await deepScene(dir);
    const r = await runKeel(['validate', file], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`deep.json ${POINTER}: nested deeper than 64 levels`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
