/**
 * One entity whose state cannot be encoded (a string too long for the wire) never breaks the
 * snapshots: the schema bounds every string, and an entity that still cannot be encoded is left
 * out, logged once, while every other entity keeps replicating.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClientMirror, decodeServer, encodeClient, MessageType, PROTOCOL_VERSION, type SceneDocument } from '../../runtime/core/index.js';
import type { ServerInstance } from '../../runtime/node/server-instance.js';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { cleanupTemp, expectOneLineConfigError, ground, put, scene, tempDir } from '../cli/util.js';
import { inProcess, raw } from './util.js';

const instances: ServerInstance[] = [];
afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.stop('test over')));
  await stopAll();
  await cleanupTemp();
});

const TEAM = 'x'.repeat(70 * 1024);

describe('oversized component strings', () => {
  it('the schema bounds them: serve refuses a 70 KB spawnPoint.team with exit 2, naming the pointer', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'team.json', scene('team', [ground(), { id: 'spawn', components: { spawnPoint: { team: TEAM } } }]));
    const r = await runKeel(['serve', file, '--port', String(await freePort()), '--host', '127.0.0.1']);
    expectOneLineConfigError(r, '/entities/1/components/spawnPoint/team', 'must NOT have more than 64 characters');
  });

  it('an entity that cannot be encoded is left out; every snapshot still decodes and the rest replicates', async () => {
    // Served without validation, as a bug or a script might produce it.
    const { instance, url, lines } = await inProcess((s) => {
      const doc: SceneDocument = { ...s.doc, entities: s.doc.entities.map((e) => (e.id === 'spawn-a' ? { ...e, components: { ...e.components, spawnPoint: { team: TEAM } } } : e)) };
      return { ...s, doc };
    });
    instances.push(instance);
    const client = await raw(url);
    client.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: 'alice' }));
    const mirror = new ClientMirror();
    let decoded = 0;
    let seen = 0;
    // Apply every snapshot in order, acking each so later ones are deltas; a decode error fails the test.
    await until(
      () => {
        for (; seen < client.frames.length; seen++) {
          const msg = decodeServer(client.frames[seen]!);
          if (msg.type !== MessageType.Snapshot) continue;
          expect(mirror.apply(msg)).toBe(true);
          client.ws.send(encodeClient({ type: MessageType.Ack, tick: msg.tick }));
          decoded++;
        }
        return decoded >= 20 ? true : undefined;
      },
      '20 snapshots',
      15_000,
      20,
    );
    expect(mirror.byId('spawn-a')).toBeUndefined();
    expect(mirror.byId('spawn-b')?.components).toMatchObject({ spawnPoint: {} });
    expect(mirror.byId('player-1')).toBeDefined();
    expect(mirror.byId('ground')).toBeDefined();
    const errors = lines.filter((r) => r.level === 50);
    expect(errors.map((r) => r.msg)).toEqual([expect.stringMatching(/^Entity spawn-a cannot be replicated \(components of spawn-a exceed 64 KiB\)/)]);
    client.ws.close();
  });
});
