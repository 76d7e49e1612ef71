/**
 * `keel serve` logs through the real CLI: JSON lines by default when stdout is not a terminal,
 * each carrying the instance id and world; the pretty format
 * `[Instance-01] [INFO] Scene arena loaded (26 entities, cannon physics) in 12 ms` when asked with
 * --log-format pretty or SERVER_LOG_FORMAT; --log-level filtering; and SIGTERM exiting 0 with
 * the shutdown logged in either format.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cleanupTemp, entityCount, HOST, listening, ports, SCENES, tickOf, until } from './util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const ARENA_ENTITIES = () => entityCount(join(SCENES, 'arena.json'));
const serveArena = (port: number, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  startKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(port), ...extra], { env: { SERVER_LOG_FORMAT: undefined, ...env } });

describe('JSON logs', () => {
  it('are the default when stdout is not a terminal: every line a JSON record with id and world', async () => {
    const port = await freePort();
    const proc = serveArena(port, ['--id', 'Instance-01']);
    await listening(proc);
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);

    const lines = exit.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      expect(rec, line).toMatchObject({ id: 'Instance-01', world: 'arena', pid: proc.pid });
      expect(typeof rec.level).toBe('number');
      expect(typeof rec.msg).toBe('string');
      expect(new Date(String(rec.time)).toISOString()).toBe(rec.time);
    }
    const recs = proc.records();
    const loaded = recs.find((r) => String(r.msg).startsWith('Scene arena loaded'))!;
    expect(String(loaded.msg)).toMatch(new RegExp(`^Scene arena loaded \\(${await ARENA_ENTITIES()} entities, cannon physics\\) in \\d+ ms$`));
    expect(recs.find((r) => String(r.msg).startsWith('Listening on'))).toMatchObject({ level: 30, port, msg: `Listening on ${HOST}:${port} at 60 Hz` });
    // The shutdown, logged.
    expect(recs.find((r) => r.msg === 'SIGTERM received: draining (grace 10000 ms)')).toMatchObject({ level: 30, signal: 'SIGTERM' });
    expect(String(recs.at(-1)!.msg)).toMatch(/^Stopped after \d+ ticks \(SIGTERM\)$/);
  });

  it('tag every line with the default id Instance-<port> and the world from --world', async () => {
    const port = await freePort();
    const proc = serveArena(port, ['--world', 'blue-arena'], { SERVER_ID: undefined });
    await listening(proc);
    const recs = proc.records();
    expect(recs.length).toBeGreaterThanOrEqual(2);
    for (const r of recs) expect(r).toMatchObject({ id: `Instance-${port}`, world: 'blue-arena' });
  });

  it('--log-format json wins over SERVER_LOG_FORMAT=pretty', async () => {
    const port = await freePort();
    const proc = serveArena(port, ['--log-format', 'json', '--id', 'Instance-J'], { SERVER_LOG_FORMAT: 'pretty' });
    await listening(proc);
    expect(proc.stdout().trimEnd().split('\n').every((l) => l.startsWith('{'))).toBe(true);
  });
});

describe('pretty logs', () => {
  /** `[id] [LEVEL] message` lines; stack lines of errors are indented below. */
  const PRETTY = /^\[([\w.:-]+)\] \[(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\] (.+)$/;

  it.each([
    ['--log-format pretty', ['--log-format', 'pretty'], {}],
    ['SERVER_LOG_FORMAT=pretty', [], { SERVER_LOG_FORMAT: 'pretty' }],
  ] as const)('appear when asked with %s, tagged with the id, and log the SIGTERM shutdown', async (_how, extra, env) => {
    const port = await freePort();
    const proc = serveArena(port, ['--id', 'Instance-01', ...extra], env);
    await proc.waitForText(/\[Instance-01\] \[INFO\] Listening on /, 20_000);
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(exit.stderr).toBe('');

    const lines = exit.stdout.trimEnd().split('\n');
    // No JSON, no colour codes on a pipe; every line is tagged with the id.
    for (const line of lines) expect(line, exit.stdout).toMatch(PRETTY);
    expect(exit.stdout).not.toContain('\x1b[');
    expect(lines[0]).toMatch(new RegExp(`^\\[Instance-01\\] \\[INFO\\] Scene arena loaded \\(${await ARENA_ENTITIES()} entities, cannon physics\\) in \\d+ ms$`));
    expect(lines).toContain(`[Instance-01] [INFO] Listening on ${HOST}:${port} at 60 Hz`);
    expect(lines).toContain('[Instance-01] [INFO] SIGTERM received: draining (grace 10000 ms)');
    expect(lines.at(-1)).toMatch(/^\[Instance-01\] \[INFO\] Stopped after \d+ ticks \(SIGTERM\)$/);
  });
});

describe('--log-level', () => {
  /** Starts arena with a health port, and waits until it has ticked a while. */
  const runningQuietly = async (extra: string[], env: NodeJS.ProcessEnv) => {
    const p = await ports();
    const proc = startKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(p.port), '--health-port', String(p.health), ...extra], { env });
    const t0 = await tickOf(p.health);
    await until(async () => ((await tickOf(p.health)) > t0 + 10 ? true : undefined), 'ticks to advance');
    return proc;
  };

  it('warn hides the info lines, from the flag or SERVER_LOG_LEVEL; the flag wins over the variable', async () => {
    const byFlag = await runningQuietly(['--log-level', 'warn'], { SERVER_LOG_LEVEL: 'info' });
    const byEnv = await runningQuietly([], { SERVER_LOG_LEVEL: 'warn' });
    for (const proc of [byFlag, byEnv]) {
      const exit = await proc.stop('SIGTERM', 15_000);
      expect(exit.code, exit.stdout + exit.stderr).toBe(0);
      expect(proc.records().filter((r) => Number(r.level) < 40), exit.stdout).toEqual([]);
    }

    const flagWins = startKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(await freePort()), '--log-level', 'info'], {
      env: { SERVER_LOG_LEVEL: 'warn' },
    });
    expect(await listening(flagWins)).toMatchObject({ level: 30 });
  });
});
