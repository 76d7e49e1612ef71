/**
 * Hot reload outlives the scene file: deleting it is logged and keeps the running world; when the
 * file comes back (a git checkout, an editor's non-atomic save) it is reloaded, and later edits
 * apply as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rm, writeFile } from 'node:fs/promises';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { cleanupTemp, crate, ground, HOST, listening, livez, ports, put, scene, sleep, tempDir, tickOf, until } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

/** Writes `content` until a record after the ones seen so far matches (a write during a scan can be missed on a loaded machine). */
async function writeUntil(proc: KeelProcess, file: string, content: string, pred: (r: Record<string, unknown>) => boolean, what: string) {
  const seen = proc.records().length;
  const end = Date.now() + 30_000;
  for (let attempt = 0; Date.now() < end; attempt++) {
    await writeFile(file, content + ' '.repeat(attempt));
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      const hit = proc.records().slice(seen).find(pred);
      if (hit) return hit;
      if (proc.child.exitCode !== null) throw new Error(`server exited waiting for ${what}\n${proc.stdout()}\n${proc.stderr()}`);
      await sleep(50);
    }
  }
  throw new Error(`timed out waiting for ${what}\nstdout:\n${proc.stdout()}`);
}

const reloaded = (n: number) => (r: Record<string, unknown>) => r.msg === `Scene live reloaded (${n} entities)`;

describe('hot reload after the scene file is deleted', () => {
  it('keeps the running world, reloads the file when it comes back, and applies later edits', async () => {
    const dir = await tempDir();
    const v1 = [ground(), crate('box-1')];
    const file = await put(dir, 'live.json', scene('live', v1));
    const p = await ports();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(p.port), '--health-port', String(p.health), '--log-format', 'json'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);

    await rm(file);
    const deleted = await proc.waitForRecord((r) => / was deleted; keeping the running scene/.test(String(r.msg)), 15_000);
    expect(deleted).toMatchObject({ level: 40 });
    // Still ticking with the world it had.
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 30 ? true : undefined), '30 more ticks');
    expect((await livez(p.health))?.entities).toBe(v1.length);
    expect(proc.records().some((r) => /reload rejected/.test(String(r.msg)))).toBe(false);

    // The file comes back, changed: it is reloaded.
    const v2 = [...v1, crate('box-2', 4)];
    await writeUntil(proc, file, JSON.stringify(scene('live', v2)), reloaded(v2.length), 'the reload of the restored file');
    await until(async () => ((await livez(p.health))?.entities === v2.length ? true : undefined), '/livez to count v2');

    // And a later edit too.
    const v3 = [...v2, crate('box-3', 6)];
    await writeUntil(proc, file, JSON.stringify(scene('live', v3)), reloaded(v3.length), 'the reload of a later edit');
    await until(async () => ((await livez(p.health))?.entities === v3.length ? true : undefined), '/livez to count v3');

    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  }, 90_000);
});
