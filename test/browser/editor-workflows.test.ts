/**
 * Editor workflows in a real browser over a temp scenes folder: bulk edits with mixed values,
 * hierarchy reparenting by drag and drop, duplicate/delete/copy-paste, validation problems at
 * their pointers and a refused save (422), an outside change (reload when clean, 409 when
 * saving over it), recovery of unsaved edits after the tab went away, and a new scene from a
 * template. Each screen is kept as a 1280x720 screenshot under test-results/editor/screens/.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDocument } from '../../runtime/core/index.js';
import { docWorldPose } from '../../runtime/core/edit/scene-edit.js';
import { TempDirs, until } from '../helpers/wait.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

interface Handle {
  doc: SceneDocument;
  selection: string[];
  dirty: boolean;
  dialog: string | null;
  problems: { pointer: string }[];
  history: { position: number; length: number; labels: string[] };
}

const temps = new TempDirs('keel-editor-wf-');
let h: EditorHarness;
let failed = false;

beforeAll(async () => {
  h = await startEditor(await temps.make());
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    failed = true;
    await h.keep(`workflow ${ctx.task.name}`);
  }
});
afterAll(async () => {
  await h?.close();
  if (!failed) await temps.cleanup();
});

const ed = <T>(fn: (k: Handle) => T): Promise<T> => h.page.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;
const doc = () => ed((k) => k.doc);
const entity = async (id: string) => (await doc()).entities.find((e) => e.id === id);
const indexOf = async (id: string) => (await doc()).entities.findIndex((e) => e.id === id);
const blur = () => h.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
const waitFor = <T>(fn: (k: Handle) => T | undefined, what: string) => until(async () => (await ed(fn)) ?? undefined, what, 20_000, 50);

describe('editor workflows', { timeout: 90_000 }, () => {
  it('shows the scene list and opens the arena', async () => {
    await h.page.goto(`${h.url}/editor/`);
    await h.page.waitForSelector('[data-scene="arena"]');
    await h.shot('01-scene-list');
    await h.page.click('[data-scene="arena"]');
    await h.page.waitForFunction(() => (window as unknown as { keelEditor?: { ready: boolean } }).keelEditor?.ready === true);
    expect(h.page.url()).toContain('/editor/?scene=arena');
  });

  it('edits two selected crates as one step and shows differing fields as mixed', async () => {
    await h.page.click('[data-entity-id="crate-01"]');
    await h.page.click('[data-entity-id="crate-04"]', { modifiers: ['Control'] });
    expect(await ed((k) => k.selection)).toEqual(['crate-01', 'crate-04']);
    const i = await indexOf('crate-01');
    const x = h.page.locator(`[data-pointer="/entities/${i}/components/transform/position/0"]`);
    expect(await x.getAttribute('class')).toContain('mixed');
    expect(await x.inputValue()).toBe('');
    await h.shot('02-inspector-multi');
    const steps = (await ed((k) => k.history)).length;
    const y = h.page.locator(`[data-pointer="/entities/${i}/components/transform/position/1"]`);
    await y.fill('3');
    await blur();
    expect((await entity('crate-01'))!.components.transform!.position[1]).toBe(3);
    expect((await entity('crate-04'))!.components.transform!.position[1]).toBe(3);
    expect((await ed((k) => k.history)).length).toBe(steps + 1);
    await h.page.keyboard.press('Control+z');
    expect((await entity('crate-01'))!.components.transform!.position[1]).toBe(0.5);
    expect((await entity('crate-04'))!.components.transform!.position[1]).toBe(0.6);
  });

  it('reparents by drag and drop in the hierarchy, keeping the world pose', async () => {
    const before = docWorldPose(await doc(), 'crate-01')[0];
    await h.page.dragAndDrop('[data-entity-id="crate-01"]', '[data-entity-id="crate-stack"]');
    await waitFor((k) => (k.doc.entities.find((e) => e.id === 'crate-01')!.parent === 'crate-stack' ? true : undefined), 'crate-01 under crate-stack');
    const after = docWorldPose(await doc(), 'crate-01')[0];
    after.forEach((v, n) => expect(v).toBeCloseTo(before[n]!, 6));
    await h.page.keyboard.press('Control+z');
    expect((await entity('crate-01'))!.parent ?? null).toBeNull();
  });

  it('renames inline with F2, duplicates, deletes, copies and pastes', async () => {
    await h.page.click('[data-entity-id="crate-02"]');
    await h.page.keyboard.press('F2');
    await h.page.keyboard.type('Left crate');
    await h.page.keyboard.press('Enter');
    expect((await entity('crate-02'))!.name).toBe('Left crate');

    await h.page.keyboard.press('Control+d');
    const dup = await waitFor((k) => (k.selection[0] !== 'crate-02' ? k.selection[0] : undefined), 'the duplicate selected');
    expect(dup).toBe('crate-13');
    expect((await entity(dup))!.components).toEqual((await entity('crate-02'))!.components);
    await h.page.keyboard.press('Delete');
    expect(await entity(dup)).toBeUndefined();

    await h.page.click('[data-entity-id="crate-stack"]');
    await h.page.keyboard.press('Control+c');
    await h.page.keyboard.press('Control+v');
    const pasted = await waitFor((k) => (k.selection[0] && k.selection[0] !== 'crate-stack' ? k.selection[0] : undefined), 'the pasted stack selected');
    const all = await doc();
    const children = all.entities.filter((e) => e.parent === pasted).map((e) => e.id);
    expect(children).toHaveLength(2); // the stack's two crates came along, with fresh ids
    expect(children.some((c) => c === 'crate-11' || c === 'crate-12')).toBe(false);
    await h.shot('03-editor-selection');
  });

  it('lists the scripts of the folder in the script picker and edits script props as key/value', async () => {
    await h.page.click('[data-entity-id="platform"]');
    const i = await indexOf('platform');
    const module = h.page.locator(`[data-pointer="/entities/${i}/components/script/module"]`);
    const listId = await module.getAttribute('list');
    const options = await h.page.locator(`datalist[id="${listId}"] option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain((await entity('platform'))!.components.script!.module);
    expect(options.every((o) => o.endsWith('.js') || o.endsWith('.mjs'))).toBe(true);
    const props = (await entity('platform'))!.components.script!.props;
    const key = Object.keys(props)[0]!;
    const value = h.page.locator(`.record input.val[data-pointer="/entities/${i}/components/script/props/${key}"]`);
    await value.fill('42');
    await value.press('Tab');
    expect((await entity('platform'))!.components.script!.props[key]).toBe(42);
    await h.page.keyboard.press('Control+z');
    expect((await entity('platform'))!.components.script!.props).toEqual(props);
  });

  it('shows validation problems at their pointer and the refused save (422)', async () => {
    await h.page.click('[data-entity-id="crate-05"]');
    const i = await indexOf('crate-05');
    const pointer = `/entities/${i}/components/material/roughness`;
    const field = h.page.locator(`input[type="text"][data-pointer="${pointer}"]`);
    await field.fill('5');
    await blur();
    await waitFor((k) => (k.problems.length > 0 ? true : undefined), 'a validation problem');
    expect(await h.page.locator(`.field.invalid [data-pointer="${pointer}"]`).count()).toBeGreaterThan(0);
    await h.page.keyboard.press('Control+s');
    await waitFor((k) => (k.dialog === 'invalid' ? true : undefined), 'the 422 dialog');
    expect(await h.page.locator(`.dialog [data-problem-pointer="${pointer}"]`).count()).toBe(1);
    await h.shot('04-save-refused-422');
    await h.page.click('.dialog button.primary');
    await h.page.keyboard.press('Control+z');
    await waitFor((k) => (k.problems.length === 0 ? true : undefined), 'no problems after undo');
    await h.page.keyboard.press('Control+s');
    await waitFor((k) => (k.dirty ? undefined : true), 'the save');
  });

  it('reloads an outside change when clean, and asks on save over one (409)', async () => {
    const file = join(h.scenesDir, 'arena.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"name": "Crate 6"', '"name": "Crate six"'));
    await waitFor((k) => (k.doc.entities.find((e) => e.id === 'crate-06')!.name === 'Crate six' ? true : undefined), 'the outside change reloaded');
    expect(await ed((k) => k.history.length)).toBe(0);

    await h.page.click('[data-entity-id="crate-07"]');
    await h.page.keyboard.press('F2');
    await h.page.keyboard.type('Mine');
    await h.page.keyboard.press('Enter');
    const now = await readFile(file, 'utf8');
    await writeFile(file, now.replace('"name": "Crate 8"', '"name": "Theirs"'));
    await waitFor((k) => (k.dialog === 'changed' ? true : undefined), 'the changed-on-disk question');
    await h.page.click('.dialog button.primary'); // keep editing
    await h.page.keyboard.press('Control+s');
    await waitFor((k) => (k.dialog === 'conflict' ? true : undefined), 'the 409 dialog');
    await h.shot('05-save-conflict-409');
    expect(await readFile(file, 'utf8')).toContain('"name": "Theirs"');
    await h.page.click('.dialog button:has-text("Overwrite")');
    await waitFor((k) => (k.dirty ? undefined : true), 'the overwrite');
    const saved = await readFile(file, 'utf8');
    expect(saved).toContain('"name": "Mine"');
    expect(saved).not.toContain('"name": "Theirs"');
  });

  it('offers to recover unsaved edits after the tab went away', async () => {
    await h.page.click('[data-entity-id="crate-09"]');
    await h.page.keyboard.press('F2');
    await h.page.keyboard.type('Unsaved');
    await h.page.keyboard.press('Enter');
    await openScene(h, 'arena');
    await waitFor((k) => (k.dialog === 'recover' ? true : undefined), 'the recovery question');
    await h.shot('06-recover');
    await h.page.click('.dialog button.primary');
    expect((await entity('crate-09'))!.name).toBe('Unsaved');
    expect(await ed((k) => k.dirty)).toBe(true);
  });

  it('Play mode draws the running scene', async () => {
    await h.page.click('[data-action="play"]');
    await until(async () => ((await h.page.evaluate('window.keelEditor.playTick')) as number) > 20 ? true : undefined, 'Play to run', 30_000, 100);
    await h.shot('07-play');
    await h.page.click('[data-action="play"]');
  });

  it('shows collider overlays on request', async () => {
    const toggle = h.page.locator('label.toggle:has-text("Colliders")');
    await toggle.locator('input').check();
    expect(await toggle.getAttribute('class')).toContain('on');
    await h.page.click('[data-entity-id="crate-10"]');
    await h.shot('09-colliders');
    await toggle.locator('input').uncheck();
    expect(await toggle.getAttribute('class')).not.toContain(' on');
  });

  it('creates a new scene from a template', async () => {
    await h.page.goto(`${h.url}/editor/`);
    await h.page.fill('.new-scene input', 'level-2');
    await h.page.click('.new-scene button[type="submit"]');
    await h.page.waitForFunction(() => (window as unknown as { keelEditor?: { ready: boolean } }).keelEditor?.ready === true);
    expect(h.page.url()).toContain('?scene=level-2');
    const created = JSON.parse(await readFile(join(h.scenesDir, 'level-2.json'), 'utf8')) as SceneDocument;
    expect((await doc()).entities.map((e) => e.id)).toEqual(created.entities.map((e) => e.id));
    await h.shot('08-new-scene');
  });

  it("logged no console errors but the browser's notes of the two refused saves", () => {
    expect(h.errors).toEqual([
      'Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)',
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
  });
});
