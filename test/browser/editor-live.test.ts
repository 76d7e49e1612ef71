/**
 * The editor's "Attach to server" mode in a real browser against a real `keel serve
 * --admin-port` (Origin allow-list set to the editor dev server's origin): a wrong token is
 * refused with a clear message; attached, the Live panel streams the entity list (crates with
 * velocity and sleep state) with a rising tick, shows a selected entity's components and the
 * server's script errors; Pause stops the tick, Step advances it by exactly one, Resume runs it
 * again; Detach closes the panel; the editor's own document is untouched throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';
import { crate, ground, HOST, listening, put, scene, until } from '../cli/util.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

const TOKEN = 'live-view-token-0123456789';
// Each bomb throws once, at its own tick (a thrown script is disabled, and errors are not
// replayed to late subscribers), so some throw after the editor attaches however slow the start.
const bomb = `export default {\n  update(ctx) {\n    if (ctx.world.tick >= ctx.props.at) throw new Error('kaboom in the live view');\n  },\n};\n`;
const BOMBS = Array.from({ length: 40 }, (_, i) => ({
  id: `bomb-${i}`,
  components: { transform: { position: [5, 0, i] }, script: { module: 'scripts/bomb.js', props: { at: 120 * (i + 1) }, modes: ['server'] } },
}));

const temps = new TempDirs('keel-editor-live-');
let h: EditorHarness;
let admin = '';

beforeAll(async () => {
  h = await startEditor(await temps.make());
  const dir = await temps.make();
  await put(dir, 'scripts/bomb.js', bomb);
  const file = await put(
    dir,
    'live.json',
    scene('live', [
      ground(),
      crate('crate-a', 2),
      crate('crate-b', 4),
      crate('crate-c', 6),
      ...BOMBS,
    ]),
  );
  const adminPort = await freePort();
  const proc = startKeel(
    ['serve', file, '--host', HOST, '--port', String(await freePort()), '--admin-port', String(adminPort), '--admin-origin', h.url, '--no-watch'],
    { env: { SERVER_ADMIN_TOKEN: TOKEN } },
  );
  await listening(proc);
  admin = `ws://${HOST}:${adminPort}`;
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await h.keep(ctx.task.name);
});
afterAll(async () => {
  await stopAll();
  await h?.close();
  await temps.cleanup();
});

const tickNow = async (): Promise<number> => Number(await h.page.locator('.live-panel').getAttribute('data-live-tick'));

const framesNow = async (): Promise<number> => Number(await h.page.locator('.live-panel').getAttribute('data-live-frames'));

/** Waits until `n` more world frames have arrived. */
async function framesPass(n: number): Promise<void> {
  const from = await framesNow();
  await until(async () => ((await framesNow()) >= from + n ? true : undefined), `${n} more world frames`, 15_000);
}

async function attach(url: string, token: string): Promise<void> {
  const p = h.page;
  await p.click('[data-action="attach"]');
  await p.fill('.live-dialog input[name="url"]', url);
  await p.fill('.live-dialog input[name="token"]', token);
  await p.click('[data-action="connect"]');
}

describe('editor: attach to a running server', () => {
  it('refuses a wrong token clearly, then streams, pauses, steps exactly one tick, resumes and detaches', async () => {
    const p = h.page;
    await openScene(h, 'arena');
    const docBefore = JSON.stringify(await p.evaluate(() => (window as unknown as { keelEditor: { doc: unknown } }).keelEditor.doc));

    // A wrong token: the dialog stays, with a message naming the cause.
    await attach(admin, 'not-the-right-token-at-all');
    const refusal = p.locator('.live-dialog .live-problem');
    await refusal.waitFor({ timeout: 15_000 });
    expect(await refusal.textContent()).toMatch(/Refused: .*token/);
    expect(await p.locator('.live-panel').count()).toBe(0);
    await p.click('.live-dialog button:has-text("Cancel")');

    // The right token: the Live panel streams the world.
    await attach(admin, TOKEN);
    await p.locator('.live-panel').waitFor({ timeout: 15_000 });
    await p.locator('[data-live-entity="crate-c"]').waitFor({ timeout: 15_000 });
    for (const id of ['crate-a', 'crate-b', 'crate-c', 'ground']) expect(await p.locator(`[data-live-entity="${id}"]`).count()).toBe(1);
    // Bodies carry a sleep flag and a velocity.
    expect(['true', 'false']).toContain(await p.locator('[data-live-entity="crate-a"]').getAttribute('data-sleeping'));
    const t0 = await tickNow();
    await until(async () => ((await tickNow()) >= t0 + 30 ? true : undefined), 'the live tick to rise by 30', 20_000);
    // The URL is remembered, the token is not.
    const stored = await p.evaluate(() => JSON.stringify(Object.entries(localStorage)));
    expect(stored).toContain(admin);
    expect(stored).not.toContain(TOKEN);

    // At least 10 frames a second: world frames received over two seconds of page time.
    const frames = await p.evaluate(async () => {
      const count = () => Number(document.querySelector('.live-panel')!.getAttribute('data-live-frames'));
      const n0 = count();
      await new Promise((r) => setTimeout(r, 2000));
      return count() - n0;
    });
    expect(frames).toBeGreaterThanOrEqual(20);

    // Selecting an entity shows its components, read-only.
    await p.click('[data-live-entity="crate-b"]');
    const comps = p.locator('[data-live-selected="crate-b"] pre');
    await comps.waitFor();
    expect(JSON.parse((await comps.textContent())!)).toMatchObject({ rigidBody: { type: 'dynamic' }, collider: { shape: 'box' } });

    // The server's script error, with entity, file and line.
    const err = p.locator('.live-errors li[data-error-entity^="bomb-"]').first();
    await err.waitFor({ timeout: 15_000 });
    expect(await err.textContent()).toMatch(/bomb-\d+ scripts\/bomb\.js:3 update at tick \d+: kaboom in the live view/);

    // Pause: the tick stops.
    await p.click('[data-action="live-pause"]');
    await p.locator('.live-panel[data-live-paused="true"]').waitFor({ timeout: 10_000 });
    const paused = await tickNow();
    // Ten more stream frames later the tick has not moved.
    await framesPass(10);
    expect(await tickNow()).toBe(paused);

    // Step: exactly one tick, and still paused (checked again ten frames on).
    await p.click('[data-action="live-step"]');
    await until(async () => ((await tickNow()) !== paused ? true : undefined), 'the step to show', 10_000);
    await framesPass(10);
    expect(await tickNow()).toBe(paused + 1);
    expect(await p.locator('.live-panel').getAttribute('data-live-paused')).toBe('true');

    await h.shot('editor-live-attached');

    // Resume: running again.
    await p.click('[data-action="live-resume"]');
    await until(async () => ((await tickNow()) > paused + 10 ? true : undefined), 'the tick to run again', 10_000);

    // Detach: the panel goes, the editor's document never changed.
    await p.click('[data-action="detach"]');
    await p.locator('.live-panel').waitFor({ state: 'detached', timeout: 5000 });
    const after = await p.evaluate(() => {
      const k = (window as unknown as { keelEditor: { doc: unknown; dirty: boolean } }).keelEditor;
      return { doc: JSON.stringify(k.doc), dirty: k.dirty };
    });
    expect(after.dirty).toBe(false);
    expect(after.doc).toBe(docBefore);
    // The refused upgrade logs a network error in the console; anything else is a failure.
    expect(h.errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  }, 120_000);
});
