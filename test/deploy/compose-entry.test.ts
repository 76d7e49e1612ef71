/**
 * The container setup, checked without a Docker engine: this test reads deploy/Dockerfile and
 * deploy/compose.yaml themselves and runs, on the host, exactly what the image's entry point
 * would run for each compose service: ENTRYPOINT + CMD (with /app/dist/keel.mjs mapped to the
 * repo's dist/keel.mjs, the file the Dockerfile copies there), the Dockerfile's ENV overlaid by
 * the service's `environment:`, and ASSET_PATH mapped from the container path to the host
 * folder the service mounts there. Then both instances must take WebSocket connections, answer
 * /livez with their own id, pass the compose healthcheck command, log JSON with their ids, and
 * exit 0 on SIGTERM.
 *
 * The compose ports (7000/7001, 8000/8001, and 7002/8002 for the freeze demo) are fixed by the
 * file, so the test needs them free on this machine and says which one is not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { KEEL, REPO, runKeel, startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { copiedFiles, imagePathSource, parseDockerfile, type ImageConfig } from './dockerfile.js';
import { parseYamlSubset, YamlSubsetError, type YamlMap, type YamlValue } from './mini-yaml.js';
import { SERVE_OPTIONS } from '../../runtime/node/config.js';
import { EXIT } from '../../runtime/node/exit-codes.js';

const DEPLOY = join(REPO, 'deploy');
const DOCKERFILE = join(DEPLOY, 'Dockerfile');
const COMPOSE = join(DEPLOY, 'compose.yaml');

const image: ImageConfig = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const compose: YamlMap = parseYamlSubset(readFileSync(COMPOSE, 'utf8'));

afterEach(stopAll);

// ---------------------------------------------------------------------------------------------
// Reading the two files

const isMap = (v: YamlValue | undefined): v is YamlMap => v !== null && typeof v === 'object' && !Array.isArray(v);

function service(name: string): YamlMap {
  const services = compose.services;
  if (!isMap(services) || !isMap(services[name])) throw new Error(`deploy/compose.yaml has no service ${name}`);
  return services[name];
}

/** A service's environment as compose passes it: a mapping of strings (numbers and booleans written as YAML scalars become their text). */
function serviceEnv(svc: YamlMap): Record<string, string> {
  const env = svc.environment;
  if (!isMap(env)) throw new Error('environment must be a mapping (KEY: value) in deploy/compose.yaml');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === null || typeof v === 'object') throw new Error(`environment ${k} must be a scalar`);
    out[k] = String(v);
  }
  return out;
}

/** `host:container[:mode]` bind mounts of a service, host paths resolved against deploy/ as compose does. */
function bindMounts(svc: YamlMap): { host: string; container: string; mode: string }[] {
  const vols = svc.volumes;
  if (!Array.isArray(vols)) return [];
  return vols.map((v) => {
    const [host, container, mode = 'rw'] = String(v).split(':');
    if (!host || !container || !posix.isAbsolute(container)) throw new Error(`cannot read volume ${String(v)}`);
    if (!host.startsWith('.') && !isAbsolute(host)) throw new Error(`volume ${String(v)}: only bind mounts are mapped to the host here`);
    return { host: resolve(DEPLOY, host), container, mode };
  });
}

/** `published:target` port pairs of a service. */
function publishedPorts(svc: YamlMap): { published: number; target: number }[] {
  const ports = svc.ports;
  if (!Array.isArray(ports)) return [];
  return ports.map((p) => {
    const m = /^(\d+):(\d+)$/.exec(String(p));
    if (!m) throw new Error(`cannot read port ${String(p)} (write "published:target")`);
    return { published: Number(m[1]), target: Number(m[2]) };
  });
}

/** A host path for an image path, through the COPY that puts it in the image (the build stage works in a copy of the repo). */
function hostPathOfImageFile(imagePath: string): string {
  const src = imagePathSource(image, imagePath);
  if (!src) throw new Error(`no COPY --from in deploy/Dockerfile's final stage puts ${imagePath} in the image`);
  return join(REPO, src.relative);
}

