/**
 * `keel edit [scenes-dir]` through the built CLI: it serves the editor page (with a write
 * token) and the folder's scenes on 127.0.0.1, stops on SIGTERM, and refuses a missing folder
 * with one line and exit 2. The server bundle never contains vite.
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';

const temps = new TempDirs('keel-edit-');
afterEach(async () => {
  await stopAll();
  await temps.cleanup();
});

describe('keel edit', () => {
  it('serves the editor for a folder of scenes and stops on SIGTERM', async () => {
    const dir = await temps.make();
    await cp(join(REPO, 'scenes', 'arena.json'), join(dir, 'only-this.json'));
    const port = await freePort();
    const p = startKeel(['edit', dir, '--port', String(port)]);
    await p.waitForText(`Editor  http://127.0.0.1:${port}/editor/`, 60_000);
    const page = await (await fetch(`http://127.0.0.1:${port}/editor/`)).text();
    expect(page).toMatch(/<meta name="keel-token" content="[0-9a-f]{64}"/);
    const list = (await (await fetch(`http://127.0.0.1:${port}/__keel/scenes`)).json()) as { scenes: { name: string }[] };
    expect(list.scenes.map((s) => s.name)).toEqual(['only-this']);
    const r = await p.stop('SIGTERM', 10_000);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('refuses a missing folder with one line naming it, exit 2', async () => {
    const missing = join(await temps.make(), 'nope');
    const r = await runKeel(['edit', missing, '--port', String(await freePort())]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`keel edit: scenes folder ${missing} does not exist or is not a folder`]);
  });

  it('keeps vite out of the server bundle', async () => {
    const meta = JSON.parse(await readFile(join(REPO, 'dist/keel.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs).filter((i) => i.includes('node_modules/vite/'))).toEqual([]);
  });
});
