/**
 * Layered drawing in the editor viewport: with a selection and a still camera, the rest of the
 * scene is kept as a picture and only the selection is drawn each frame. The frames it gives
 * are held against frames drawn whole (pixels read back from WebGL), with the selected crate
 * half hidden behind a wall (the kept depth must hide it) and a sun casting shadows; a drag
 * draws no static layer; a change to the rest of the scene draws it anew.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TempDirs, until } from '../helpers/wait.js';
import { dragGizmoX, openScene, startEditor, type EditorHarness } from './editor-harness.js';

type DrawKind = 'direct' | 'static' | 'composite';
interface Handle {
  selection: string[];
  history: { labels: string[] };
  quality: { ratio: number; fullRatio: number; reduced: boolean };
  draws: Record<DrawKind, number>;
  layered: boolean;
  capture(layered: boolean): { kind: DrawKind; width: number; height: number; pixels: Uint8Array };
  gizmoHandle(axis: 'X' | 'Y' | 'Z', t?: number): { x: number; y: number } | null;
}

// The camera the editor opens with looks at the scene from +x +y +z (the direction below); the
// wall stands between it and the crate, covering about half of it.
const dir = [18, 16, 22].map((v) => v / Math.hypot(18, 16, 22)) as [number, number, number];
const yaw = Math.atan2(dir[0], dir[2]);
const right = [Math.cos(yaw), 0, -Math.sin(yaw)];
const wallAt = [0, 1, 2].map((i) => [0, 0.5, 0][i]! + dir[i]! * 2 + right[i]! * 0.55);

const scene = {
  format: 'keel-scene',
  version: 1,
  name: 'layers',
  entities: [
    { id: 'ground', components: { transform: { position: [0, -0.25, 0] }, mesh: { shape: 'box', size: [16, 0.5, 16] }, material: { color: '#8a9099' } } },
    { id: 'sun', components: { transform: { position: [6, 12, 4], rotation: [-60, 20, 0] }, light: { kind: 'directional', intensity: 2.5, castShadow: true } } },
    { id: 'crate', components: { transform: { position: [0, 0.5, 0] }, mesh: { shape: 'box', size: [1, 1, 1] }, material: { color: '#ff00ff', roughness: 1 } } },
    {
      id: 'wall',
      components: { transform: { position: wallAt, rotation: [0, (yaw * 180) / Math.PI, 0] }, mesh: { shape: 'box', size: [1, 3, 0.2] }, material: { color: '#2f6f3f' } },
    },
    { id: 'other', components: { transform: { position: [-4, 0.75, -3] }, mesh: { shape: 'sphere', radius: 0.75 }, material: { color: '#e0a030' } } },
  ],
};

const temps = new TempDirs('keel-editor-layered-');
let h: EditorHarness;
let failed = false;

beforeAll(async () => {
  h = await startEditor(await temps.make());
  await writeFile(join(h.scenesDir, 'layers.json'), JSON.stringify(scene, null, 2));
  await openScene(h, 'layers');
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    failed = true;
    await h.keep(`layered ${ctx.task.name}`);
  }
});
afterAll(async () => {
  await h?.close();
  if (!failed) await temps.cleanup();
});

const ed = <T>(fn: (k: Handle) => T): Promise<T> => h.page.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;

/**
 * Draws a layered frame and a whole frame of the same state in the page and compares them:
 * pixels whose channels differ by more than 24 (of 255), and magenta pixels (the crate) in each.
 */
const compare = () =>
  ed((k) => {
    const a = k.capture(true);
    const again = k.capture(true);
    const b = k.capture(false);
    let differ = 0;
    let crateA = 0;
    let crateB = 0;
    const magenta = (p: Uint8Array, i: number) => p[i]! > 150 && p[i + 2]! > 150 && p[i + 1]! < 90;
    for (let i = 0; i < b.pixels.length; i += 4) {
      const d = Math.max(Math.abs(again.pixels[i]! - b.pixels[i]!), Math.abs(again.pixels[i + 1]! - b.pixels[i + 1]!), Math.abs(again.pixels[i + 2]! - b.pixels[i + 2]!));
      if (d > 24) differ++;
      if (magenta(again.pixels, i)) crateA++;
      if (magenta(b.pixels, i)) crateB++;
    }
    return { kinds: [a.kind, again.kind, b.kind], pixels: b.pixels.length / 4, differ, crateA, crateB };
  });

