/**
 * `keel serve` configuration through the real CLI: `--help` lists every flag with its variable
 * and default; the README's serve commands work; precedence is flag > env > scene settings >
 * default; relative scene and asset paths resolve against ASSET_PATH/--assets; tick rate 30
 * runs; and each bad value (port, tick rate, scene, asset dir, port in use, ...) stops the start
 * with exit code 2 and one stderr line naming the flag or variable and the value.
 * (Health flag errors: test/health/config.test.ts.)
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVE_OPTIONS } from '../../runtime/node/config.js';
import { REPO, runKeel, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import {
  cleanupTemp,
  crate,
  entityCount,
  expectOneLineConfigError,
  ground,
  HOST,
  listening,
  ports,
  put,
  scene,
  SCENES,
  scripted,
  sleep,
  tempDir,
  tickOf,
} from './util.js';

const servers: Server[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await cleanupTemp();
});

const collapse = (s: string) => s.replace(/\s+/g, ' ');

describe('keel serve --help', () => {
  it('shows each flag with its environment variable and default', async () => {
    const r = await runKeel(['serve', '--help']);
    expect(r.code, r.stderr).toBe(0);
    const help = collapse(r.stdout);
    // The flags the acceptance text names, and everything in SERVE_OPTIONS.
    const named = ['--port', '--world', '--max-players', '--tick-rate', '--id', '--assets', '--log-level', '--log-format'];
    for (const f of named) expect(SERVE_OPTIONS.map((o) => o.flag.split(' ')[0])).toContain(f);
    const flagNames = SERVE_OPTIONS.map((o) => o.flag.split(' ')[0]!);
    for (const spec of SERVE_OPTIONS) {
      const at = help.indexOf(` ${spec.flag} `);
      expect(at, `${spec.flag} in:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
      // This option's entry runs up to the next option's flag.
      const next = Math.min(...flagNames.map((f) => help.indexOf(` ${f} `, at + spec.flag.length)).filter((i) => i > at), help.indexOf(' -h, --help'));
      const entry = help.slice(at, next);
      expect(entry, entry).toContain(`(env: ${spec.env}; default: ${collapse(spec.defaultText)})`);
    }
    for (const env of ['SERVER_PORT', 'SERVER_ID', 'ASSET_PATH']) expect(help).toContain(`env: ${env};`);
  });

  it('the README table and --help list the same flags with the same variables', async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### `keel serve [scene]`'), readme.indexOf('### Health, metrics and shutdown'));
    const rows = [...section.matchAll(/^\| `(--[a-z-]+)[^`]*` \| `([A-Z_]+)`/gm)].map((m) => ({ flag: m[1]!, env: m[2]! }));
    expect(rows.length).toBeGreaterThanOrEqual(8);
    const help = collapse((await runKeel(['serve', '--help'])).stdout);
    for (const { flag, env } of rows) {
      const spec = SERVE_OPTIONS.find((o) => o.flag.split(' ')[0] === flag);
      expect(spec, `${flag} (README) in SERVE_OPTIONS`).toBeDefined();
      expect(spec!.env).toBe(env);
      expect(help).toContain(` ${spec!.flag} `);
    }
    // And the other way: every option the server takes is in the README's table.
    for (const spec of SERVE_OPTIONS) expect(rows.map((r) => r.flag), `${spec.flag} in the README table`).toContain(spec.flag.split(' ')[0]);
  });
});

describe('keel serve: the README commands', () => {
  it('serves scenes/terrain.json with --port, --id and --log-format json', async () => {
    const port = await freePort();
    const proc = startKeel(['serve', 'scenes/terrain.json', '--port', String(port), '--id', 'Instance-02', '--log-format', 'json', '--host', HOST, '--no-watch']);
    const rec = await listening(proc);
    expect(rec).toMatchObject({ id: 'Instance-02', world: 'terrain', port, tickRate: 60 });
    const loaded = proc.records().find((r) => String(r.msg).startsWith('Scene terrain loaded'));
    expect(loaded, proc.stdout()).toMatchObject({ entities: await entityCount(join(SCENES, 'terrain.json')) });
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });

  it('serves arena.json from SERVER_PORT, SERVER_ID and ASSET_PATH', async () => {
    const port = await freePort();
    // Run from the repository root, where there is no arena.json: it resolves under ASSET_PATH.
    const proc = startKeel(['serve', 'arena.json'], {
      cwd: REPO,
      env: { SERVER_PORT: String(port), SERVER_ID: 'Instance-03', ASSET_PATH: SCENES, SERVER_HOST: HOST, SERVER_WATCH: 'false' },
    });
    const rec = await listening(proc);
    expect(rec).toMatchObject({ id: 'Instance-03', world: 'arena', port });
    expect(String(rec.msg)).toBe(`Listening on ${HOST}:${port} at 60 Hz`);
    // Its script (scripts/moving-platform.js, under ASSET_PATH) loaded.
    expect(proc.records().find((r) => String(r.msg).startsWith('Scene arena loaded'))).toMatchObject({ scripts: 1 });
  });
});

describe('keel serve: precedence flag > env > scene settings > default', () => {
  const settings = { tickRate: 30, maxPlayers: 8 };
  const sceneFile = async (withSettings: boolean) => put(await tempDir(), 'prec.json', scene('prec', [ground(), crate('box')], withSettings ? settings : undefined));

  it('a flag beats the environment variable', async () => {
    const file = await sceneFile(true);
    const [flagPort, envPort] = [await freePort(), await freePort()];
    const proc = startKeel(
      ['serve', file, '--host', HOST, '--no-watch', '--port', String(flagPort), '--id', 'Flag-1', '--world', 'flag-world', '--tick-rate', '45', '--max-players', '16'],
      { env: { SERVER_PORT: String(envPort), SERVER_ID: 'Env-1', SERVER_WORLD: 'env-world', SERVER_TICK_RATE: '20', SERVER_MAX_PLAYERS: '12' } },
    );
    const rec = await listening(proc);
    expect(rec).toMatchObject({ id: 'Flag-1', world: 'flag-world', port: flagPort, tickRate: 45, maxPlayers: 16 });
    expect(proc.records().every((r) => r.id === 'Flag-1' && r.world === 'flag-world')).toBe(true);
  });

  it('the environment variable beats the scene settings', async () => {
    const file = await sceneFile(true);
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--no-watch'], {
      env: { SERVER_PORT: String(port), SERVER_ID: 'Env-1', SERVER_WORLD: 'env-world', SERVER_TICK_RATE: '20', SERVER_MAX_PLAYERS: '12' },
    });
    expect(await listening(proc)).toMatchObject({ id: 'Env-1', world: 'env-world', port, tickRate: 20, maxPlayers: 12 });
  });

  it('the scene settings beat the defaults; the id defaults to Instance-<port> and the world to the scene name', async () => {
    const file = await sceneFile(true);
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--no-watch', '--port', String(port)], {
      env: { SERVER_ID: undefined, SERVER_WORLD: undefined, SERVER_TICK_RATE: undefined, SERVER_MAX_PLAYERS: undefined },
    });
    expect(await listening(proc)).toMatchObject({ id: `Instance-${port}`, world: 'prec', port, tickRate: 30, maxPlayers: 8 });
  });

  it('without scene settings, the tick rate defaults to 60', async () => {
    const file = await sceneFile(false);
    const port = await freePort();
    const proc = startKeel(['serve', file, '--host', HOST, '--no-watch', '--port', String(port)], { env: { SERVER_TICK_RATE: undefined } });
    const rec = await listening(proc);
    expect(rec).toMatchObject({ id: `Instance-${port}`, tickRate: 60 });
    expect(String(rec.msg)).toContain('at 60 Hz');
  });

  it('a good flag wins over a bad variable, which is then never used', async () => {
    const port = await freePort();
    const proc = startKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(port), '--tick-rate', '30'], {
      env: { SERVER_PORT: '70000', SERVER_TICK_RATE: 'abc' },
    });
    expect(await listening(proc)).toMatchObject({ port, tickRate: 30 });
  });
});

describe('keel serve: paths', () => {
  it('resolves a relative scene path and the scene scripts against --assets', async () => {
    // The scene lives in one folder, its script in the asset root given by --assets (relative to the working directory).
    const sceneDir = await tempDir();
    const assets = await tempDir();
    await put(assets, 'scripts/hello.js', `export default { start(ctx) { ctx.log.info({ entity: ctx.entity.id }, 'hello from the asset root'); } };\n`);
    await put(assets, 'here.json', scene('here', [ground(), scripted('greeter', 'scripts/hello.js')]));
    const elsewhere = await put(sceneDir, 'elsewhere.json', scene('elsewhere', [ground(), scripted('greeter', 'scripts/hello.js')]));

    const port = await freePort();
    const rel = startKeel(['serve', 'here.json', '--assets', assets, '--host', HOST, '--no-watch', '--port', String(port)], { cwd: sceneDir });
    expect(await listening(rel)).toMatchObject({ world: 'here' });
    expect(rel.records().some((r) => r.msg === 'hello from the asset root')).toBe(true);
    await rel.stop('SIGTERM', 15_000);

    // An absolute scene path elsewhere still takes its scripts from the asset root.
    const abs = startKeel(['serve', elsewhere, '--host', HOST, '--no-watch', '--port', String(port)], { cwd: sceneDir, env: { ASSET_PATH: assets } });
    expect(await listening(abs)).toMatchObject({ world: 'elsewhere' });
    expect(abs.records().some((r) => r.msg === 'hello from the asset root')).toBe(true);
  });

  it('serves terrain.json with --assets scenes (relative to the working directory), its heightfield under it', async () => {
    const port = await freePort();
    const proc = startKeel(['serve', 'terrain.json', '--assets', 'scenes', '--host', HOST, '--no-watch', '--port', String(port)], { cwd: REPO });
    expect(await listening(proc)).toMatchObject({ world: 'terrain' });
  });
});

describe('keel serve: tick rate 30', () => {
  it('runs the loop at 30 Hz', async () => {
    const p = await ports();
    const proc = startKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(p.port), '--health-port', String(p.health), '--tick-rate', '30']);
    const rec = await listening(proc);
    expect(rec).toMatchObject({ tickRate: 30 });
    expect(String(rec.msg)).toContain('at 30 Hz');
    const t0 = await tickOf(p.health);
    const s0 = Date.now();
    await sleep(2500);
    const t1 = await tickOf(p.health);
    const elapsedS = (Date.now() - s0) / 1000;
    // It ticks, and not faster than 30 per second (60 would be the scene's own rate).
    expect(t1 - t0).toBeGreaterThan(10);
    expect(t1 - t0).toBeLessThanOrEqual(Math.ceil(30 * (elapsedS + 0.5)));
    // No warning but the loop falling behind, which a busy machine can cause at any rate.
    expect(proc.records().filter((r) => Number(r.level) >= 40 && !/^loop fell \d+ ms behind/.test(String(r.msg)))).toEqual([]);
  });
});

describe('keel serve: a bad value stops the start with exit 2 and one line naming it', () => {
  const base = async () => ['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', '--port', String(await freePort())];
  const withoutPort = (args: string[]) => args.filter((a, i) => a !== '--port' && args[i - 1] !== '--port');

  it.each([
    ['--port', '0'],
    ['--port', '70000'],
    ['--tick-rate', '0'],
    ['--tick-rate', 'abc'],
    ['--max-players', '0'],
    ['--log-format', 'xml'],
    ['--log-level', 'loud'],
    ['--id', 'no spaces allowed'],
    ['--send-rate', '0'],
  ])('%s %s', async (flag, value) => {
    const args = flag === '--port' ? withoutPort(await base()) : await base();
    const r = await runKeel([...args, flag, value]);
    expectOneLineConfigError(r, `invalid ${flag} "${value}"`);
  });

  it.each([
    ['SERVER_PORT', '0'],
    ['SERVER_PORT', '70000'],
    ['SERVER_TICK_RATE', '0'],
    ['SERVER_TICK_RATE', 'abc'],
    ['SERVER_MAX_PLAYERS', 'many'],
    ['SERVER_LOG_FORMAT', 'xml'],
    ['SERVER_WATCH', 'maybe'],
  ])('%s=%s', async (env, value) => {
    const args = env === 'SERVER_PORT' ? withoutPort(await base()) : await base();
    const r = await runKeel(args.filter((a) => a !== '--no-watch' || env !== 'SERVER_WATCH'), { env: { [env]: value } });
    expectOneLineConfigError(r, `invalid ${env} "${value}"`);
  });

  it('the README example: --tick-rate abc', async () => {
    const r = await runKeel(['serve', 'scenes/arena.json', '--tick-rate', 'abc']);
    expect(expectOneLineConfigError(r)).toBe('keel serve: invalid --tick-rate "abc": must be an integer from 1 to 240');
  });

  it('the README example: SERVER_PORT=70000', async () => {
    const r = await runKeel(['serve', 'scenes/arena.json'], { env: { SERVER_PORT: '70000' } });
    expect(expectOneLineConfigError(r)).toBe('keel serve: invalid SERVER_PORT "70000": must be an integer from 1 to 65535');
  });

  it('no scene at all', async () => {
    const r = await runKeel(['serve', '--port', String(await freePort())], { env: { SERVER_SCENE: undefined } });
    expectOneLineConfigError(r, 'scene', 'SERVER_SCENE');
  });

  it('a missing scene file, given as the argument or by SERVER_SCENE', async () => {
    const arg = await runKeel(['serve', 'scenes/no-such-scene.json', '--port', String(await freePort())]);
    expectOneLineConfigError(arg, 'scene argument', '"scenes/no-such-scene.json"', 'does not exist');
    const env = await runKeel(['serve', '--port', String(await freePort())], { env: { SERVER_SCENE: 'scenes/no-such-scene.json' } });
    expectOneLineConfigError(env, 'SERVER_SCENE', '"scenes/no-such-scene.json"', 'does not exist');
  });

  it('an invalid scene: one line with all its problems', async () => {
    const dir = await tempDir();
    const bad = await put(dir, 'bad.json', scene('bad', [ground(), crate('a'), crate('a'), { id: 'orphan', parent: 'nobody', components: {} }]));
    const r = await runKeel(['serve', bad, '--port', String(await freePort())]);
    const line = expectOneLineConfigError(r, 'scene argument', JSON.stringify(bad), 'invalid', '2 problems');
    expect(line).toContain('/entities/2/id: duplicate id "a"');
    expect(line).toContain('/entities/3/parent: no entity has id "nobody"');
  });

  it('a scene whose script is missing, or fails to import', async () => {
    const dir = await tempDir();
    await put(dir, 'scripts/broken.js', 'export default {\n');
    const missing = await put(dir, 'missing.json', scene('missing', [ground(), scripted('s', 'scripts/nope.js')]));
    const broken = await put(dir, 'broken.json', scene('broken', [ground(), scripted('s', 'scripts/broken.js')]));
    const a = await runKeel(['serve', missing, '--port', String(await freePort())]);
    expectOneLineConfigError(a, 'scene argument', '/entities/1/components/script/module', 'scripts/nope.js');
    const b = await runKeel(['serve', broken, '--port', String(await freePort())]);
    expectOneLineConfigError(b, 'scene argument', '/entities/1/components/script/module', 'scripts/broken.js');
  });

  it('a missing asset directory, from --assets or ASSET_PATH', async () => {
    const gone = join(await tempDir(), 'not-here');
    const flag = await runKeel(['serve', 'arena.json', '--assets', gone, '--port', String(await freePort())]);
    expectOneLineConfigError(flag, `invalid --assets ${JSON.stringify(gone)}`, 'does not exist');
    const env = await runKeel(['serve', 'arena.json', '--port', String(await freePort())], { env: { ASSET_PATH: gone } });
    expectOneLineConfigError(env, `invalid ASSET_PATH ${JSON.stringify(gone)}`, 'does not exist');
  });

  it.each([
    ['--port', (port: number) => ({ args: ['--port', String(port)], env: {} })],
    ['SERVER_PORT', (port: number) => ({ args: [], env: { SERVER_PORT: String(port) } })],
  ] as const)('the game port already in use (%s)', async (source, how) => {
    const port = await freePort();
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(port, HOST, () => resolve());
    });
    const { args, env } = how(port);
    const r = await runKeel(['serve', 'scenes/arena.json', '--host', HOST, '--no-watch', ...args], { env });
    expectOneLineConfigError(r, source, String(port), 'already in use');
  });
});
