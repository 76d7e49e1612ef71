/**
 * The scene file API through a real Vite dev server on 127.0.0.1 and real HTTP requests: saves
 * are validated, canonical, hash-checked and atomic; every write needs the page's token, this
 * server's Origin and a loopback Host; nothing outside the scenes folder can be written.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalSceneText } from '../../runtime/core/scene/canonical.js';
import { parseSceneText } from '../../runtime/core/scene/validate.js';
import { applySceneEdits, type SceneEdit } from '../../runtime/core/edit/scene-edit.js';
import { DEFAULT_MAX_BODY_BYTES, SCENE_EDITS_TYPE, SCENES_API, TOKEN_HEADER } from '../../runtime/node/dev/scene-write-plugin.js';
import { REPO } from '../helpers/keel-process.js';
import { TempDirs } from '../helpers/wait.js';
import { send, startDevServer, type DevServer } from './util.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const temps = new TempDirs('keel-dev-');
let root: string;
let scenes: string;
let dev: DevServer;
let token: string;
let arenaText: string;
const SECRET = '{"format":"keel-scene","version":1,"name":"outside","entities":[]}';

beforeAll(async () => {
  root = await temps.make();
  scenes = join(root, 'scenes');
  await mkdir(scenes);
  await writeFile(join(root, 'index.html'), '<!doctype html><html><head><title>t</title></head><body></body></html>');
  await writeFile(join(root, 'secret.json'), SECRET);
  await symlink(join(root, 'secret.json'), join(scenes, 'link-out.json'));
  await symlink(root, join(scenes, 'dir-out'));
  dev = await startDevServer(root, { scenesDir: scenes });
});

afterAll(async () => {
  await dev?.close();
  await temps.cleanup();
});

beforeEach(async () => {
  await copyFile(join(REPO, 'scenes/arena.json'), join(scenes, 'arena.json'));
  arenaText = await readFile(join(scenes, 'arena.json'), 'utf8');
  await writeFile(join(root, 'secret.json'), SECRET);
});

/** Headers of a well-formed write from the editor page. */
const good = (extra: Record<string, string> = {}) => ({
  Host: `127.0.0.1:${dev.port}`,
  Origin: dev.origin,
  [TOKEN_HEADER]: token,
  'Content-Type': 'application/json',
  ...extra,
});

/** The arena with one crate moved, as the editor would send it. */
function movedArena(dx = 1): { text: string; id: string } {
  const r = parseSceneText(arenaText, 'arena.json');
  if (!r.ok) throw new Error('arena invalid');
  const e = r.scene.entities.find((x) => x.components.rigidBody?.type === 'dynamic')!;
  const t = e.components.transform!;
  t.position = [t.position[0] + dx, t.position[1], t.position[2]];
  return { text: canonicalSceneText(r.scene), id: e.id };
}

const put = (name: string, body: string, headers = good({ 'If-Match': sha(arenaText) })) => send(dev.port, 'PUT', `${SCENES_API}/${name}`, headers, body);
const diskArena = () => readFile(join(scenes, 'arena.json'), 'utf8');

