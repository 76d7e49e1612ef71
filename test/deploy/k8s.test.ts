/**
 * deploy/k8s/, checked without a cluster: the manifests are read as kubectl would (several
 * documents per file) and cross-checked against what the server really reads and does:
 * - every container env var is one keel reads (runtime/node/config.ts SERVE_OPTIONS), given as a
 *   string, and the whole environment (the image's ENV overlaid by the container's, as Kubernetes
 *   does) resolves with the server's own config code;
 * - the ports and probe paths are those the resolved config binds and the health thread serves;
 * - the probe, Agones health and termination timings line up with the resolved SERVER_STALL_MS,
 *   SERVER_WATCHDOG_MS, SERVER_SHUTDOWN_GRACE_MS and SERVER_AGONES_HEALTH_MS;
 * - security context, assets volume and resources;
 * and then each container's settings run on the host (the image's entry point mapped to
 * dist/keel.mjs, /assets to the repo's scenes/, ports swapped for free ones, bound to
 * 127.0.0.1): the Deployment's probe URLs answer, the Fleet's server reaches a stand-in Agones
 * sidecar within the health settings, and both drain within the termination grace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { KEEL, REPO, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { parseDockerfile } from './dockerfile.js';
import { parseYamlDocuments, parseYamlSubset, YamlSubsetError, type YamlMap, type YamlValue } from './mini-yaml.js';
import { resolveEarlyConfig, SERVE_OPTIONS, type EarlyConfig } from '../../runtime/node/config.js';
import { LIST_MAX_CAPACITY, PLAYERS_LIST } from '../../runtime/node/agones/agones-sdk.js';
import { SidecarStandIn } from '../agones/sidecar.js';
import { get, until } from '../health/util.js';

const K8S = join(REPO, 'deploy', 'k8s');
const image = parseDockerfile(readFileSync(join(REPO, 'deploy', 'Dockerfile'), 'utf8'));
const read = (file: string) => parseYamlDocuments(readFileSync(join(K8S, file), 'utf8'));
const files = { fleet: read('fleet.yaml'), deployment: read('deployment.yaml'), assets: read('assets.yaml') };

const sidecars: SidecarStandIn[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(sidecars.splice(0).map((s) => s.close()));
});

// ---------------------------------------------------------------------------------------------
// Reading the manifests

const isMap = (v: YamlValue | undefined): v is YamlMap => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at a dotted path, which must exist. */
function at(obj: YamlValue | undefined, path: string): YamlValue {
  let cur: YamlValue | undefined = obj;
  for (const key of path.split('.')) {
    if (!isMap(cur) || !(key in cur)) throw new Error(`missing ${path} (at ${key})`);
    cur = cur[key];
  }
  return cur!;
}
const map = (obj: YamlValue | undefined, path: string): YamlMap => {
  const v = at(obj, path);
  if (!isMap(v)) throw new Error(`${path} must be a mapping`);
  return v;
};
const list = (obj: YamlValue | undefined, path: string): YamlMap[] => {
  const v = at(obj, path);
  if (!Array.isArray(v) || !v.every(isMap)) throw new Error(`${path} must be a list of mappings`);
  return v as YamlMap[];
};
const num = (obj: YamlValue | undefined, path: string): number => {
  const v = at(obj, path);
  if (typeof v !== 'number') throw new Error(`${path} must be a number, got ${JSON.stringify(v)}`);
  return v;
};

