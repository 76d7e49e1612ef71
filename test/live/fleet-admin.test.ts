/**
 * Admin ports for fleet instances, through a real `keel fleet --mode thread --admin-base-port`:
 * each instance's admin channel answers on its own consecutive port under the one token from
 * SERVER_ADMIN_TOKEN, saying hello as that instance; a wrong token is refused; the status
 * listener reports the ports and lets a loopback page (and only such a page) read it.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_SUBPROTOCOL } from '../../runtime/core/index.js';
import { consecutivePorts, fleetPorts, getJson, HOST, startFleet, stopFleets, until } from '../fleet/util.js';
import { cleanupTemp, put, scene, tempDir } from '../cli/util.js';

afterEach(async () => {
  await stopFleets();
  await cleanupTemp();
});

const TOKEN = 'fleet-thread-admin-token-0123';

function hello(port: number, token: string): Promise<Record<string, unknown> | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${port}`, [ADMIN_SUBPROTOCOL], { headers: { Authorization: `Bearer ${token}` } });
    ws.on('message', (d) => {
      resolve(JSON.parse(d.toString()) as Record<string, unknown>);
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

describe('keel fleet --admin-base-port', () => {
  it('gives every thread-mode instance its own admin port under the shared token', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'fa.json', scene('fa', [{ id: 'box', components: { transform: { position: [0, 0, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } }]));
    const p = await fleetPorts(2);
    let admin = await consecutivePorts(2);
    while ([p.base, p.health, p.status].some((b) => admin <= b + 1 && b <= admin + 1)) admin = await consecutivePorts(2);
    const f = startFleet(
      [file, '--mode', 'thread', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health), '--status-port', String(p.status), '--admin-base-port', String(admin), '--host', HOST, '--log-format', 'json', '--no-watch'],
      { SERVER_ADMIN_TOKEN: TOKEN },
    );
    const statusUrl = `http://${HOST}:${p.status}/status`;
    await until(async () => ((await getJson(statusUrl))?.healthy === 2 ? true : undefined), `both instances healthy\n${f.output()}`, 40_000, 200);
    const s = (await getJson(statusUrl))!;
    expect(s.instances.map((i: { id: string; adminPort: number }) => [i.id, i.adminPort])).toEqual([
      ['Instance-01', admin],
      ['Instance-02', admin + 1],
    ]);
    expect(await hello(admin, TOKEN)).toMatchObject({ type: 'hello', instance: 'Instance-01', scene: 'fa' });
    expect(await hello(admin + 1, TOKEN)).toMatchObject({ type: 'hello', instance: 'Instance-02', scene: 'fa' });
    expect(await hello(admin + 1, `${TOKEN}-wrong`)).toEqual({ status: 401 });
    // The token never shows in the fleet's output.
    expect(f.output()).not.toContain(TOKEN);

    // Loopback pages may read the status; other sites' pages may not.
    const local = await fetch(statusUrl, { headers: { Origin: 'http://127.0.0.1:5173' } });
    expect(local.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    const foreign = await fetch(statusUrl, { headers: { Origin: 'http://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  }, 90_000);
});