/** `node /app/dist/keel.mjs <args>` -> the args startKeel passes after the repo's dist/keel.mjs. */
function keelArgs(argv: string[], what: string): string[] {
  const [node, script, ...args] = argv;
  expect(node, `${what} runs node`).toBe('node');
  expect(script, `${what}: the script`).toBeDefined();
  expect(hostPathOfImageFile(posix.resolve(image.workdir, script!)), `${what}: ${script} is the image's copy of dist/keel.mjs`).toBe(KEEL);
  return args;
}

interface Instance {
  name: string;
  svc: YamlMap;
  /** The container's environment: Dockerfile ENV, then the service's environment. */
  containerEnv: Record<string, string>;
  /** The same with container paths mapped to the host, plus every other keel variable of this shell unset. */
  hostEnv: NodeJS.ProcessEnv;
  args: string[];
}

function instance(name: string): Instance {
  const svc = service(name);
  const containerEnv = { ...image.env, ...serviceEnv(svc) };
  const hostEnv: NodeJS.ProcessEnv = {};
  // The container sees only its own variables: none of this shell's keel settings leak in.
  for (const spec of SERVE_OPTIONS) hostEnv[spec.env] = undefined;
  hostEnv.SERVER_SCENE = undefined;
  Object.assign(hostEnv, containerEnv);
  const assets = containerEnv.ASSET_PATH;
  if (assets) {
    const mount = bindMounts(svc).find((m) => assets === m.container || assets.startsWith(`${m.container}/`));
    if (!mount) throw new Error(`${name}: ASSET_PATH ${assets} is not under a bind mount of the service`);
    hostEnv.ASSET_PATH = join(mount.host, posix.relative(mount.container, assets));
  }
  return { name, svc, containerEnv, hostEnv, args: keelArgs([...image.entrypoint, ...image.cmd], `${name}'s entry point`) };
}

/** The service's healthcheck `test` as args of keel. */
function healthcheckArgs(svc: YamlMap): string[] {
  const hc = svc.healthcheck;
  if (!isMap(hc) || !Array.isArray(hc.test)) throw new Error('healthcheck.test must be a list');
  const [kind, ...argv] = hc.test.map(String);
  expect(kind, 'healthcheck.test runs its command without a shell').toBe('CMD');
  return keelArgs(argv, 'the compose healthcheck');
}

/** Go-style durations as compose writes them (12s, 1m30s, 500ms) in milliseconds. */
function durationMs(v: YamlValue | undefined): number {
  const s = String(v);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let matched = '';
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched += m[0];
  }
  if (matched !== s) throw new Error(`cannot read duration ${s}`);
  return total;
}

// ---------------------------------------------------------------------------------------------
// Running

/** Fails with a message naming the port and what needs it when something already listens there. */
async function requireFree(port: number, what: string): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new Error(
          `${what}: port ${port} is fixed by deploy/compose.yaml but is not free on this machine (${err.code ?? err.message}); ` +
            `stop whatever listens on ${port} (a keel started by hand with the README's ports?) and run again`,
        ),
      ),
    );
    srv.listen(port, '0.0.0.0', () => srv.close(() => ok()));
  });
}

async function requirePortsFree(inst: Instance): Promise<void> {
  const { SERVER_PORT, SERVER_HEALTH_PORT } = inst.containerEnv;
  await requireFree(Number(SERVER_PORT), `${inst.name} (SERVER_PORT)`);
  await requireFree(Number(SERVER_HEALTH_PORT), `${inst.name} (SERVER_HEALTH_PORT)`);
}