function doc(docs: YamlMap[], kind: string): YamlMap {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

const fleet = doc(files.fleet, 'Fleet');
const autoscaler = doc(files.fleet, 'FleetAutoscaler');
const deployment = doc(files.deployment, 'Deployment');
const service = doc(files.deployment, 'Service');
const pvc = doc(files.assets, 'PersistentVolumeClaim');

/** A pod name as Kubernetes would substitute for `fieldRef: metadata.name`. */
const POD_NAME = 'keel-x7k2p-9qz4m';

interface Workload {
  name: string;
  pod: YamlMap;
  container: YamlMap;
  /** The container's own env as Kubernetes hands it over (fieldRefs resolved). */
  env: Record<string, string>;
  /** Env entries Kubernetes would reject or this test cannot resolve. */
  envProblems: string[];
}

function workload(name: string, pod: YamlMap, containerName: string): Workload {
  const container = list(pod, 'containers').find((c) => c.name === containerName);
  if (!container) throw new Error(`${name}: no container ${containerName}`);
  const env: Record<string, string> = {};
  const envProblems: string[] = [];
  for (const e of list(container, 'env')) {
    const key = String(e.name);
    if ('valueFrom' in e) {
      if (at(e, 'valueFrom.fieldRef.fieldPath') === 'metadata.name') env[key] = POD_NAME;
      else envProblems.push(`${key}: only the pod name is taken from the downward API here`);
    } else if (typeof e.value === 'string') {
      env[key] = e.value;
    } else {
      // Kubernetes rejects an env value that is not a string; YAML types a bare 10000 as a number.
      envProblems.push(`${key}: ${JSON.stringify(e.value)} must be a quoted string`);
      env[key] = String(e.value);
    }
  }
  return { name, pod, container, env, envProblems };
}

const fleetServer = workload('Fleet', map(fleet, 'spec.template.spec.template.spec'), String(at(fleet, 'spec.template.spec.container')));
const deploymentServer = workload('Deployment', map(deployment, 'spec.template.spec'), 'keel');
const WORKLOADS = [fleetServer, deploymentServer];

/** Where a container path comes from on this machine: the assets volume holds what the image bakes into /assets, the repo's scenes/. */
function hostPath(w: Workload, containerPath: string): string {
  const mount = list(w.container, 'volumeMounts').find((m) => containerPath === m.mountPath || containerPath.startsWith(`${String(m.mountPath)}/`));
  if (!mount) throw new Error(`${w.name}: ${containerPath} is not under a volume mount`);
  const volume = list(w.pod, 'volumes').find((v) => v.name === mount.name)!;
  expect(at(volume, 'persistentVolumeClaim.claimName'), `${w.name}: ${containerPath} is on the assets claim`).toBe(at(pvc, 'metadata.name'));
  return join(REPO, 'scenes', posix.relative(String(mount.mountPath), containerPath));
}

/** The environment the server sees in the container: the image's ENV, then the container's. */
function podEnv(w: Workload, extra: Record<string, string> = {}): Record<string, string> {
  return { ...image.env, ...w.env, ...extra };
}

/** The server's settings in that environment, resolved by the server's own code. */
function resolved(w: Workload, extra: Record<string, string> = {}): EarlyConfig {
  const env = podEnv(w, extra);
  return resolveEarlyConfig({ scene: undefined, flags: {}, env: { ...env, ASSET_PATH: hostPath(w, env.ASSET_PATH!) }, cwd: REPO, stdoutIsTTY: false });
}

/** Agones sets AGONES_SDK_HTTP_PORT in the game server container to sdkServer.httpPort. */
const AGONES_ENV = { AGONES_SDK_HTTP_PORT: String(num(fleet, 'spec.template.spec.sdkServer.httpPort')) };

/** A probe's or Service's port: a number, or the name of a container port. */
function containerPort(w: Workload, port: YamlValue): number {
  if (typeof port === 'number') return port;
  const p = list(w.container, 'ports').find((x) => x.name === port);
  if (!p) throw new Error(`${w.name}: no container port named ${String(port)}`);
  return num(p, 'containerPort');
}

// ---------------------------------------------------------------------------------------------

describe('deploy/k8s manifests', () => {
  it('are read as several documents, in the YAML subset the deploy tests read', () => {
    expect(files.fleet.map((d) => `${String(d.apiVersion)} ${String(d.kind)}`)).toEqual(['agones.dev/v1 Fleet', 'autoscaling.agones.dev/v1 FleetAutoscaler']);
    expect(files.deployment.map((d) => `${String(d.apiVersion)} ${String(d.kind)}`)).toEqual(['apps/v1 Deployment', 'v1 Service']);
    expect(files.assets.map((d) => `${String(d.apiVersion)} ${String(d.kind)}`)).toEqual(['v1 PersistentVolumeClaim']);
    // The reader: mappings in list items, lists at their key's column, documents, errors by line.
    expect(parseYamlDocuments('a: 1\n---\n# only a comment\n---\nb:\n- x: 1\n  y: [p, "q"]\n- 2\n')).toEqual([{ a: 1 }, { b: [{ x: 1, y: ['p', 'q'] }, 2] }]);
    expect(() => parseYamlDocuments('a: 1\n---\nb: {c: 1}\n')).toThrow(/line 3: unsupported value/);
    expect(() => parseYamlSubset('a: 1\n---\nb: 2\n')).toThrow(YamlSubsetError);
  });

  it.each(WORKLOADS.map((w) => [w.name, w] as const))('%s: every env var is one keel reads, and the settings resolve with the server config code', (_name, w) => {
    expect(w.envProblems).toEqual([]);
    const read = new Set([...SERVE_OPTIONS.map((o) => o.env), 'SERVER_SCENE', 'NODE_ENV']);
    expect(Object.keys(w.env).filter((k) => !read.has(k))).toEqual([]);
    const cfg = resolved(w, w === fleetServer ? AGONES_ENV : {});
    expect(cfg.scene).toBe(join(REPO, 'scenes', 'arena.json'));
    expect(cfg.id).toBe(POD_NAME);
    expect(cfg.logFormat).toBe('json');
    expect(cfg.watch).toBe(false); // the assets are read-only and a new pod sees new files
    // The args replace the image's CMD; its ENTRYPOINT runs the bundle.
    expect([...image.entrypoint, ...(at(w.container, 'args') as string[])]).toEqual(['node', '/app/dist/keel.mjs', 'serve']);
  });

  it('Fleet: the game port is the one the server binds, the health port its listener, and Agones is switched on', () => {
    const cfg = resolved(fleetServer, AGONES_ENV);
    const game = list(fleet, 'spec.template.spec.ports').find((p) => p.name === 'game')!;
    expect(num(game, 'containerPort')).toBe(cfg.port);
    expect(game.protocol).toBe('TCP'); // WebSocket
    expect(['Dynamic', 'Passthrough', 'Static', 'None']).toContain(game.portPolicy);
    // Agones adds the game port to the container; the pod template declares only the health port.
    expect(list(fleetServer.container, 'ports').map((p) => num(p, 'containerPort'))).toEqual([cfg.healthPort]);
    expect(cfg.agones).toBe(true);
    expect(cfg.agonesPort).toBe(num(fleet, 'spec.template.spec.sdkServer.httpPort'));
    // Agones provides the port variable; the manifest must not switch the integration off.
    expect(fleetServer.env.AGONES_SDK_HTTP_PORT).toBeUndefined();
    expect(fleetServer.env.SERVER_AGONES ?? 'true').not.toMatch(/^(0|false|no|off)$/i);
    // The players List the server fills, with its player limit as capacity.
    const capacity = num(fleet, `spec.template.spec.lists.${PLAYERS_LIST}.capacity`);
    expect(capacity).toBe(cfg.maxPlayers);
    expect(capacity).toBeLessThanOrEqual(LIST_MAX_CAPACITY);
  });

  it('Fleet: Health pings at most half a period apart; Unhealthy never before the watchdog; readiness on /readyz', () => {
    const cfg = resolved(fleetServer, AGONES_ENV);
    const health = map(fleet, 'spec.template.spec.health');
    expect(health.disabled).toBe(false);
    const periodMs = num(health, 'periodSeconds') * 1000;
    const threshold = num(health, 'failureThreshold');
    // One late ping never makes a check fail.
    expect(cfg.agonesHealthMs * 2).toBeLessThanOrEqual(periodMs);
    // Agones notices a frozen loop after at least threshold x period minus one ping interval:
    // a stall the server survives (shorter than its watchdog) must not be given up on.
    expect(cfg.watchdogMs).toBeGreaterThan(0);
    expect(threshold * periodMs - cfg.agonesHealthMs).toBeGreaterThanOrEqual(cfg.watchdogMs);
    expect(periodMs).toBeGreaterThan(cfg.stallMs);
    // Agones adds its own liveness probe (on the SDK's health) only when none is set.
    expect(fleetServer.container.livenessProbe).toBeUndefined();
    const ready = map(fleetServer.container, 'readinessProbe');
    expect(at(ready, 'httpGet.path')).toBe('/readyz');
    expect(containerPort(fleetServer, at(ready, 'httpGet.port'))).toBe(cfg.healthPort);
  });

  it('Deployment: probes on /livez and /readyz on the health port, timed around the stall limit and the watchdog', () => {
    const cfg = resolved(deploymentServer);
    expect(cfg.agones).toBe(false);
    expect(resolved(deploymentServer, { AGONES_SDK_HTTP_PORT: '9358' }).agones).toBe(false); // even if the variable leaks in
    expect(containerPort(deploymentServer, 'game')).toBe(cfg.port);
    const probe = (kind: string) => {
      const p = map(deploymentServer.container, kind);
      expect(containerPort(deploymentServer, at(p, 'httpGet.port')), `${kind} port`).toBe(cfg.healthPort);
      return { path: at(p, 'httpGet.path'), periodMs: num(p, 'periodSeconds') * 1000, timeoutMs: num(p, 'timeoutSeconds') * 1000, threshold: num(p, 'failureThreshold') };
    };
    const startup = probe('startupProbe');
    const live = probe('livenessProbe');
    const ready = probe('readinessProbe');
    expect([startup.path, live.path, ready.path]).toEqual(['/livez', '/livez', '/readyz']);
    // /livez turns 503 after stallMs; the kubelet kills after `threshold` failures in a row, not
    // before the watchdog would have (a stall the server survives is not killed).
    expect(cfg.stallMs + (live.threshold - 1) * live.periodMs).toBeGreaterThanOrEqual(cfg.watchdogMs);
    expect(live.timeoutMs).toBeLessThan(live.periodMs);
    expect(startup.threshold * startup.periodMs).toBeGreaterThanOrEqual(10_000);
    // The Service reaches these pods on ports they declare.
    const podLabels = map(deployment, 'spec.template.metadata.labels');
    expect(map(deployment, 'spec.selector.matchLabels')).toEqual(podLabels);
    expect(Object.entries(map(service, 'spec.selector')).every(([k, v]) => podLabels[k] === v)).toBe(true);
    const targets = list(service, 'spec.ports').map((p) => containerPort(deploymentServer, at(p, 'targetPort')));
    expect(targets).toEqual([cfg.port, cfg.healthPort]);
  });

  it.each(WORKLOADS.map((w) => [w.name, w] as const))('%s: the termination grace outlasts the drain', (_name, w) => {
    const cfg = resolved(w, w === fleetServer ? AGONES_ENV : {});
    // At least 2 s more than keel's own limit, so its exit code (0, or 4 on a slow drain) is
    // what Kubernetes sees, not a SIGKILL.
    expect(num(w.pod, 'terminationGracePeriodSeconds') * 1000).toBeGreaterThanOrEqual(cfg.shutdownGraceMs + 2000);
  });

  it.each(WORKLOADS.map((w) => [w.name, w] as const))('%s: non-root, read-only root, read-only assets from the claim, scratch /tmp, bounded resources', (_name, w) => {
    // The image's USER is node, uid and gid 1000 in the node images.
    expect(image.user).toBe('node');
    expect(at(w.pod, 'securityContext.runAsNonRoot')).toBe(true);
    expect(at(w.pod, 'securityContext.runAsUser')).toBe(1000);
    const sc = map(w.container, 'securityContext');
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(at(sc, 'capabilities.drop')).toEqual(['ALL']);
    // Assets: the directory ASSET_PATH names is mounted read-only from the ReadOnlyMany claim.
    const assets = podEnv(w).ASSET_PATH!;
    const mount = list(w.container, 'volumeMounts').find((m) => m.mountPath === assets)!;
    expect(mount.readOnly).toBe(true);
    const volume = list(w.pod, 'volumes').find((v) => v.name === mount.name)!;
    expect(at(volume, 'persistentVolumeClaim.readOnly')).toBe(true);
    expect(at(pvc, 'spec.accessModes')).toEqual(['ReadOnlyMany']);
    // With the root read-only, /tmp is a volume.
    const tmp = list(w.container, 'volumeMounts').find((m) => m.mountPath === '/tmp')!;
    expect(at(list(w.pod, 'volumes').find((v) => v.name === tmp.name), 'emptyDir.medium')).toBe('Memory');
    // Requests and limits; a whole core as the CPU limit (no throttling inside a tick period).
    const cpu = (v: YamlValue) => (String(v).endsWith('m') ? Number(String(v).slice(0, -1)) / 1000 : Number(v));
    const mi = (v: YamlValue) => Number(/^(\d+)Mi$/.exec(String(v))![1]);
    expect(cpu(at(w.container, 'resources.limits.cpu'))).toBeGreaterThanOrEqual(1);
    expect(cpu(at(w.container, 'resources.requests.cpu'))).toBeLessThanOrEqual(cpu(at(w.container, 'resources.limits.cpu')));
    expect(mi(at(w.container, 'resources.requests.memory'))).toBeLessThanOrEqual(mi(at(w.container, 'resources.limits.memory')));
  });

  it('FleetAutoscaler: scales the Fleet above, with a buffer inside its bounds', () => {
    expect(at(autoscaler, 'spec.fleetName')).toBe(at(fleet, 'metadata.name'));
    const buffer = map(autoscaler, 'spec.policy.buffer');
    expect(at(autoscaler, 'spec.policy.type')).toBe('Buffer');
    expect(num(buffer, 'minReplicas')).toBeLessThanOrEqual(num(buffer, 'maxReplicas'));
    expect(num(buffer, 'bufferSize')).toBeLessThan(num(buffer, 'maxReplicas'));
    expect(num(fleet, 'spec.replicas')).toBeGreaterThanOrEqual(num(buffer, 'minReplicas'));
  });
});

// ---------------------------------------------------------------------------------------------
// Running each container's settings on the host

/** The container's environment on this machine: ports swapped for free ones, bound to 127.0.0.1, nothing of this shell's keel settings. */
async function hostRun(w: Workload, extra: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = {};
  for (const spec of SERVE_OPTIONS) env[spec.env] = undefined;
  env.SERVER_SCENE = undefined;
  const pod = podEnv(w, extra);
  Object.assign(env, pod, { ASSET_PATH: hostPath(w, pod.ASSET_PATH!), SERVER_HOST: '127.0.0.1', SERVER_PORT: String(await freePort()), SERVER_HEALTH_PORT: String(await freePort()) });
  const [node, script, ...args] = [...image.entrypoint, ...(at(w.container, 'args') as string[])];
  expect([node, script]).toEqual(['node', '/app/dist/keel.mjs']); // the bundle, which is KEEL here
  expect(KEEL.endsWith(join('dist', 'keel.mjs'))).toBe(true);
  const proc = startKeel(args, { env });
  return { proc, health: Number(env.SERVER_HEALTH_PORT) };
}

describe('deploy/k8s containers, run on the host', () => {
  it('Deployment: the startup, liveness and readiness URLs answer 200; SIGTERM drains and exits 0 within the grace', { timeout: 60_000 }, async () => {
    const { proc, health } = await hostRun(deploymentServer);
    const url = (kind: string) => `http://127.0.0.1:${health}${String(at(deploymentServer.container, `${kind}.httpGet.path`))}`;
    const startupMs = num(deploymentServer.container, 'startupProbe.periodSeconds') * num(deploymentServer.container, 'startupProbe.failureThreshold') * 1000;
    await until(async () => ((await get(url('startupProbe')))?.status === 200 ? true : undefined), 'the startup probe', startupMs);
    await until(async () => ((await get(url('readinessProbe')))?.status === 200 ? true : undefined), 'the readiness probe', 15_000);
    const live = await get(url('livenessProbe'));
    expect(live?.status).toBe(200);
    expect(live?.json).toMatchObject({ id: POD_NAME, world: 'arena', state: 'ready' });
    const r = await proc.stop('SIGTERM', num(deploymentServer.pod, 'terminationGracePeriodSeconds') * 1000);
    expect(r.code).toBe(0);
  });

  it('Fleet: with the port Agones sets, Ready and the first Health reach the sidecar within the health settings; SIGTERM sends Shutdown', { timeout: 60_000 }, async () => {
    const sidecar = new SidecarStandIn(await freePort());
    sidecars.push(sidecar);
    await sidecar.setMode('up');
    const t0 = Date.now();
    const { proc, health } = await hostRun(fleetServer, { AGONES_SDK_HTTP_PORT: String(sidecar.port) });
    const h = map(fleet, 'spec.template.spec.health');
    // Agones' first check comes initialDelaySeconds after the start and fails with no ping for a period.
    const firstCheckMs = (num(h, 'initialDelaySeconds') + num(h, 'periodSeconds')) * 1000;
    await until(() => (sidecar.to('/health').length > 0 ? true : undefined), 'the first Health ping', firstCheckMs);
    await until(() => (sidecar.to('/ready').length > 0 ? true : undefined), 'Ready', firstCheckMs);
    expect(sidecar.to('/health')[0]!.at - t0).toBeLessThan(firstCheckMs);
    expect(sidecar.list.capacity).toBe(num(fleet, `spec.template.spec.lists.${PLAYERS_LIST}.capacity`));
    expect(sidecar.labels.get('world')).toBe('arena');
    const ready = await get(`http://127.0.0.1:${health}${String(at(fleetServer.container, 'readinessProbe.httpGet.path'))}`);
    expect(ready?.status).toBe(200);
    const r = await proc.stop('SIGTERM', num(fleetServer.pod, 'terminationGracePeriodSeconds') * 1000);
    expect(r.code).toBe(0);
    expect(sidecar.to('/shutdown')).toHaveLength(1);
  });
});
