/**
 * The health port (with /metrics) is an operator's port: it binds 127.0.0.1 unless told
 * otherwise, while the game port keeps binding every address. Checked from the kernel's own
 * table of listening sockets, so no traffic leaves loopback.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { ARENA, cleanupTemp, ports, waitReady } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

/** Local IPv4 addresses with a listening TCP socket on `port`, from /proc/net/tcp (and IPv6 ones from tcp6). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A: LISTEN
      const [addr, p] = f[1]!.split(':');
      if (p !== hexPort) continue;
      if (addr!.length === 8) out.push(addr!.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join('.'));
      else out.push(addr === '0'.repeat(32) ? '::' : `ipv6:${addr}`);
    }
  }
  return out;
}

describe.skipIf(process.platform !== 'linux')('exposure (reads /proc/net/tcp: Linux only)', () => {
  it('the health listener binds 127.0.0.1 by default while the game port binds 0.0.0.0', async () => {
    const p = await ports();
    startKeel(['serve', ARENA, '--host', '0.0.0.0', '--port', String(p.port), '--health-port', String(p.health), '--log-format', 'json', '--no-watch'], { env: { SERVER_HEALTH_HOST: undefined } });
    await waitReady(p);
    expect(listeners(p.health)).toEqual(['127.0.0.1']);
    expect(listeners(p.port)).toEqual(['0.0.0.0']);
  });

  it('SERVER_HEALTH_HOST=0.0.0.0 (as the image and manifests set it) binds every address', async () => {
    const p = await ports();
    startKeel(['serve', ARENA, '--host', '127.0.0.1', '--port', String(p.port), '--health-port', String(p.health), '--log-format', 'json', '--no-watch'], { env: { SERVER_HEALTH_HOST: '0.0.0.0' } });
    await waitReady(p);
    expect(listeners(p.health)).toEqual(['0.0.0.0']);
    expect(listeners(p.port)).toEqual(['127.0.0.1']);
  });
});
