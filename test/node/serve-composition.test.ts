import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';

afterEach(stopAll);

describe('keel serve --log-level debug', () => {
  it("logs the server's composition at start: plugins, then each phase's systems in run order", async () => {
    const port = await freePort();
    const keel = startKeel(['serve', 'scenes/arena.json', '--port', String(port), '--log-level', 'debug']);
    const line = await keel.waitForRecord((r) => typeof r.msg === 'string' && r.msg.startsWith('app server:'), 20_000);
    expect(line.level).toBe(20);
    expect(line.plugins).toEqual(['physics', 'scripts', 'players', 'server-net']);
    expect(line.msg).toBe(
      'app server: physics, scripts, players, server-net; networkIn: player-input (players); physics: physics-step (physics); scripts: scripts (scripts); replicationOut: snapshots (server-net)',
    );
    await keel.waitForText('Listening on', 20_000);
  });

  it('says nothing of it at the default level', async () => {
    const port = await freePort();
    const keel = startKeel(['serve', 'scenes/arena.json', '--port', String(port)]);
    await keel.waitForText('Listening on', 20_000);
    expect(keel.records().some((r) => typeof r.msg === 'string' && r.msg.startsWith('app server:'))).toBe(false);
  });
});
