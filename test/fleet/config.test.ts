/**
 * Bad `keel fleet` values stop it before anything starts: one line on stderr naming the flag or
 * variable and the value, exit code 2. `keel serve --cpus` / SERVER_CPUS pins a single server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cpusAllowed, HOST } from './util.js';

afterEach(async () => {
  await stopAll();
});

const ARENA = 'scenes/arena.json';

describe('keel fleet: bad values', () => {
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['--count 0', ['--count', '0'], {}, /invalid --count "0": must be an integer from 1 to 256/],
    ['FLEET_COUNT=many', [], { FLEET_COUNT: 'many' }, /invalid FLEET_COUNT "many"/],
    ['--mode fork', ['--mode', 'fork'], {}, /invalid --mode "fork": must be one of process, thread/],
    ['--cpus 0-99', ['--cpus', '0-99'], {}, /invalid --cpus "0-99": CPUs? .* not available/],
    ['--cpus 3-1', ['--cpus', '3-1'], {}, /invalid --cpus "3-1": range 3-1 runs backwards/],
    ['FLEET_CPUS=a,b', [], { FLEET_CPUS: 'a,b' }, /invalid FLEET_CPUS "a,b": "a" is not a CPU number or range/],
    ['--status-port on a game port', ['--base-port', '7000', '--count', '3', '--status-port', '7001'], {}, /invalid --status-port "7001": is one of the game ports/],
    ['--health-base-port overlapping', ['--base-port', '7000', '--count', '3', '--health-base-port', '7002'], {}, /invalid --health-base-port "7002": health ports 7002-7004 overlap/],
    ['a serve option passed on: --tick-rate 999', ['--tick-rate', '999'], {}, /invalid --tick-rate "999": must be an integer from 1 to 240/],
    ['--restart-max-ms below the first delay', ['--restart-initial-ms', '5000', '--restart-max-ms', '100'], {}, /invalid --restart-max-ms "100"/],
  ];
  it.each(cases)('%s', async (_name, args, env, line) => {
    const r = await runKeel(['fleet', ARENA, ...args], { env, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^keel fleet: /);
    expect(lines[0]).toMatch(line);
    expect(r.stdout).toBe('');
  });

  it('a missing scene is exit 2 naming it', async () => {
    const r = await runKeel(['fleet', 'scenes/nope.json'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid scene argument "scenes\/nope.json"/);
  });

  it('--help lists the fleet options with their variables and defaults', async () => {
    const r = await runKeel(['fleet', '--help'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const s of ['--count <n>', '(env: FLEET_COUNT; default: 1)', '--mode <mode>', '(env: FLEET_CPUS; default: no pinning)', '--status-port <port>', '--tick-rate <hz>', '--watchdog-ms <ms>']) expect(help).toContain(s);
    // Set per instance by the fleet, so not taken.
    expect(help).not.toContain('--port <port>');
    expect(help).not.toContain('--health-port <port>');
  });
});

describe('keel serve --cpus / SERVER_CPUS', () => {
  it.each([
    ['--cpus 1', ['--cpus', '1'], {}, '1'],
    ['SERVER_CPUS=0', [], { SERVER_CPUS: '0' }, '0'],
  ] as [string, string[], NodeJS.ProcessEnv, string][])('%s pins the process', async (_n, args, env, want) => {
    const port = await freePort();
    const p = startKeel(['serve', ARENA, '--host', HOST, '--port', String(port), '--log-format', 'json', '--no-watch', ...args], { env });
    await p.waitForText('Listening on', 20_000);
    expect(cpusAllowed(p.pid)).toBe(want);
    // Every thread: the health thread and the rest were started after the pin, or pinned with -a.
    const { readdirSync } = await import('node:fs');
    for (const tid of readdirSync(`/proc/${p.pid}/task`)) expect(cpusAllowed(p.pid, Number(tid))).toBe(want);
  });

  it('SERVER_CPUS beyond the machine is exit 2 naming it', async () => {
    const r = await runKeel(['serve', ARENA, '--port', String(await freePort())], { env: { SERVER_CPUS: '0-63' }, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^keel serve: invalid SERVER_CPUS "0-63": CPUs .* not available/);
  });
});