describe('scene write API', () => {
  it('binds 127.0.0.1 by default and hands the token to served pages in a meta tag', async () => {
    const addr = dev.server.httpServer!.address();
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1');
    const page = await send(dev.port, 'GET', '/', { Host: `127.0.0.1:${dev.port}` });
    expect(page.status).toBe(200);
    const m = /<meta name="keel-token" content="([0-9a-f]{64})"/.exec(page.body);
    expect(m, page.body).not.toBeNull();
    token = m![1]!;
  });

  it('saves a valid edit atomically in canonical form and answers the new sha256', async () => {
    const { text } = movedArena();
    const r = await put('arena.json', text);
    expect(r.status, r.body).toBe(200);
    const disk = await diskArena();
    expect(disk).toBe(text);
    expect(r.json.hash).toBe(sha(disk));
    expect(r.headers.etag).toBe(`"${sha(disk)}"`);
    expect((await readdir(scenes)).filter((n) => !['arena.json', 'link-out.json', 'dir-out'].includes(n))).toEqual([]);
  });

  it('writes canonical text even when the body is compact or omits defaults', async () => {
    const { text } = movedArena(2);
    const compact = JSON.parse(text) as { entities: { components: { material?: Record<string, unknown> } }[] };
    for (const e of compact.entities) delete e.components.material?.opacity;
    const r = await put('arena.json', JSON.stringify(compact));
    expect(r.status, r.body).toBe(200);
    expect(await diskArena()).toBe(text);
  });

  it('refuses a stale If-Match with 409 and the current hash, leaving the file', async () => {
    const other = movedArena(5).text;
    await writeFile(join(scenes, 'arena.json'), other); // someone else saved meanwhile
    const r = await put('arena.json', movedArena(1).text);
    expect(r.status, r.body).toBe(409);
    expect(r.json.current).toBe(sha(other));
    expect(await diskArena()).toBe(other);
  });

  it('lets exactly one of two saves from the same version win', async () => {
    const [a, b] = await Promise.all([put('arena.json', movedArena(1).text), put('arena.json', movedArena(2).text)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? movedArena(1).text : movedArena(2).text;
    expect(await diskArena()).toBe(winner);
  });

  it('needs If-Match for an existing file (428) but not to create one', async () => {
    const r = await put('arena.json', movedArena().text, good());
    expect(r.status, r.body).toBe(428);
    expect(r.json.current).toBe(sha(arenaText));
    expect(await diskArena()).toBe(arenaText);
    const created = await put('fresh.json', arenaText, good());
    expect(created.status, created.body).toBe(200);
    expect(await readFile(join(scenes, 'fresh.json'), 'utf8')).toBe(arenaText);
  });

  describe('an edits save (the edits since a version, not the whole scene)', () => {
    const arenaDoc = () => {
      const r = parseSceneText(arenaText, 'arena.json');
      if (!r.ok) throw new Error('arena invalid');
      return r.scene;
    };
    const putEdits = (edits: unknown, ifMatch: string | null, body?: string) =>
      send(dev.port, 'PUT', `${SCENES_API}/arena.json`, good({ 'Content-Type': SCENE_EDITS_TYPE, ...(ifMatch === null ? {} : { 'If-Match': ifMatch }) }), body ?? JSON.stringify({ edits }));
    const crate = () => arenaDoc().entities.find((x) => x.components.rigidBody?.type === 'dynamic')!.id;

    it('writes exactly what a full save of the edited document writes, twice in a row from the answered hash', async () => {
      const id = crate();
      const first: SceneEdit[] = [
        { op: 'set', entity: id, path: '/components/transform/position', value: [3, 4, 5] },
        { op: 'set', entity: id, path: '/name', value: 'Moved crate' },
        { op: 'add', entity: { id: 'added-by-edits', components: { transform: { position: [1, 2, 3] }, mesh: { shape: 'sphere' } } } },
      ];
      const r1 = await putEdits(first, sha(arenaText));
      expect(r1.status, r1.body).toBe(200);
      const expected1 = canonicalSceneText(applySceneEdits(arenaDoc(), first).doc);
      expect(await diskArena()).toBe(expected1);
      expect(r1.json.hash).toBe(sha(expected1));
      // The next save starts from the version this one answered with (the server's copy in memory).
      const second: SceneEdit[] = [{ op: 'remove', entity: 'added-by-edits' }, { op: 'set', entity: id, path: '/components/transform/position', value: [0, 9, 0] }];
      const r2 = await putEdits(second, r1.json.hash as string);
      expect(r2.status, r2.body).toBe(200);
      const expected2 = canonicalSceneText(applySceneEdits(applySceneEdits(arenaDoc(), first).doc, second).doc);
      expect(await diskArena()).toBe(expected2);
      expect(r2.json.hash).toBe(sha(expected2));
    });

    it('notices a change on disk right after its own save, even one of the same length', async () => {
      const id = crate();
      const r1 = await putEdits([{ op: 'set', entity: id, path: '/components/transform/position', value: [1, 2, 3] }], sha(arenaText));
      expect(r1.status, r1.body).toBe(200);
      // Someone rewrites the file in place: one digit changed, the length the same.
      const mine = await diskArena();
      const theirs = mine.replace('[1, 2, 3]', '[1, 2, 4]');
      expect(theirs.length).toBe(mine.length);
      await writeFile(join(scenes, 'arena.json'), theirs);
      const stale = await putEdits([{ op: 'set', entity: id, path: '/name', value: 'x' }], r1.json.hash as string);
      expect(stale.status, stale.body).toBe(409);
      expect(stale.json.current).toBe(sha(theirs));
      expect(await diskArena()).toBe(theirs);
      const whole = await put('arena.json', movedArena(3).text, good({ 'If-Match': r1.json.hash as string }));
      expect(whole.status, whole.body).toBe(409);
    });

    it('applies edits to a version written by someone else, read from disk', async () => {
      const other = movedArena(4).text;
      await writeFile(join(scenes, 'arena.json'), other);
      const edit: SceneEdit = { op: 'set', entity: crate(), path: '/tags', value: ['edited'] };
      const r = await putEdits([edit], sha(other));
      expect(r.status, r.body).toBe(200);
      const base = parseSceneText(other, 'arena.json');
      if (!base.ok) throw new Error('invalid');
      expect(await diskArena()).toBe(canonicalSceneText(applySceneEdits(base.scene, [edit]).doc));
    });

    it('refuses a stale version (409), no version (428), a malformed list (400), an edit that does not apply or leaves the scene invalid (422), leaving the file', async () => {
      const id = crate();
      const ok: SceneEdit = { op: 'set', entity: id, path: '/components/transform/position', value: [1, 1, 1] };
      const stale = await putEdits([ok], sha('not this version'));
      expect(stale.status, stale.body).toBe(409);
      expect(stale.json.current).toBe(sha(arenaText));
      expect((await putEdits([ok], null)).status).toBe(428);
      expect((await putEdits([ok], '*')).status).toBe(428);
      const malformed = await putEdits([{ op: 'explode' }], sha(arenaText));
      expect(malformed.status, malformed.body).toBe(400);
      expect(malformed.json.error).toMatch(/edits\[0\]/);
      expect((await putEdits(null, sha(arenaText), '{"edits": 7}')).status).toBe(400);
      expect((await putEdits(null, sha(arenaText), 'not json')).status).toBe(400);
      const nobody = await putEdits([{ op: 'set', entity: 'nobody', path: '/name', value: 'x' }], sha(arenaText));
      expect(nobody.status, nobody.body).toBe(422);
      expect(nobody.json.problems[0].message).toMatch(/nobody/);
      const invalid = await putEdits([{ op: 'set', entity: id, path: '/components/transform/position', value: 'up' }], sha(arenaText));
      expect(invalid.status, invalid.body).toBe(422);
      expect(invalid.json.problems.map((p: { pointer: string }) => p.pointer).join(' ')).toMatch(/transform\/position/);
      expect(await diskArena()).toBe(arenaText);
      // The refusals left the server's copy as it was: a good edit still applies to the version on disk.
      const after = await putEdits([ok], sha(arenaText));
      expect(after.status, after.body).toBe(200);
      expect(await diskArena()).toBe(canonicalSceneText(applySceneEdits(arenaDoc(), [ok]).doc));
    });
  });

  it('refuses an invalid scene with 422, every problem and its pointer, and leaves the file', async () => {
    const doc = JSON.parse(arenaText) as { entities: { id: string; components: Record<string, any> }[] };
    doc.entities[1]!.components.rigidBody = { type: 'floaty' };
    doc.entities[2]!.id = doc.entities[0]!.id;
    const r = await put('arena.json', JSON.stringify(doc));
    expect(r.status, r.body).toBe(422);
    expect(r.json.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/entities/1/components/rigidBody/type', rule: 'enum' }),
        expect.objectContaining({ pointer: '/entities/2/id', rule: 'duplicate-id' }),
      ]),
    );
    expect(await diskArena()).toBe(arenaText);
    const deep = JSON.parse(arenaText) as { entities: { components: Record<string, any> }[] };
    deep.entities[0]!.components.script = { module: 'x.js', props: { deep: 'DEEP' } };
    const nested = await put('arena.json', JSON.stringify(deep).replace('"DEEP"', '['.repeat(100_000) + ']'.repeat(100_000)));
    expect(nested.status, nested.body).toBe(422);
    expect(nested.json.problems[0].rule).toBe('depth');
    expect(await diskArena()).toBe(arenaText);
    const syntax = await put('arena.json', '{"format": "keel-scene",');
    expect(syntax.status).toBe(422);
    expect(syntax.json.problems[0].rule).toBe('json-syntax');
    expect(await diskArena()).toBe(arenaText);
  });

  it.each([
    ['parent segment', '../secret.json'],
    ['nested parent segments', 'a/../../secret.json'],
    ['encoded dots', '%2e%2e/secret.json'],
    ['encoded slash', '..%2fsecret.json'],
    ['fully encoded', '%2e%2e%2fsecret.json'],
    ['double encoding', '%252e%252e%252fsecret.json'],
    ['encoded backslash', '..%5csecret.json'],
    ['raw backslash', '..\\secret.json'],
    ['absolute, encoded', '%2F' + 'tmp%2Fsecret.json'],
    ['Windows drive', 'C:%5Cwindows%5Cx.json'],
    ['symlink to a file outside', 'link-out.json'],
    ['symlinked folder outside', 'dir-out/secret.json'],
    ['not .json', 'arena.txt'],
    ['hidden file', '.arena.json'],
    ['NUL byte', 'arena.json%00.json'],
  ])('refuses a path outside the scenes folder with 403: %s', async (_what, path) => {
    const r = await put(path, SECRET.replace('outside', 'pwned'), good());
    expect(r.status, r.body).toBe(403);
    expect(await readFile(join(root, 'secret.json'), 'utf8')).toBe(SECRET);
    expect((await readdir(root)).sort()).toEqual(['index.html', 'scenes', 'secret.json']);
  });

  it.each([
    ['no token', { [TOKEN_HEADER]: '' }],
    ['a wrong token', { [TOKEN_HEADER]: 'f'.repeat(64) }],
    ['a foreign Origin', { Origin: 'http://evil.example' }],
    ['a foreign Origin on the same port', { Origin: `http://evil.example:${0}` }],
    ['no Origin', { Origin: '' }],
    ['a foreign Host (DNS rebinding)', { Host: 'evil.example:PORT' }],
    ['a LAN address as Host', { Host: '10.0.0.5:PORT' }],
    ['the right host on another port', { Host: '127.0.0.1:1' }],
  ])('refuses a write with %s (403), file untouched', async (_what, override) => {
    const headers: Record<string, string> = good({ 'If-Match': sha(arenaText) });
    for (const [k, v] of Object.entries(override)) {
      if (v === '') delete headers[k];
      else headers[k] = v.replace('PORT', String(dev.port)).replace(':0', `:${dev.port}`);
    }
    const r = await send(dev.port, 'PUT', `${SCENES_API}/arena.json`, headers, movedArena().text);
    expect(r.status, r.body).toBe(403);
    expect(await diskArena()).toBe(arenaText);
  });

  it('answers 413 to a body over the cap, before reading it all, with or without Content-Length', async () => {
    for (const declareLength of [true, false]) {
      const r = await send(dev.port, 'PUT', `${SCENES_API}/arena.json`, good({ 'If-Match': sha(arenaText) }), {
        bytes: DEFAULT_MAX_BODY_BYTES + 1024 * 1024,
        declareLength,
      });
      expect(r.status, `declareLength ${declareLength}: ${r.body}`).toBe(413);
      expect(await diskArena()).toBe(arenaText);
    }
  });

  it('creates a new scene from a template with POST, once', async () => {
    const r = await send(dev.port, 'POST', SCENES_API, good(), JSON.stringify({ name: 'level-2' }));
    expect(r.status, r.body).toBe(201);
    const text = await readFile(join(scenes, 'level-2.json'), 'utf8');
    expect(r.json.hash).toBe(sha(text));
    const parsed = parseSceneText(text, 'level-2.json');
    expect(parsed.ok && parsed.scene.entities.some((e) => e.components.spawnPoint)).toBe(true);
    expect(parsed.ok && canonicalSceneText(parsed.scene)).toBe(text);
    const again = await send(dev.port, 'POST', SCENES_API, good(), JSON.stringify({ name: 'level-2' }));
    expect(again.status).toBe(409);
    const bad = await send(dev.port, 'POST', SCENES_API, good(), JSON.stringify({ name: '../x' }));
    expect(bad.status).toBe(400);
    const noToken = await send(dev.port, 'POST', SCENES_API, { ...good(), [TOKEN_HEADER]: 'nope' }, JSON.stringify({ name: 'level-3' }));
    expect(noToken.status).toBe(403);
  });
});