function connect(port: number, timeoutMs = 5000): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      ws.terminate();
      fail(new Error(`WebSocket to port ${port} did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      ok(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
  });
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const listening = (r: Record<string, unknown>) => typeof r.msg === 'string' && r.msg.startsWith('Listening on');

// ---------------------------------------------------------------------------------------------

describe('deploy/Dockerfile', () => {
  it('starts node on the bundle directly, in exec form, as a non-root user, with the documented defaults', () => {
    expect(image.final.base).toBe('node:20-bookworm-slim');
    expect(image.entrypoint).toEqual(['node', '/app/dist/keel.mjs']);
    expect(image.cmd).toEqual(['serve']);
    expect(image.user).toBe('node');
    expect(image.stopSignal).toBe('SIGTERM');
    expect(image.expose).toEqual(['7777', '8080']);
    expect(image.volumes).toEqual(['/assets']);
    expect(image.env).toEqual({
      NODE_ENV: 'production',
      ASSET_PATH: '/assets',
      SERVER_SCENE: 'arena.json',
      SERVER_LOG_FORMAT: 'json',
      SERVER_PORT: '7777',
      SERVER_HEALTH_PORT: '8080',
      SERVER_HEALTH_HOST: '0.0.0.0',
    });
    expect(image.healthcheck).toEqual({
      options: { interval: '5s', timeout: '3s', 'start-period': '10s', retries: '3' },
      test: ['node', '/app/dist/keel.mjs', 'health'],
    });
  });

  it('copies only the bundle, its workers, package.json and the schema into /app, and no node_modules', () => {
    const files = copiedFiles(image);
    const app = files.filter((f) => f.dest.startsWith('/app/')).map((f) => f.relative).sort();
    expect(app).toEqual(
      [
        'package.json',
        'dist/keel.mjs',
        'dist/keel.mjs.map',
        'dist/health-worker.mjs',
        'dist/health-worker.mjs.map',
        'dist/fleet-worker.mjs',
        'dist/fleet-worker.mjs.map',
        'dist/scene-parse-worker.mjs',
        'dist/scene-parse-worker.mjs.map',
        'scenes/keel-scene.schema.json',
      ].sort(),
    );
    for (const f of files) {
      expect(f.relative, `${f.dest} comes from node_modules`).not.toMatch(/(^|\/)node_modules(\/|$)/);
      // The build stage works in a copy of the repo: each source exists here after the build.
      expect(existsSync(join(REPO, f.relative)), `${f.relative} (copied to ${f.dest}) exists in the repo after npm run build`).toBe(true);
    }
    // The package folder the CLI walks up to (cli/package-root.ts), beside dist/ in the image.
    expect(hostPathOfImageFile('/app/package.json')).toBe(join(REPO, 'package.json'));
    expect(hostPathOfImageFile('/app/dist/health-worker.mjs')).toBe(join(REPO, 'dist', 'health-worker.mjs'));
    // The assets baked into the image: the scenes folder, with the generated terrain in it.
    expect(hostPathOfImageFile('/assets/arena.json')).toBe(join(REPO, 'scenes', 'arena.json'));
    expect(hostPathOfImageFile('/assets/assets/terrain-heights.khf')).toBe(join(REPO, 'scenes', 'assets', 'terrain-heights.khf'));
  });
});

describe('deploy/compose.yaml', () => {
  it('is read the way Compose reads it: anchors, aliases and merge keys', () => {
    // The subset reader refuses what it does not understand instead of misreading it.
    expect(() => parseYamlSubset('a: {b: 1}\n')).toThrow(YamlSubsetError);
    expect(() => parseYamlSubset('a: |\n  text\n')).toThrow(YamlSubsetError);
    expect(() => parseYamlSubset('a: 1\na: 2\n')).toThrow(/duplicate key a/);
    expect(parseYamlSubset('x: &x\n  A: "1"\n  B: two\ny:\n  <<: *x\n  B: three # comment\n  C: [p, "q r"]\n')).toEqual({
      x: { A: '1', B: 'two' },
      y: { A: '1', B: 'three', C: ['p', 'q r'] },
    });

    expect(Object.keys(compose.services as YamlMap)).toEqual(['instance-01', 'instance-02', 'instance-freeze']);
    const freeze = service('instance-freeze');
    expect(freeze.profiles).toEqual(['freeze-demo']);
    expect(serviceEnv(freeze)).toMatchObject({ SERVER_ID: 'Instance-03', SERVER_PORT: '7002', SERVER_HEALTH_PORT: '8002', SERVER_SCENE: 'freeze-test.json' });
  });

  for (const [name, id, port, healthPort] of [
    ['instance-01', 'Instance-01', 7000, 8000],
    ['instance-02', 'Instance-02', 7001, 8001],
    ['instance-freeze', 'Instance-03', 7002, 8002],
  ] as const) {
    it(`${name}: restart policy, healthcheck, read-only root and assets, published ports, grace period`, () => {
      const svc = service(name);
      const env = serviceEnv(svc);
      expect(env).toMatchObject({ SERVER_ID: id, SERVER_PORT: String(port), SERVER_HEALTH_PORT: String(healthPort) });
      expect(env.SERVER_WATCHDOG_MS, 'SERVER_WATCHDOG_MS set explicitly').toMatch(/^\d+$/);
      expect(env.SERVER_STALL_MS, 'SERVER_STALL_MS set explicitly').toMatch(/^\d+$/);
      expect(Number(env.SERVER_WATCHDOG_MS)).toBeGreaterThanOrEqual(Number(env.SERVER_STALL_MS));
      expect(svc.restart).toBe('unless-stopped');
      expect(svc.read_only).toBe(true);
      expect(svc.init).toBe(false);
      expect(svc.image).toBe('keel:local');
      expect(bindMounts(svc)).toEqual([{ host: join(REPO, 'scenes'), container: '/assets', mode: 'ro' }]);
      // What the server listens on inside is what compose publishes, on the same numbers.
      expect(publishedPorts(svc)).toEqual([
        { published: port, target: port },
        { published: healthPort, target: healthPort },
      ]);
      const hc = svc.healthcheck as YamlMap;
      expect(hc.test).toEqual(['CMD', 'node', '/app/dist/keel.mjs', 'health']);
      for (const k of ['interval', 'timeout', 'start_period']) expect(durationMs(hc[k]), `healthcheck.${k}`).toBeGreaterThan(0);
      expect(hc.retries).toBeGreaterThan(0);
      // keel health gives up after 2 s by default: inside Docker's timeout, so a hung probe reads as unhealthy, not as a timeout.
      expect(durationMs(hc.timeout)).toBeGreaterThan(2000);
      // Docker SIGKILLs after stop_grace_period: it must outlast the server's own drain limit.
      const grace = Number(env.SERVER_SHUTDOWN_GRACE_MS ?? 10_000);
      expect(durationMs(svc.stop_grace_period)).toBeGreaterThan(grace);
      expect(svc.logging).toEqual({ driver: 'json-file', options: { 'max-size': expect.any(String), 'max-file': expect.any(String) } });
      // The scene the instance will load exists in the shared asset tree.
      const inst = instance(name);
      expect(existsSync(join(String(inst.hostEnv.ASSET_PATH), inst.containerEnv.SERVER_SCENE!))).toBe(true);
    });
  }
});

describe('the image entry point with each compose service environment, run on the host', () => {
  it('instance-01 and instance-02 both serve, answer health checks with their ids, log JSON, and exit 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const instances = [instance('instance-01'), instance('instance-02')];
    for (const inst of instances) await requirePortsFree(inst);

    const procs = new Map<Instance, KeelProcess>();
    for (const inst of instances) procs.set(inst, startKeel(inst.args, { env: inst.hostEnv }));
    await Promise.all(instances.map((inst) => procs.get(inst)!.waitForRecord(listening, 15_000)));

    for (const inst of instances) {
      const proc = procs.get(inst)!;
      const id = inst.containerEnv.SERVER_ID!;
      const port = Number(inst.containerEnv.SERVER_PORT);
      const healthPort = Number(inst.containerEnv.SERVER_HEALTH_PORT);

      // The game port takes a WebSocket.
      const ws = await connect(port);
      ws.close();

      // /livez on the health port, with this instance's id and the scene from SERVER_SCENE under ASSET_PATH.
      const live = await getJson(`http://127.0.0.1:${healthPort}/livez`);
      expect(live.status, `${inst.name} /livez`).toBe(200);
      expect(live.body).toMatchObject({ id, world: 'arena', state: 'ready' });

      // The compose healthcheck and the Dockerfile HEALTHCHECK, run with the container's environment.
      for (const [what, args] of [
        ['compose healthcheck', healthcheckArgs(inst.svc)],
        ['Dockerfile HEALTHCHECK', keelArgs(image.healthcheck!.test, 'HEALTHCHECK')],
      ] as const) {
        const r = await runKeel(args, { env: inst.hostEnv, timeoutMs: 10_000 });
        expect(r.code, `${inst.name} ${what}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout).toContain(`"id":"${id}"`);
      }

      // JSON logs (SERVER_LOG_FORMAT=json), every line with this instance's id.
      const lines = proc.stdout().split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((l) => !l.startsWith('{')), `${inst.name}: non-JSON log lines`).toEqual([]);
      const records = proc.records();
      expect(records).toHaveLength(lines.length);
      for (const r of records) expect(r, `${inst.name} log line`).toMatchObject({ id, world: 'arena' });
      expect(records.find(listening)!.msg).toBe(`Listening on 0.0.0.0:${port} at 60 Hz; health on :${healthPort}`);
    }

    // docker stop: SIGTERM to each, a clean drain and exit 0 well within stop_grace_period.
    const results = await Promise.all(instances.map((inst) => procs.get(inst)!.stop('SIGTERM', durationMs(inst.svc.stop_grace_period))));
    for (const [k, r] of results.entries()) {
      const inst = instances[k]!;
      expect({ code: r.code, signal: r.signal }, `${inst.name} after SIGTERM:\n${r.stderr}`).toEqual({ code: EXIT.ok, signal: null });
      expect(r.stdout).toContain('SIGTERM received: draining');
      expect(r.stderr).toBe('');
    }
  });

  it('instance-freeze (profile freeze-demo): fails its healthcheck once the loop freezes, then the watchdog exits with code 3', { timeout: 60_000 }, async () => {
    const inst = instance('instance-freeze');
    await requirePortsFree(inst);
    const id = inst.containerEnv.SERVER_ID!;
    const watchdogMs = Number(inst.containerEnv.SERVER_WATCHDOG_MS);
    const proc = startKeel(inst.args, { env: inst.hostEnv });
    await proc.waitForRecord(listening, 15_000);
    expect((await runKeel(healthcheckArgs(inst.svc), { env: inst.hostEnv })).code, 'healthy before the freeze').toBe(0);

    // freeze-test.json freezes the loop after 300 ticks (5 s at 60 Hz); /livez turns 503 after SERVER_STALL_MS.
    await proc.waitForRecord((r) => typeof r.msg === 'string' && r.msg.startsWith('Game loop stalled'), 15_000);
    const probe = await runKeel(healthcheckArgs(inst.svc), { env: inst.hostEnv });
    expect(probe.code, `the compose healthcheck while frozen: ${probe.stdout}`).toBe(EXIT.error);
    expect(probe.stdout).toMatch(/^503 /);

    const r = await proc.exited(watchdogMs + 10_000);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: EXIT.watchdog, signal: null });
    const fatal = proc.records().find((rec) => rec.level === 60);
    expect(fatal).toMatchObject({ id, world: 'freeze-test', exitCode: EXIT.watchdog });
  });

  it('a port the compose file needs that is taken is reported by number', async () => {
    // The check above, against a port known to be taken.
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(port, '0.0.0.0', ok));
    try {
      await expect(requireFree(port, 'instance-01 (SERVER_PORT)')).rejects.toThrow(new RegExp(`instance-01 \\(SERVER_PORT\\): port ${port} is fixed by deploy/compose.yaml but is not free`));
    } finally {
      await new Promise((ok) => holder.close(ok));
    }
  });
});