describe('editor layered drawing', { timeout: 120_000 }, () => {
  it('draws the selection over a kept picture of the rest, and the frame is the frame drawn whole', async () => {
    // Nothing selected: frames are drawn whole.
    const none = await ed((k) => k.capture(true).kind);
    expect(none).toBe('direct');

    await h.page.click('[data-entity-id="crate"]');
    await until(async () => ((await ed((k) => k.selection)).join() === 'crate' ? true : undefined), 'crate selected', 30_000, 50);
    const c = await compare();
    // The first layered frame may draw the picture (if the selection's own frame has not yet);
    // the next reuses it.
    expect(c.kinds[1]).toBe('composite');
    expect(c.kinds[2]).toBe('direct');
    // The crate is on screen, and half of it is hidden by the wall in both frames: a kept
    // picture without its depth would draw all of it over the wall.
    expect(c.crateB).toBeGreaterThan(40);
    expect(Math.abs(c.crateA - c.crateB)).toBeLessThanOrEqual(Math.max(3, c.crateB * 0.05));
    // Anti-aliased edges are resolved before tone mapping in one and after in the other: a few
    // pixels along edges may differ, no more.
    expect(c.differ).toBeLessThan(c.pixels * 0.002);
    expect(h.errors).toEqual([]);
  });

  it('drags without drawing the picture again, and draws it anew for the shadow once the drag is over', async () => {
    const before = await ed((k) => k.draws);
    const during = await dragGizmoX(h, 12, 6, () => ed((k) => ({ draws: k.draws, quality: k.quality })));
    expect((await ed((k) => k.history.labels)).at(-1)).toBe('Move crate');
    // Every frame of the drag reused the picture: none drew it, none drew the scene whole, and
    // none needed a lower pixel ratio.
    expect(during.draws.composite - before.composite).toBeGreaterThanOrEqual(6);
    expect(during.draws.static).toBe(before.static);
    expect(during.draws.direct).toBe(before.direct);
    expect(during.quality.reduced).toBe(false);
    // The crate casts a shadow on the picture: once it has come to rest the picture is drawn
    // anew, and the frame is again the frame drawn whole (shadow included).
    await until(async () => ((await ed((k) => k.draws)).static > during.draws.static ? true : undefined), 'the picture drawn anew', 30_000, 50);
    const c = await compare();
    expect(c.kinds.slice(1)).toEqual(['composite', 'direct']);
    expect(c.differ).toBeLessThan(c.pixels * 0.002);
    expect(h.errors).toEqual([]);
  });

  it('draws the picture anew when the rest of the scene changes', async () => {
    const first = await ed((k) => k.capture(true));
    expect(first.kind).toBe('composite');
    const before = await ed((k) => k.draws.static);
    // The grid is part of the picture: hiding it draws the picture once more.
    await h.page.click('label[title="Show the grid"]');
    await until(async () => ((await ed((k) => k.draws.static)) > before ? true : undefined), 'the picture drawn anew', 30_000, 50);
    const c = await compare();
    expect(c.kinds.slice(1)).toEqual(['composite', 'direct']);
    expect(c.differ).toBeLessThan(c.pixels * 0.002);
    const changed = await h.page.evaluate((px) => {
      const now = (window as unknown as { keelEditor: Handle }).keelEditor.capture(true).pixels;
      let n = 0;
      for (let i = 0; i < now.length; i += 4) if (Math.abs(now[i]! - px[i]!) + Math.abs(now[i + 1]! - px[i + 1]!) + Math.abs(now[i + 2]! - px[i + 2]!) > 24) n++;
      return n;
    }, Array.from(first.pixels));
    // The grid's lines are gone from the frame.
    expect(changed).toBeGreaterThan(2000);
    await h.page.click('label[title="Show the grid"]');
    expect(h.errors).toEqual([]);
  });
});
