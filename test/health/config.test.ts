/**
 * Bad values for the health flags stop `keel serve` before anything is bound: exit code 2 and
 * one line on stderr naming the flag or variable the value came from.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runKeel, stopAll, type RunResult } from '../helpers/keel-process.js';
import { ARENA, cleanupTemp, HOST, ports, serveArgs } from './util.js';

const servers: Server[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await cleanupTemp();
});

/** Exit 2, nothing on stdout (no log line: nothing started), exactly one line on stderr. */
function expectConfigError(r: RunResult, ...mentions: string[]): string {
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^keel serve: /);
  for (const m of mentions) expect(lines[0]).toContain(m);
  return lines[0]!;
}

const serve = async (extra: string[], env: NodeJS.ProcessEnv = {}) => {
  const p = await ports();
  const args = serveArgs(ARENA, p).filter((a, i, all) => !(a === '--health-port' || all[i - 1] === '--health-port'));
  return { p, result: await runKeel([...args, ...extra], { env, timeoutMs: 15_000 }) };
};

describe('health configuration errors', () => {
  it('--health-port 70000', async () => {
    const { result } = await serve(['--health-port', '70000']);
    expectConfigError(result, '--health-port', '"70000"', 'from 0 to 65535');
  });

  it('--stall-ms abc', async () => {
    const { result } = await serve(['--stall-ms', 'abc']);
    expectConfigError(result, '--stall-ms', '"abc"', 'integer');
  });

  it('SERVER_WATCHDOG_MS=-5', async () => {
    const { result } = await serve([], { SERVER_WATCHDOG_MS: '-5' });
    expectConfigError(result, 'SERVER_WATCHDOG_MS', '"-5"', 'integer');
  });

  it('SERVER_STALL_MS below its minimum', async () => {
    const { result } = await serve([], { SERVER_STALL_MS: '10' });
    expectConfigError(result, 'SERVER_STALL_MS', '"10"');
  });

  it('--watchdog-ms below --stall-ms', async () => {
    const { result } = await serve(['--watchdog-ms', '500', '--stall-ms', '1000']);
    const line = expectConfigError(result, '--watchdog-ms', '"500"', 'stall limit');
    expect(line).toContain('1000');
  });

  it('--health-port equal to --port', async () => {
    const p = await ports();
    const r = await runKeel(['serve', ARENA, '--host', HOST, '--no-watch', '--port', String(p.port), '--health-port', String(p.port)], { timeoutMs: 15_000 });
    expectConfigError(r, '--health-port', `"${p.port}"`, 'game port');
  });

  it.each([
    ['--health-port', (port: number) => ({ extra: ['--health-port', String(port)], env: {} })],
    ['SERVER_HEALTH_PORT', (port: number) => ({ extra: [], env: { SERVER_HEALTH_PORT: String(port) } })],
  ] as const)('a health port already in use (%s) exits 2 naming it', async (source, how) => {
    const p = await ports();
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(p.health, HOST, () => resolve());
    });
    const { extra, env } = how(p.health);
    const args = ['serve', ARENA, '--host', HOST, '--no-watch', '--log-format', 'json', '--port', String(p.port), ...extra];
    const r = await runKeel(args, { env, timeoutMs: 15_000 });
    expectConfigError(r, `health port ${p.health}`, 'already in use', source);
  });
});
