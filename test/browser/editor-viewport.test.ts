/**
 * The editor viewport with real mouse and keyboard events: fly mode (right mouse held, WASD/QE
 * move the camera and do not switch gizmo tools) and Ctrl held during a gizmo drag turning grid
 * snapping off for that drag.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDocument } from '../../runtime/core/index.js';
import { TempDirs, until } from '../helpers/wait.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

interface Handle {
  doc: SceneDocument;
  selection: string[];
  camera: { position: [number, number, number]; forward: [number, number, number]; up: [number, number, number] };
  history: { position: number; length: number; labels: string[] };
  gizmoHandle(axis: 'X' | 'Y' | 'Z', t?: number): { x: number; y: number } | null;
}

const temps = new TempDirs('keel-editor-viewport-');
let h: EditorHarness;
let failed = false;

beforeAll(async () => {
  h = await startEditor(await temps.make());
  await openScene(h, 'arena');
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    failed = true;
    await h.keep(`viewport ${ctx.task.name}`);
  }
});
afterAll(async () => {
  await h?.close();
  if (!failed) await temps.cleanup();
});

const ed = <T>(fn: (k: Handle) => T): Promise<T> => h.page.evaluate(`(${fn.toString()})(window.keelEditor)`) as Promise<T>;
const x = async (id: string) => (await ed((k) => k.doc.entities)).find((e) => e.id === id)!.components.transform!.position[0];
const activeTool = () => h.page.locator('button.tool.active[data-tool]').getAttribute('data-tool');

describe('editor viewport', { timeout: 90_000 }, () => {
  it('flies the camera with the right mouse button held and W/E, without switching tools', async () => {
    expect(await activeTool()).toBe('translate');
    const box = (await h.page.locator('.viewport-canvas').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const start = await ed((k) => k.camera);
    await h.page.mouse.move(cx, cy);
    await h.page.mouse.down({ button: 'right' });
    await h.page.keyboard.down('w');
    await h.page.keyboard.down('e');
    // Held until the camera has gone a metre (fly speed is per frame time, so no fixed wait).
    const moved = await until(
      async () => {
        const c = await ed((k) => k.camera);
        const d = Math.hypot(...c.position.map((v, i) => v - start.position[i]!));
        return d > 1 ? c : undefined;
      },
      'the camera flying',
      30_000,
      50,
    );
    await h.page.keyboard.up('e');
    await h.page.keyboard.up('w');
    await h.page.mouse.up({ button: 'right' });
    // Forward (W) along where the camera looks, and up (E) along its own up.
    const delta = moved.position.map((v, i) => v - start.position[i]!);
    const along = (dir: number[]) => delta.reduce((s, v, i) => s + v * dir[i]!, 0);
    expect(along(start.forward)).toBeGreaterThan(0.3);
    expect(along(start.up)).toBeGreaterThan(0.3);
    expect(await activeTool()).toBe('translate'); // E flew up; it did not pick the rotate tool
    // Off the right button, keys are shortcuts again.
    await h.page.keyboard.press('e');
    expect(await activeTool()).toBe('rotate');
    await h.page.keyboard.press('w');
    expect(await activeTool()).toBe('translate');
  });

  it('holding Ctrl during a gizmo drag turns snapping off for it', async () => {
    await openScene(h, 'arena'); // a fresh camera
    await h.page.click('[data-entity-id="crate-01"]');
    await until(async () => ((await ed((k) => k.selection)).join() === 'crate-01' ? true : undefined), 'crate-01 selected', 10_000, 50);
    const drag = async (dx: number, ctrl: boolean) => {
      const at = await ed((k) => k.gizmoHandle('X'));
      expect(at).not.toBeNull();
      const m = h.page.mouse;
      await m.move(at!.x, at!.y);
      await m.down();
      await m.move(at!.x + 4, at!.y);
      if (ctrl) await h.page.keyboard.down('Control');
      for (let i = 1; i <= 8; i++) await m.move(at!.x + 4 + (dx * i) / 8, at!.y);
      await m.up();
      if (ctrl) await h.page.keyboard.up('Control');
    };
    const start = await x('crate-01');
    await drag(83, false);
    const snapped = await x('crate-01');
    expect(snapped).not.toBe(start);
    expect(Number.isInteger(snapped * 2)).toBe(true); // on the 0.5 m grid
    await drag(77, true);
    const free = await x('crate-01');
    expect(free).toBeGreaterThan(snapped);
    expect(Math.abs(free * 2 - Math.round(free * 2))).toBeGreaterThan(1e-3); // off the grid
    expect((await ed((k) => k.history.labels)).slice(-2)).toEqual(['Move crate-01', 'Move crate-01']);
    expect(h.errors).toEqual([]);
  });
});
