/**
 * Interaction in a scene too heavy to draw within the frame budget (2000 entities, software
 * WebGL): a gizmo drag draws only the selection over a kept picture of the rest, at full
 * quality; an orbit, which moves the camera and so draws the whole scene each frame, draws at a
 * reduced pixel ratio, and the view comes back to full quality once it has ended.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDocument } from '../../runtime/core/index.js';
import { TempDirs, until } from '../helpers/wait.js';
import { dragGizmoX, openScene, startEditor, type EditorHarness } from './editor-harness.js';

interface Handle {
  doc: SceneDocument;
  selection: string[];
  history: { labels: string[] };
  quality: { ratio: number; fullRatio: number; lowestRatio: number; reduced: boolean; fullDrawMs: number; budgetMs: number };
  draws: { direct: number; static: number; composite: number };
  gizmoHandle(axis: 'X' | 'Y' | 'Z', t?: number): { x: number; y: number } | null;
}

/** `n` entities: boxes and spheres on a grid over a ground, a sun and a sky. */
function bigScene(n: number): unknown {
  const entities: unknown[] = [
    { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, mesh: { shape: 'box', size: [200, 1, 200] } } },
    { id: 'sun', components: { transform: { position: [10, 30, 10], rotation: [-50, 30, 0] }, light: { kind: 'directional' } } },
    { id: 'sky', components: { light: { kind: 'hemisphere', intensity: 0.6 } } },
  ];
  const side = Math.ceil(Math.sqrt(n));
  for (let i = entities.length; i < n; i++) {
    entities.push({
      id: `e-${i}`,
      components: {
        transform: { position: [(i % side) * 2 - side, 0.5, Math.floor(i / side) * 2 - side] },
        mesh: { shape: i % 3 === 0 ? 'sphere' : 'box' },
        material: { color: `#${((i * 2654435761) >>> 8).toString(16).padStart(6, '0').slice(0, 6)}` },
      },
    });
  }
  return { format: 'keel-scene', version: 1, name: 'big', entities };
}

const temps = new TempDirs('keel-editor-quality-');
let h: EditorHarness;
let failed = false;

beforeAll(async () => {
  h = await startEditor(await temps.make());
  await writeFile(join(h.scenesDir, 'big.json'), JSON.stringify(bigScene(2000), null, 2));
  await openScene(h, 'big');
}, 180_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    failed = true;
    await h.keep(`quality ${ctx.task.name}`);
  }
});
afterAll(async () => {
  await h?.close();
  if (!failed) await temps.cleanup();
});

const ed = <T>(fn: (k: Handle) => T): Promise<T> => h.page.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;

describe('editor interaction in a heavy scene', { timeout: 180_000 }, () => {
  it('drags the selection over a kept picture at full quality', async () => {
    // A full-quality frame of the whole scene has been drawn and timed.
    const idle = await until(async () => {
      const q = await ed((k) => k.quality);
      return q.fullDrawMs > 0 ? q : undefined;
    }, 'a full-quality frame', 60_000, 100);
    expect(idle.reduced).toBe(false);
    // Software WebGL draws 2000 entities far slower than the interaction budget.
    expect(idle.fullDrawMs).toBeGreaterThan(idle.budgetMs);

    await h.page.click('[data-entity-id="e-20"]');
    await until(async () => ((await ed((k) => k.selection)).join() === 'e-20' ? true : undefined), 'e-20 selected', 30_000, 50);
    // The selection's own frame draws the picture of the rest.
    await until(async () => ((await ed((k) => k.draws)).static > 0 ? true : undefined), 'the picture drawn', 30_000, 50);
    const before = await ed((k) => k.draws);
    const during = await dragGizmoX(h, 10, 4, () => ed((k) => ({ draws: k.draws, quality: k.quality })));
    expect((await ed((k) => k.history.labels)).at(-1)).toBe('Move e-20');
    expect(during.draws.composite - before.composite).toBeGreaterThanOrEqual(5);
    expect(during.draws.static).toBe(before.static);
    expect(during.draws.direct).toBe(before.direct);
    expect(during.quality.reduced).toBe(false);
    expect(during.quality.ratio).toBe(during.quality.fullRatio);
    expect(h.errors).toEqual([]);
  });

  it('orbits at a reduced pixel ratio and comes back to full quality after', async () => {
    const box = (await h.page.locator('canvas.viewport-canvas').boundingBox())!;
    const m = h.page.mouse;
    // Alt + left drag orbits, from a corner of the view where no entity or gizmo is.
    const x0 = box.x + box.width * 0.9;
    const y0 = box.y + box.height * 0.1;
    await h.page.keyboard.down('Alt');
    await m.move(x0, y0);
    await m.down();
    let during: Handle['quality'] | undefined;
    // Moves until a frame of the orbit has been drawn reduced (each move asks for a frame).
    for (let i = 1; i <= 100 && !during; i++) {
      await m.move(x0 - i * 3, y0 + i);
      const q = await ed((k) => k.quality);
      if (q.reduced) during = q;
    }
    await m.up();
    await h.page.keyboard.up('Alt');
    expect(during, 'a reduced frame during the orbit').toBeDefined();
    expect(during!.ratio).toBeLessThan(during!.fullRatio);
    expect(during!.ratio).toBeGreaterThanOrEqual(0.25 * during!.fullRatio - 1e-9);

    // After release the view comes back to full quality on its own.
    const after = await until(async () => {
      const q = await ed((k) => k.quality);
      return !q.reduced && q.ratio === q.fullRatio ? q : undefined;
    }, 'full quality after the orbit', 60_000, 50);
    expect(after.lowestRatio).toBeLessThan(after.fullRatio);
    expect(h.errors).toEqual([]);
  });
});
