/**
 * The image holds every file the bundle loads at run time. The list comes from the build
 * itself, not from a hand-kept one: the esbuild metafile's output modules (dist/keel.meta.json)
 * and every worker file a bundle starts (`new URL("./x.mjs", ...)` beside itself). Each must be
 * copied from the build stage's dist/ into the image beside /app/dist/keel.mjs, where the
 * ENTRYPOINT runs it. Where a container engine answers, the image is built and /livez and
 * a thread-mode fleet are tried in it; where none does, that test is skipped saying so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { imagePathSource, parseDockerfile } from './dockerfile.js';

const cfg = parseDockerfile(readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8'));
const meta = JSON.parse(readFileSync(join(REPO, 'dist/keel.meta.json'), 'utf8')) as { outputs: Record<string, { entryPoint?: string }> };

/** Modules the build writes to dist/ (entry points), by file name. */
const bundles = Object.keys(meta.outputs).filter((o) => o.endsWith('.mjs')).map((o) => posix.basename(o));

/** Files a bundle loads from beside itself at run time: `new URL("./name.mjs", ...)`. */
function loadedBeside(bundle: string): string[] {
  const text = readFileSync(join(REPO, 'dist', bundle), 'utf8');
  return [...text.matchAll(/new URL\("\.\/([\w.-]+\.mjs)",/g)].map((m) => m[1]!);
}

describe('the image holds what dist/ loads at run time', () => {
  it('finds the bundles and the workers they start', () => {
    expect(bundles.sort()).toEqual(['fleet-worker.mjs', 'health-worker.mjs', 'keel.mjs', 'scene-parse-worker.mjs']);
    const loaded = new Set(bundles.flatMap(loadedBeside));
    expect([...loaded].sort()).toEqual(['fleet-worker.mjs', 'health-worker.mjs', 'scene-parse-worker.mjs']);
    // Every worker a bundle starts is itself one of the build's outputs.
    for (const f of loaded) expect(bundles).toContain(f);
  });

  it('the ENTRYPOINT runs a bundle the image holds, and every bundle is copied beside it from dist/', () => {
    const entry = cfg.entrypoint.find((a) => a.endsWith('.mjs'));
    expect(entry).toBeDefined();
    const dir = posix.dirname(entry!);
    const missing = bundles.filter((b) => imagePathSource(cfg, posix.join(dir, b))?.relative !== `dist/${b}`);
    expect(missing, `not copied into ${dir}/ by deploy/Dockerfile`).toEqual([]);
    expect(imagePathSource(cfg, '/app/package.json')?.relative).toBe('package.json');
  });
});

/** Why no image can be built here, or null when a container engine answers. */
function noEngine(): string | null {
  for (const engine of ['docker', 'podman']) {
    const r = spawnSync(engine, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 });
    if (r.error) continue;
    if (r.status === 0) return null;
    return `${engine} is installed but its engine does not answer (${(r.stderr || r.stdout).trim().split('\n')[0]})`;
  }
  return 'no container engine (docker or podman) on this machine';
}
const why = noEngine();
const TAG = `keel-image-test:${process.pid}`;

describe('the built image', () => {
  const containers: string[] = [];
  afterAll(() => {
    for (const c of containers) spawnSync('docker', ['rm', '-f', c], { timeout: 30_000 });
    if (!why) spawnSync('docker', ['rmi', '-f', TAG], { timeout: 60_000 });
  });

  it.skipIf(why !== null)(`serves /livez and runs a thread-mode fleet${why ? ` (skipped: ${why})` : ''}`, async () => {
    execFileSync('docker', ['build', '-f', 'deploy/Dockerfile', '-t', TAG, '.'], { cwd: REPO, stdio: 'inherit', timeout: 600_000, env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    const health = await freePort();
    const serve = execFileSync('docker', ['run', '-d', '-p', `127.0.0.1:${health}:8080`, TAG], { encoding: 'utf8' }).trim();
    containers.push(serve);
    await until(async () => ((await fetch(`http://127.0.0.1:${health}/livez`, { signal: AbortSignal.timeout(2000) })).status === 200 ? true : undefined), '/livez 200 from the container', 60_000, 500);
    const status = await freePort();
    const fleet = execFileSync(
      'docker',
      ['run', '-d', '-p', `127.0.0.1:${status}:9000`, TAG, 'fleet', '/assets/arena.json', '--mode', 'thread', '--count', '2', '--base-port', '7000', '--status-port', '9000', '--status-host', '0.0.0.0'],
      { encoding: 'utf8' },
    ).trim();
    containers.push(fleet);
    await until(
      async () => (((await (await fetch(`http://127.0.0.1:${status}/status`, { signal: AbortSignal.timeout(2000) })).json()) as { healthy?: number }).healthy === 2 ? true : undefined),
      'a thread-mode fleet of 2 healthy in the container',
      60_000,
      500,
    );
  }, 900_000);
});
