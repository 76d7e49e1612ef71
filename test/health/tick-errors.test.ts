/**
 * Ticks that throw past every fence are not a silent log line every 1000th tick: they are
 * counted in keel_tick_errors_total, and /readyz answers 503 with the reason while they keep
 * failing, then 200 again once they stop. (A scene script stands in for an engine bug: with the
 * server's privileges it breaks Math.sqrt, which physics uses outside every script fence, while
 * a file exists.)
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { cleanupTemp, get, healthUrl, parseExposition, ports, samplesOf, sceneWithScript, serveArgs, until, waitHttp, waitReady } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const BREAKER = (file: string) => `import { existsSync } from 'node:fs';
const sqrt = Math.sqrt;
const broken = () => { throw new Error('engine bug stand-in: sqrt broken'); };
export default {
  start(ctx) {
    if (globalThis.__breaker) return;
    globalThis.__breaker = setInterval(() => { Math.sqrt = existsSync(${JSON.stringify(file)}) ? broken : sqrt; }, 20);
  },
};
`;

describe('tick errors', () => {
  it('are counted in keel_tick_errors_total; /readyz is 503 with the reason while ticks fail, 200 once they stop', async () => {
    const scene = await sceneWithScript('ticks', 'export default {};');
    const dir = dirname(scene);
    const flag = join(dir, 'break');
    await writeFile(join(dir, 'scripts', 'custom.js'), BREAKER(flag));
    // A body that keeps falling, so physics integrates (and normalises its rotation) every tick.
    const doc = JSON.parse(await readFile(scene, 'utf8'));
    doc.entities.push({ id: 'ball', components: { transform: { position: [50, 10, 50] }, rigidBody: { type: 'dynamic', mass: 1 }, collider: { shape: 'sphere', radius: 0.5 } } });
    await writeFile(scene, JSON.stringify(doc));
    const p = await ports();
    const proc = startKeel(serveArgs(scene, p, ['--assets', dir]));
    await waitReady(p);
    const errors = async () => samplesOf(parseExposition((await get(healthUrl(p, '/metrics')))!.text), 'keel_tick_errors_total')[0]?.value;
    expect(await errors()).toBe(0);

    await writeFile(flag, '');
    const failing = await waitHttp(p, '/readyz', (r) => r.status === 503, '/readyz 503 while ticks fail');
    expect(failing.json).toMatchObject({ ready: false, state: 'ready' });
    expect(failing.json!.reason).toMatch(/^ticks failing since tick \d+: engine bug stand-in: sqrt broken$/);
    // /livez stays 200: the loop runs, replacing the instance is not the answer.
    expect((await get(healthUrl(p, '/livez')))?.status).toBe(200);
    // /metrics serves a snapshot up to half a second old: wait for one taken since.
    const during = await until(async () => {
      const n = await errors();
      return n !== undefined && n > 0 ? n : undefined;
    }, 'keel_tick_errors_total above 0');

    await rm(flag);
    await waitHttp(p, '/readyz', (r) => r.status === 200, '/readyz 200 once ticks succeed again');
    const after = (await errors())!;
    expect(after).toBeGreaterThanOrEqual(during);
    await proc.waitForRecord((r) => r.msg === 'Ticks succeed again; ready');
    // Logged once when they started (not once per failing tick).
    expect(proc.records().filter((r) => /^tick \d+ failed: engine bug stand-in/.test(String(r.msg))).length).toBe(after >= 1000 ? 2 : 1);
  }, 60_000);
});
