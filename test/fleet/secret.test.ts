/**
 * `keel fleet --join-secret` hands the secret to process-mode instances in their environment,
 * never on their command line (readable by every user of the machine through ps and
 * /proc/PID/cmdline); the instances still check join tokens with it.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../runtime/node/bot-client.js';
import { mintJoinToken } from '../../runtime/node/join-token.js';
import { cleanupTemp, fleetPorts, getJson, HOST, startFleet, stopFleets, until } from './util.js';

const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  await stopFleets();
  await cleanupTemp();
});

const SECRET = 'fleet-secret-that-must-not-show-in-ps';

describe.skipIf(process.platform !== 'linux')('keel fleet: the join secret (reads /proc/PID/cmdline and environ: Linux only)', () => {
  it('reaches process-mode instances through the environment only, and they enforce it', async () => {
    const p = await fleetPorts(2);
    const fleet = startFleet([
      'scenes/arena.json', '--mode', 'process', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health),
      '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--no-watch', '--join-secret', SECRET,
    ]);
    const statusUrl = `http://${HOST}:${p.status}/status`;
    const s = await until(async () => {
      const st = await getJson(statusUrl);
      return st?.healthy === 2 ? st : undefined;
    }, `fleet healthy\n${fleet.output()}`, 40_000, 200);
    for (const i of s.instances as { pid: number; id: string }[]) {
      const cmdline = readFileSync(`/proc/${i.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline.join(' ')).toContain(' serve ');
      expect(cmdline.join(' '), i.id).not.toContain(SECRET);
      expect(cmdline).not.toContain('--join-secret');
      expect(readFileSync(`/proc/${i.pid}/environ`, 'utf8').split('\0')).toContain(`SERVER_JOIN_SECRET=${SECRET}`);
    }
    const url = `ws://${HOST}:${p.base + 1}`;
    const anonymous = new Bot({ url, name: 'anon' });
    bots.push(anonymous);
    await anonymous.start();
    expect(anonymous.stats.closeCode).toBe(4002);
    const member = new Bot({ url, name: 'member', token: mintJoinToken(SECRET, 'member', 60) });
    bots.push(member);
    await member.start();
    expect(member.stats.joined).toBe(true);
  }, 90_000);
});
