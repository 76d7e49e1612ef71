/**
 * The editor in a real browser against a real dev server over a temp copy of the scenes folder:
 * select, inspect, drag the gizmo with real mouse events, undo/redo, marquee, save to disk in
 * canonical form, history across a reload, Play and Stop.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDocument } from '../../runtime/core/index.js';
import { formatSceneText } from '../../runtime/core/scene/canonical.js';
import { TempDirs, until } from '../helpers/wait.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

interface Handle {
  doc: SceneDocument;
  selection: string[];
  dirty: boolean;
  playing: boolean;
  playTick: number;
  dialog: string | null;
  history: { position: number; length: number; labels: string[] };
  entityClient(id: string): { x: number; y: number } | null;
  gizmoHandle(axis: 'X' | 'Y' | 'Z', t?: number): { x: number; y: number } | null;
}

const temps = new TempDirs('keel-editor-');
let h: EditorHarness;
let failed = false;

beforeAll(async () => {
  h = await startEditor(await temps.make());
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    failed = true;
    await h.keep(ctx.task.name);
  }
});
afterAll(async () => {
  await h?.close();
  if (!failed) await temps.cleanup();
});

const ed = <T>(fn: (k: Handle) => T): Promise<T> => h.page.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;
const pos = async (id: string) => ed((k) => k.doc.entities).then((list) => list.find((e) => e.id === id)!.components.transform!.position);
const blur = () => h.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());

/** Saves with Ctrl+S; returns how the save went over the wire: each PUT's content type and body size. */
async function saveAndWatch(): Promise<{ type: string; bytes: number; status: number }[]> {
  const puts: { type: string; bytes: number; status: number }[] = [];
  const seen = (res: import('playwright-core').Response) => {
    const req = res.request();
    if (req.method() === 'PUT') puts.push({ type: req.headers()['content-type'] ?? '', bytes: req.postDataBuffer()?.length ?? 0, status: res.status() });
  };
  h.page.on('response', seen);
  await h.page.keyboard.press('Control+s');
  await until(async () => ((await ed((k) => k.dirty)) === false ? true : undefined), 'the save', 15_000, 50);
  h.page.off('response', seen);
  return puts;
}

/** Drags the gizmo's X arrow by `dx` pixels with real mouse events. */
async function dragGizmoX(dx: number): Promise<void> {
  const at = await ed((k) => k.gizmoHandle('X'));
  expect(at).not.toBeNull();
  const m = h.page.mouse;
  await m.move(at!.x, at!.y);
  await m.down();
  for (let i = 1; i <= 8; i++) await m.move(at!.x + (dx * i) / 8, at!.y);
  await m.up();
}

