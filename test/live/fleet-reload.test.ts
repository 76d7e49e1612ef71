/**
 * Delta hot reload in a thread-mode `keel fleet`: each instance thread watches the scene and
 * applies one edit as a delta, logging it under its own id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../runtime/node/atomic-write.js';
import { cleanupTemp, put, scene, tempDir, type Entity } from '../cli/util.js';
import { fleetPorts, getJson, HOST, startFleet, stopFleets, until } from '../fleet/util.js';

afterEach(async () => {
  await stopFleets();
  await cleanupTemp();
});

const crate = (id: string, x: number): Entity => ({
  id,
  components: { transform: { position: [x, 0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } },
});

describe('keel fleet --mode thread', () => {
  it('applies a scene edit as a delta in every instance', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'fleet.json', scene('fleet', [crate('a', 0)]));
    const p = await fleetPorts(2);
    const fleet = startFleet([
      file, '--mode', 'thread', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health),
      '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--shutdown-grace-ms', '5000',
    ], { SERVER_WATCH: 'true' });
    await until(async () => ((await getJson(`http://${HOST}:${p.status}/status`))?.healthy === 2 ? true : undefined), `both instances healthy\n${fleet.output()}`, 40_000, 200);
    // Each worker logs Listening after its watcher's first scan.
    await until(() => (fleet.records().filter((r) => String(r.msg).startsWith('Listening on')).length === 2 ? true : undefined), 'both Listening lines', 20_000);

    await writeFileAtomic(file, JSON.stringify(scene('fleet', [crate('a', 3), crate('b', 5)])));
    const reloads = () => fleet.records().filter((r) => r.result === 'delta' && / reloaded \(/.test(String(r.msg)));
    await until(() => (reloads().length === 2 ? true : undefined), `both instances to apply the delta\n${fleet.output()}`, 20_000);
    expect(reloads().map((r) => r.id).sort()).toEqual(['Instance-01', 'Instance-02']);
    for (const r of reloads()) expect(r).toMatchObject({ added: 1, changed: 1, removed: 0, entities: 2 });
  });
});
