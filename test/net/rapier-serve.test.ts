/**
 * `keel serve --physics rapier` as a real process: the arena runs on Rapier with players over
 * real sockets and its scripts; the engine is chosen flag > env > scene settings > default, and
 * a bad value stops the start with one line naming the flag or variable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../runtime/node/bot-client.js';
import { REPO, runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { cleanupTemp, crate, expectOneLineConfigError, ground, HOST, listening, put, scene, tempDir } from '../cli/util.js';
import { fleetPorts, getJson, startFleet, stopFleets } from '../fleet/util.js';

const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.close()));
  await stopAll();
  await stopFleets();
  await cleanupTemp();
});

const distance = (a: readonly number[], b: readonly number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

describe('keel serve --physics rapier', () => {
  it('runs the arena on Rapier: bots join and move, the platform script moves its body', async () => {
    const port = await freePort();
    const proc = startKeel(['serve', 'scenes/arena.json', '--physics', 'rapier', '--port', String(port), '--host', HOST, '--log-format', 'json', '--no-watch'], {
      cwd: REPO,
      env: { SERVER_PHYSICS: undefined },
    });
    expect(await listening(proc)).toMatchObject({ physics: 'rapier', port });
    expect(proc.records().find((r) => String(r.msg).startsWith('Scene arena loaded'))).toMatchObject({ physics: 'rapier', scripts: 1 });

    const url = `ws://${HOST}:${port}`;
    const a = new Bot({ url, name: 'alice' });
    const b = new Bot({ url, name: 'bob' });
    bots.push(a, b);
    await Promise.all([a.start(), b.start()]);
    expect(a.stats.joined && b.stats.joined).toBe(true);
    await until(() => (a.mirror.byId('player-2') && a.mirror.byId('platform') ? true : undefined), 'bob and the platform in alice view', 20_000, 20);

    // Bob moves as seen by alice: his inputs drive a Rapier body.
    const bob0 = [...a.mirror.byId('player-2')!.position];
    await until(() => (distance(a.mirror.byId('player-2')!.position, bob0) > 0.5 ? true : undefined), 'bob moving in alice view', 20_000, 20);
    // The moving-platform script drives the kinematic platform by velocity.
    const plat0 = [...a.mirror.byId('platform')!.position];
    await until(() => (distance(a.mirror.byId('platform')!.position, plat0) > 0.3 ? true : undefined), 'the platform moving', 20_000, 20);
    // Players stand on the floor (ground top at y = 0, player sphere radius 0.5), not through it.
    await until(() => (Math.abs(a.mirror.byId('player-1')!.position[1] - 0.5) < 0.2 ? true : undefined), 'alice on the floor', 20_000, 20);
    expect(a.stats.closeCode).toBeNull();
    expect(proc.records().filter((r) => Number(r.level) >= 50)).toEqual([]); // no errors: no script or tick failures
  }, 120_000);
});

describe('keel fleet --mode thread --physics rapier', () => {
  it('initialises Rapier on each instance thread: both instances run the arena and take players', async () => {
    const p = await fleetPorts(2);
    const fleet = startFleet(
      ['scenes/arena.json', '--mode', 'thread', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health), '--status-port', String(p.status),
        '--host', HOST, '--log-format', 'json', '--no-watch', '--physics', 'rapier'],
      { SERVER_PHYSICS: undefined },
    );
    const status = async () => (await getJson(`http://${HOST}:${p.status}/status`)) as Record<string, any> | null;
    await until(async () => ((await status())?.healthy === 2 ? true : undefined), `both instances healthy\n${fleet.output()}`, 40_000, 200);
    // Each instance logs Listening once started (just after it reports ready).
    const listening = () =>
      fleet
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"msg":"Listening on'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await until(() => (listening().length === 2 ? true : undefined), `both Listening lines\n${fleet.output()}`, 10_000, 50);
    expect(listening().map((r) => [r.id, r.physics]).sort()).toEqual([['Instance-01', 'rapier'], ['Instance-02', 'rapier']]);
    // A player on each instance moves: each thread steps its own Rapier world.
    for (const port of [p.base, p.base + 1]) {
      const b = new Bot({ url: `ws://${HOST}:${port}`, name: `bot-${port}` });
      bots.push(b);
      await b.start();
      expect(b.stats.joined).toBe(true);
      await until(() => (b.mirror.byId('player-1') ? true : undefined), `own player on ${port}`, 20_000, 20);
      const start = [...b.mirror.byId('player-1')!.position];
      await until(() => (distance(b.mirror.byId('player-1')!.position, start) > 0.5 ? true : undefined), `player moving on ${port}`, 20_000, 20);
    }
  }, 90_000);
});

describe('keel serve: physics engine precedence flag > env > scene settings > default', () => {
  const file = async (physics?: string) =>
    put(await tempDir(), 'phys.json', scene('phys', [ground(), crate('box')], physics ? { physics } : undefined));
  const start = async (args: string[], env: NodeJS.ProcessEnv) => {
    const port = await freePort();
    return listening(startKeel(['serve', ...args, '--host', HOST, '--no-watch', '--port', String(port)], { env: { SERVER_PHYSICS: undefined, ...env } }));
  };

  it('defaults to cannon', async () => {
    expect(await start([await file()], {})).toMatchObject({ physics: 'cannon' });
  });

  it('takes the scene setting over the default', async () => {
    expect(await start([await file('rapier')], {})).toMatchObject({ physics: 'rapier' });
  });

  it('takes SERVER_PHYSICS over the scene setting, and --physics over SERVER_PHYSICS', async () => {
    const f = await file('rapier');
    expect(await start([f], { SERVER_PHYSICS: 'cannon' })).toMatchObject({ physics: 'cannon' });
    expect(await start([f, '--physics', 'rapier'], { SERVER_PHYSICS: 'cannon' })).toMatchObject({ physics: 'rapier' });
  });

  it('refuses an unknown engine in --physics, SERVER_PHYSICS or the scene, naming where it came from', async () => {
    const f = await file();
    const flag = await runKeel(['serve', f, '--physics', 'bullet'], { env: { SERVER_PHYSICS: undefined } });
    expect(expectOneLineConfigError(flag, '--physics', '"bullet"', 'cannon, rapier')).toBeTruthy();
    const env = await runKeel(['serve', f], { env: { SERVER_PHYSICS: 'havok' } });
    expect(expectOneLineConfigError(env, 'SERVER_PHYSICS', '"havok"')).toBeTruthy();
    const bad = await runKeel(['serve', await file('ode')], { env: { SERVER_PHYSICS: undefined } });
    expect(expectOneLineConfigError(bad, '/settings/physics')).toBeTruthy();
  });
});
