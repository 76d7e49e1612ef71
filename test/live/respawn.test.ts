/**
 * Respawn only when the spawn point is gone, through a real `keel serve`, real atomic file writes
 * and real WebSocket bots: two players spawn at two spawn points; a delta reload that removes the
 * first one's spawn point moves that player (at rest) to a spawn point still in the scene and logs
 * it, while the other player stays exactly where it was; both stay connected throughout. An
 * unrelated edit moves nobody.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../runtime/node/bot-client.js';
import { writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cleanupTemp, HOST, listening, put, scene, tempDir, until, type Entity } from '../cli/util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const SPAWNS: Record<string, [number, number, number]> = { 'spawn-a': [10, 0, 0], 'spawn-b': [-10, 0, 0], 'spawn-c': [0, 0, 10] };
const entities = (ids: string[], boxX = 0): Entity[] => [
  { id: 'box', components: { transform: { position: [boxX, 0, -10] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
  ...ids.map((id) => ({ id, components: { transform: { position: SPAWNS[id]! }, spawnPoint: {} } })),
];
// No gravity: players stand where they were put.
const settings = { gravity: [0, 0, 0], tickRate: 60 };
const near = (a: readonly number[], b: readonly number[], tol = 0.05) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!) < tol;
const above = (id: string): [number, number, number] => [SPAWNS[id]![0], SPAWNS[id]![1] + 0.5, SPAWNS[id]![2]];

describe('respawn on reload', () => {
  it('moves only the player whose spawn point a reload removed', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'spawns.json', scene('spawns', entities(['spawn-a', 'spawn-b', 'spawn-c']), settings));
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--port', String(port), '--send-rate', '60'], { env: { SERVER_WATCH: undefined } });
    await listening(proc);
    const url = `ws://${HOST}:${port}`;
    const one = new Bot({ url, name: 'one', inputRate: 0.001 });
    await one.start();
    const two = new Bot({ url, name: 'two', inputRate: 0.001 });
    await two.start();
    const p1 = one.stats.welcome!.playerEntity;
    const p2 = two.stats.welcome!.playerEntity;
    const pos = (id: string) => one.mirror.byId(id)?.position;
    await until(() => (pos(p1) && pos(p2) ? true : undefined), 'both players in the mirror');
    // Round robin: the first at spawn-a, the second at spawn-b.
    await until(() => (near(pos(p1)!, above('spawn-a')) && near(pos(p2)!, above('spawn-b')) ? true : undefined), 'the players at spawn-a and spawn-b');

    // An unrelated edit moves nobody.
    let from = proc.records().length;
    await writeFileAtomic(file, JSON.stringify(scene('spawns', entities(['spawn-a', 'spawn-b', 'spawn-c'], 3), settings)));
    await until(() => proc.records().slice(from).find((r) => r.result === 'delta'), 'the unrelated delta reload');
    await until(() => (Math.abs(pos('box')![0] - 3) < 0.01 ? true : undefined), 'the box to move');
    expect(near(pos(p1)!, above('spawn-a'))).toBe(true);
    expect(near(pos(p2)!, above('spawn-b'))).toBe(true);
    expect(proc.records().some((r) => /respawned/.test(String(r.msg)))).toBe(false);

    // spawn-a goes: its player moves to a spawn point still there; the other stays put.
    const twoBefore = [...pos(p2)!];
    from = proc.records().length;
    await writeFileAtomic(file, JSON.stringify(scene('spawns', entities(['spawn-b', 'spawn-c'], 3), settings)));
    const applied = await until(() => proc.records().slice(from).find((r) => r.result === 'delta'), 'the delta reload removing spawn-a').catch((err: Error) => {
      throw new Error(`${err.message}; the server logged since the write:\n${proc.records().slice(from).map((r) => JSON.stringify(r)).join('\n')}`);
    });
    expect(applied).toMatchObject({ removed: 1, added: 0 });
    const log = await until(() => proc.records().slice(from).find((r) => /respawned/.test(String(r.msg))), 'the respawn log line');
    expect(log).toMatchObject({ player: p1, from: 'spawn-a' });
    expect(['spawn-b', 'spawn-c']).toContain(log.to);
    const target = above(log.to as string);
    await until(() => (near(pos(p1)!, target) ? true : undefined), `player one at ${String(log.to)}`);
    expect(proc.records().slice(from).filter((r) => /respawned/.test(String(r.msg)))).toHaveLength(1);
    expect(near(pos(p2)!, twoBefore, 0.01)).toBe(true);
    // Both still seated on their first connection, under the same ids.
    for (const b of [one, two]) {
      expect(b.stats.welcomes).toBe(1);
      expect(b.stats.closeCode).toBeNull();
    }
    // And player one stays there (at rest, not drifting).
    const settled = [...pos(p1)!];
    const tick0 = one.mirror.lastTick;
    await until(() => (one.mirror.lastTick > tick0 + 30 ? true : undefined), 'half a second more of snapshots');
    expect(near(pos(p1)!, settled, 0.01)).toBe(true);

    await one.close();
    await two.close();
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  }, 60_000);
});
