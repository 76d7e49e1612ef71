/**
 * The dev server's read-only scene API through a real Vite dev server: listing, files, strict
 * path checks (traversal, absolute paths, encoded tricks, dot-files, symlinks out, other file
 * types), no writes, and the `keel:scene-changed` event over Vite's HMR socket.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb } from '../browser/browser-helpers.js';
import { TempDirs, until } from '../helpers/wait.js';

const temp = new TempDirs('keel-scenes-api-');
let web: { server: ViteDevServer; url: string };
let dir: string;

beforeAll(async () => {
  dir = await temp.make();
  const outside = await temp.make();
  await writeFile(join(outside, 'secret.json'), '{"secret":true}');
  await writeFile(join(dir, 'arena.json'), '{"name":"arena"}');
  await writeFile(join(dir, 'keel-scene.schema.json'), '{}');
  await writeFile(join(dir, '.hidden.json'), '{}');
  await writeFile(join(dir, 'notes.txt'), 'not served');
  await mkdir(join(dir, 'scripts'));
  await writeFile(join(dir, 'scripts/a.js'), 'export default {};');
  await symlink(join(outside, 'secret.json'), join(dir, 'link.json'));
  web = await startWeb('scene-read-plugin', dir);
}, 60_000);

afterAll(async () => {
  await web?.server.close();
  await temp.cleanup();
});

const get = (path: string, init?: RequestInit) => fetch(`${web.url}${path}`, init);

describe('GET /__keel/scenes', () => {
  it('lists the scenes (not the schema, not hidden files, not other types)', async () => {
    const r = await get('/__keel/scenes');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { scenes: { name: string }[] };
    expect(body.scenes.map((s) => s.name)).toEqual(['arena', 'link']);
  });

  it('serves scene files and scripts with their content type, uncached', async () => {
    const r = await get('/__keel/scenes/arena.json');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await r.json()).toEqual({ name: 'arena' });
    const s = await get('/__keel/scenes/scripts/a.js');
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toContain('text/javascript');
  });

  const refused: [string, number][] = [
    ['/__keel/scenes/../package.json', 400],
    ['/__keel/scenes/%2e%2e/package.json', 400],
    ['/__keel/scenes/..%2Fpackage.json', 400],
    ['/__keel/scenes/scripts/..%2F..%2Fpackage.json', 400],
    ['/__keel/scenes/%2Fetc%2Fpasswd', 400],
    ['/__keel/scenes/scripts%5Ca.js', 400],
    ['/__keel/scenes/.hidden.json', 400],
    ['/__keel/scenes/%E0%A4%A.json', 400],
    ['/__keel/scenes/notes.txt', 403],
    ['/__keel/scenes/link.json', 403],
    ['/__keel/scenes/missing.json', 404],
  ];
  for (const [path, status] of refused) {
    it(`refuses ${path} with ${status}`, async () => {
      const r = await get(path);
      // URL parsing turns "/../" and "/%2e%2e/" into a step up before sending (Vite then finds no
      // such page); either way nothing outside the folder comes back.
      if (/\/(\.\.|%2e%2e)\//i.test(path)) expect([400, 404]).toContain(r.status);
      else expect(r.status).toBe(status);
      expect(await r.text()).not.toContain('"secret"');
    });
  }

  it('never writes: other methods are not answered by this plugin', async () => {
    const r = await get('/__keel/scenes/arena.json', { method: 'PUT', body: '{"name":"changed"}' });
    expect(r.status).not.toBe(200);
    expect(await (await get('/__keel/scenes/arena.json')).json()).toEqual({ name: 'arena' });
  });
});

describe('keel:scene-changed', () => {
  it('is pushed over the HMR socket when a scene file changes', async () => {
    const addr = web.server.config.server.hmr;
    const port = typeof addr === 'object' && addr?.port ? addr.port : Number(new URL(web.url).port);
    // Vite answers only sockets that carry its token (its defence against cross-site hijacking).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?token=${web.server.config.webSocketToken}`, 'vite-hmr', { headers: { origin: web.url } });
    const events: unknown[] = [];
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as { type: string; event?: string; data?: unknown };
      if (msg.type === 'custom' && msg.event === 'keel:scene-changed') events.push(msg.data);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      // The watcher may start a moment after the server: write until an event comes back.
      let n = 0;
      const data = await until(
        async () => {
          await writeFile(join(dir, 'arena.json'), `{"name":"arena","n":${++n}}`);
          return events.find((e) => (e as { scene?: string }).scene === 'arena');
        },
        'a keel:scene-changed event for arena',
        15_000,
        500,
      );
      expect(data).toEqual({ file: 'arena.json', scene: 'arena' });
    } finally {
      ws.close();
    }
  });
});