describe('editor on the arena', { timeout: 90_000 }, () => {
  let original = '';
  let crateIndex = -1;

  it('opens the arena and selects a crate in the hierarchy', async () => {
    original = await readFile(join(h.scenesDir, 'arena.json'), 'utf8');
    await openScene(h, 'arena');
    await h.page.click('[data-entity-id="crate-01"]');
    await until(async () => ((await ed((k) => k.selection)).join() === 'crate-01' ? true : undefined), 'crate-01 selected', 10_000, 50);
    crateIndex = (await ed((k) => k.doc.entities.map((e) => e.id))).indexOf('crate-01');
    expect(await h.page.locator('[data-entity-id="crate-01"]').getAttribute('class')).toContain('selected');
  });

  it('changes the position in the inspector', async () => {
    const input = h.page.locator(`[data-pointer="/entities/${crateIndex}/components/transform/position/2"]`);
    await input.fill('-9');
    await blur();
    expect(await pos('crate-01')).toEqual([-10, 0.5, -9]);
    expect(await ed((k) => k.dirty)).toBe(true);
  });

  it('drags the crate with the gizmo as one undo step, then undoes and redoes it', async () => {
    const before = await ed((k) => k.history.length);
    await dragGizmoX(120);
    const moved = await pos('crate-01');
    expect(moved[0]).toBeGreaterThan(-10);
    expect(moved.slice(1)).toEqual([0.5, -9]);
    expect(Number.isInteger(moved[0] * 2)).toBe(true); // snapped to the 0.5 m grid
    const after = await ed((k) => k.history);
    expect(after.length).toBe(before + 1);
    expect(after.labels.at(-1)).toBe('Move crate-01');

    await h.page.keyboard.press('Control+z');
    expect(await pos('crate-01')).toEqual([-10, 0.5, -9]);
    await h.page.keyboard.press('Control+Shift+z');
    expect(await pos('crate-01')).toEqual(moved);
  });

  it('marquee-selects two crates and moves both with one drag', async () => {
    await h.page.keyboard.press('Escape');
    const ids = await ed((k) => k.doc.entities.map((e) => e.id));
    const points = new Map<string, { x: number; y: number }>();
    for (const id of ids) {
      const p = await h.page.evaluate(`window.keelEditor.entityClient(${JSON.stringify(id)})`) as { x: number; y: number } | null;
      if (p) points.set(id, p);
    }
    const box = (await h.page.locator('.viewport-canvas').boundingBox())!;
    const inside = (p: { x: number; y: number }) => p.x > box.x + 10 && p.x < box.x + box.width - 10 && p.y > box.y + 10 && p.y < box.y + box.height - 10;
    const crates = ids.filter((id) => /^crate-\d+$/.test(id) && id !== 'crate-01' && points.has(id) && inside(points.get(id)!));
    // Two crates whose marquee holds no other entity origin.
    let pair: [string, string, { x0: number; y0: number; x1: number; y1: number }] | null = null;
    for (let i = 0; i < crates.length && !pair; i++) {
      for (let j = i + 1; j < crates.length && !pair; j++) {
        const a = points.get(crates[i]!)!;
        const b = points.get(crates[j]!)!;
        const r = { x0: Math.min(a.x, b.x) - 6, y0: Math.min(a.y, b.y) - 6, x1: Math.max(a.x, b.x) + 6, y1: Math.max(a.y, b.y) + 6 };
        const others = [...points].filter(([id, p]) => id !== crates[i] && id !== crates[j] && p.x >= r.x0 && p.x <= r.x1 && p.y >= r.y0 && p.y <= r.y1);
        if (others.length === 0) pair = [crates[i]!, crates[j]!, r];
      }
    }
    expect(pair).not.toBeNull();
    const [a, b, r] = pair!;
    await h.page.mouse.move(r.x0, r.y0);
    await h.page.mouse.down();
    await h.page.mouse.move((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2);
    await h.page.mouse.move(r.x1, r.y1);
    await h.page.mouse.up();
    expect((await ed((k) => k.selection)).sort()).toEqual([a, b].sort());

    const [pa, pb] = [await pos(a), await pos(b)];
    await dragGizmoX(100);
    const [na, nb] = [await pos(a), await pos(b)];
    const d = na[0] - pa[0];
    expect(d).not.toBe(0);
    expect(nb[0] - pb[0]).toBeCloseTo(d, 6);
    expect([na[1], na[2], nb[1], nb[2]]).toEqual([pa[1], pa[2], pb[1], pb[2]]);
    expect((await ed((k) => k.history.labels)).at(-1)).toBe('Move 2 entities');

    // Saving: the file changes in exactly the three moved position lines.
    await blur();
    // The save sends the edits since the file was loaded (the inspector change, the drags, the
    // undo and redo), not the whole scene, and the server writes what a whole save would.
    const puts = await saveAndWatch();
    expect(puts).toEqual([{ type: 'application/vnd.keel.scene-edits+json', bytes: expect.any(Number), status: 200 }]);
    expect(puts[0]!.bytes).toBeLessThan(4000);
    const saved = await readFile(join(h.scenesDir, 'arena.json'), 'utf8');
    // Against the canonical form of the file as it was (the save writes canonical form).
    const before = formatSceneText(original, 'arena.json').split('\n');
    const after = saved.split('\n');
    expect(after.length).toBe(before.length);
    const changed = after.map((line, i) => [before[i], line] as const).filter(([x, y]) => x !== y);
    const c1 = await pos('crate-01');
    const fmt = (v: number[]) => `"position": [${v.join(', ')}],`;
    expect(changed.map(([, y]) => y.trim()).sort()).toEqual([fmt(c1), fmt(na), fmt(nb)].sort());
  });

  it('keeps the history across a reload of the page', async () => {
    const before = await ed((k) => k.history);
    await openScene(h, 'arena');
    const after = await ed((k) => k.history);
    expect(after).toEqual(before);
    expect(await ed((k) => k.dirty)).toBe(false);
    expect(await ed((k) => k.dialog)).toBeNull();
    // Undo still reaches back before the reload.
    await h.page.keyboard.press('Control+z');
    expect(await ed((k) => k.dirty)).toBe(true);
    await h.page.keyboard.press('Control+Shift+z');
    expect(await ed((k) => k.dirty)).toBe(false);
    // A restored history is not known to be the file plus logged edits: the first save after
    // it sends the whole scene, the next one only its edits again; both write the same bytes a
    // whole save of the document would.
    const file = join(h.scenesDir, 'arena.json');
    for (const [dx, type] of [[1, 'application/json'], [2, 'application/vnd.keel.scene-edits+json']] as const) {
      await dragGizmoX(40 * dx);
      await blur();
      const puts = await saveAndWatch();
      expect(puts.map((p) => [p.type, p.status])).toEqual([[type, 200]]);
      const doc = await ed((k) => k.doc);
      expect(await readFile(file, 'utf8')).toBe(formatSceneText(JSON.stringify(doc), 'arena.json'));
    }
  });

  it('Play runs the scene and Stop leaves the document exactly as it was', async () => {
    const doc = JSON.stringify(await ed((k) => k.doc));
    await h.page.click('[data-action="play"]');
    await until(async () => ((await ed((k) => k.playTick)) > 30 ? true : undefined), 'Play to run 30 ticks', 30_000, 100);
    expect(await ed((k) => k.playing)).toBe(true);
    await h.page.click('[data-action="play"]');
    expect(await ed((k) => k.playing)).toBe(false);
    expect(JSON.stringify(await ed((k) => k.doc))).toBe(doc);
    expect(await ed((k) => k.dirty)).toBe(false);
  });

  it('logged no console errors', () => {
    expect(h.errors).toEqual([]);
  });
});
