import { HEALTH_PORT_OFFSET, SERVE_OPTIONS, ConfigError, cpuList, type OptionSpec, type RawServeOptions } from '../config.js';
import { allowedCpus, spreadCpus } from './cpus.js';

/**
 * `keel fleet` settings, resolved like `keel serve`'s: flag > environment variable > default,
 * every option described once in FLEET_OPTIONS (the CLI builds its flags and `--help` from it),
 * every bad value a ConfigError naming the flag or variable (exit 2).
 */
export type FleetMode = 'process' | 'thread';
export type FleetView = 'auto' | 'table' | 'log';

export interface FleetConfig {
  /** The scene argument as given; each instance resolves it as `keel serve` does. */
  scene: string | undefined;
  count: number;
  basePort: number;
  /** First instance's health port; 0: no per-instance health listeners. */
  healthBasePort: number;
  mode: FleetMode;
  /** CPUs per instance (index i), or undefined: no pinning. */
  cpus: number[][] | undefined;
  /** First instance's admin channel port, the others the next ports; 0: no admin channel. */
  adminBasePort: number;
  /** The fleet status listener; 0 disables it. */
  statusPort: number;
  statusHost: string;
  idPrefix: string;
  view: FleetView;
  restartInitialMs: number;
  restartMaxMs: number;
  /** After running this long, an instance's next restart waits restartInitialMs again. */
  restartStableMs: number;
  /** Thread mode: the V8 old-generation heap limit of each instance's thread, in MB. */
  instanceHeapMb: number;
  /** Serve options given on the fleet's command line, passed to every instance as flags. */
  serveFlags: RawServeOptions;
}

export interface FleetOptionSpec {
  key: keyof RawFleetOptions;
  flag: string;
  env: string;
  description: string;
  defaultText: string;
}

export interface RawFleetOptions {
  count?: string;
  basePort?: string;
  healthBasePort?: string;
  adminBasePort?: string;
  mode?: string;
  cpus?: string;
  statusPort?: string;
  statusHost?: string;
  idPrefix?: string;
  view?: string;
  restartInitialMs?: string;
  restartMaxMs?: string;
  instanceHeapMb?: string;
}

export const DEFAULT_BASE_PORT = 7000;
/** The fleet status port defaults to the base port plus this (health ports take base + 1000...). */
export const STATUS_PORT_OFFSET = 2000;
export const MAX_INSTANCES = 256;
export const DEFAULT_INSTANCE_HEAP_MB = 512;

export const FLEET_OPTIONS: readonly FleetOptionSpec[] = [
  { key: 'count', flag: '--count <n>', env: 'FLEET_COUNT', description: `instances to run (1-${MAX_INSTANCES})`, defaultText: '1' },
  { key: 'basePort', flag: '--base-port <port>', env: 'FLEET_BASE_PORT', description: 'game port of the first instance; the others take the next ports', defaultText: String(DEFAULT_BASE_PORT) },
  { key: 'healthBasePort', flag: '--health-base-port <port>', env: 'FLEET_HEALTH_BASE_PORT', description: 'health port of the first instance, the others the next ports; 0: none', defaultText: `base port + ${HEALTH_PORT_OFFSET}` },
  {
    key: 'adminBasePort',
    flag: '--admin-base-port <port>',
    env: 'FLEET_ADMIN_BASE_PORT',
    description: 'admin channel port of the first instance, the others the next ports (live view, pause/step, push edit); needs SERVER_ADMIN_TOKEN, shared by all; 0: off',
    defaultText: '0: off',
  },
  { key: 'mode', flag: '--mode <mode>', env: 'FLEET_MODE', description: 'process: one OS process per instance; thread: worker threads in this process', defaultText: 'process' },
  { key: 'cpus', flag: '--cpus <list>', env: 'FLEET_CPUS', description: 'auto: spread instances over the CPUs this process may use; or a list (0-3, 0,2,4) to spread them over', defaultText: 'no pinning' },
  { key: 'statusPort', flag: '--status-port <port>', env: 'FLEET_STATUS_PORT', description: 'HTTP port of the fleet status (/status JSON, /livez, /readyz); 0 disables', defaultText: `base port + ${STATUS_PORT_OFFSET}` },
  { key: 'statusHost', flag: '--status-host <address>', env: 'FLEET_STATUS_HOST', description: 'address the fleet status listener binds', defaultText: '127.0.0.1' },
  { key: 'idPrefix', flag: '--id-prefix <prefix>', env: 'FLEET_ID_PREFIX', description: 'instance ids are this plus 01, 02, ...', defaultText: 'Instance-' },
  { key: 'view', flag: '--view <view>', env: 'FLEET_VIEW', description: 'auto|table|log: table redraws a status table each second (terminals only)', defaultText: 'auto: table on a terminal, else log' },
  { key: 'restartInitialMs', flag: '--restart-initial-ms <ms>', env: 'FLEET_RESTART_INITIAL_MS', description: 'first restart delay; doubles per restart, reset after a minute up', defaultText: '500' },
  { key: 'restartMaxMs', flag: '--restart-max-ms <ms>', env: 'FLEET_RESTART_MAX_MS', description: 'longest restart delay', defaultText: '30000' },
  {
    key: 'instanceHeapMb',
    flag: '--instance-heap-mb <mb>',
    env: 'FLEET_INSTANCE_HEAP_MB',
    description: "thread mode: each instance thread's JS heap limit (32-65536); one that exhausts it is ended and restarted, the others keep running",
    defaultText: String(DEFAULT_INSTANCE_HEAP_MB),
  },
];

/**
 * Serve options the fleet sets per instance (and so does not take): the game port, id,
 * health port and CPUs come from --base-port, --id-prefix, --health-base-port and --cpus. A
 * health file would be shared by every instance, so it is not passed on either.
 */
const PER_INSTANCE = new Set<keyof RawServeOptions>(['port', 'id', 'healthPort', 'cpus', 'healthFile']);
/** Agones runs one game server per pod, each with its own SDK sidecar: not something to give N instances at once. */
const isAgones = (o: OptionSpec) => /^agones/i.test(o.key);
/**
 * The admin channel is one port per instance: --admin-base-port gives them out; the token
 * (SERVER_ADMIN_TOKEN), host and origins reach every instance through the environment only.
 */
const isAdmin = (o: OptionSpec) => /^admin/.test(o.key);
export const FLEET_SERVE_OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS.filter((o) => !PER_INSTANCE.has(o.key) && !isAgones(o) && !isAdmin(o));
/**
 * Serve options a process-mode instance gets in its environment, never on its command line,
 * which any user of the machine can read (`ps`, /proc/PID/cmdline). The environment of another
 * user's process is not readable.
 */
export const ENV_ONLY_SERVE_OPTIONS: ReadonlySet<keyof RawServeOptions> = new Set(['joinSecret']);
/** Variables the fleet sets for each instance, overriding the fleet's own environment. */
export const PER_INSTANCE_ENV: readonly string[] = SERVE_OPTIONS.filter((o) => PER_INSTANCE.has(o.key)).map((o) => o.env);

/**
 * One instance's environment: the fleet's, less the per-instance variables, plus this
 * instance's port, id, health port and log format. Agones is off: one sidecar serves one game
 * server, so fleet instances never report to it.
 */
export function instanceEnv(base: NodeJS.ProcessEnv, spec: { port: number; id: string; healthPort: number; adminPort?: number }, logFormat: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of PER_INSTANCE_ENV) delete env[k];
  if (spec.adminPort) env.SERVER_ADMIN_PORT = String(spec.adminPort);
  else for (const o of SERVE_OPTIONS) if (isAdmin(o)) delete env[o.env];
  env.SERVER_PORT = String(spec.port);
  env.SERVER_ID = spec.id;
  env.SERVER_HEALTH_PORT = String(spec.healthPort);
  env.SERVER_LOG_FORMAT = logFormat;
  env.SERVER_AGONES = 'false';
  return env;
}

type Source = { value: string; source: string };

function int(s: Source, min: number, max: number): number {
  const n = /^\s*-?\d+\s*$/.test(s.value) ? Number(s.value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(s.source, s.value, `must be an integer from ${min} to ${max}`);
  return n;
}

export interface FleetResolveInput {
  scene: string | undefined;
  flags: RawFleetOptions;
  serveFlags: RawServeOptions;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  /** CPUs this process may use (tests pass their own). */
  allowed?: readonly number[];
}

/** Validates the fleet's own options; throws ConfigError naming the first bad one. */
export function resolveFleetConfig(input: FleetResolveInput): FleetConfig {
  const raw: Partial<Record<keyof RawFleetOptions, Source>> = {};
  for (const spec of FLEET_OPTIONS) {
    const v = input.flags[spec.key];
    if (v !== undefined) raw[spec.key] = { value: v, source: spec.flag.split(' ')[0]! };
    else if (input.env[spec.env] !== undefined && input.env[spec.env] !== '') raw[spec.key] = { value: input.env[spec.env]!, source: spec.env };
  }
  const count = raw.count ? int(raw.count, 1, MAX_INSTANCES) : 1;
  const basePort = raw.basePort ? int(raw.basePort, 1, 65536 - count) : DEFAULT_BASE_PORT;
  const span = (p: number) => [p, p + count - 1] as const;
  const overlaps = (a: number, b: number) => a <= b + count - 1 && b <= a + count - 1;
  let healthBasePort: number;
  if (raw.healthBasePort) {
    healthBasePort = int(raw.healthBasePort, 0, 65536 - count);
    if (healthBasePort !== 0 && overlaps(healthBasePort, basePort)) {
      throw new ConfigError(raw.healthBasePort.source, raw.healthBasePort.value, `health ports ${span(healthBasePort).join('-')} overlap the game ports ${span(basePort).join('-')}`);
    }
  } else {
    healthBasePort = basePort + HEALTH_PORT_OFFSET + count - 1 <= 65535 ? basePort + HEALTH_PORT_OFFSET : 0;
  }
  let statusPort: number;
  if (raw.statusPort) {
    statusPort = int(raw.statusPort, 0, 65535);
    const inGame = statusPort >= basePort && statusPort < basePort + count;
    const inHealth = healthBasePort !== 0 && statusPort >= healthBasePort && statusPort < healthBasePort + count;
    if (statusPort !== 0 && (inGame || inHealth)) throw new ConfigError(raw.statusPort.source, raw.statusPort.value, `is one of the ${inGame ? 'game' : 'health'} ports`);
  } else {
    statusPort = basePort + STATUS_PORT_OFFSET <= 65535 ? basePort + STATUS_PORT_OFFSET : 0;
  }
  let adminBasePort = 0;
  if (raw.adminBasePort) {
    adminBasePort = int(raw.adminBasePort, 0, 65536 - count);
    const clash = ([['game', basePort], ['health', healthBasePort]] as const).find(([, b]) => b !== 0 && adminBasePort !== 0 && overlaps(adminBasePort, b));
    if (clash) throw new ConfigError(raw.adminBasePort.source, raw.adminBasePort.value, `admin ports ${span(adminBasePort).join('-')} overlap the ${clash[0]} ports ${span(clash[1]).join('-')}`);
    if (adminBasePort !== 0 && statusPort >= adminBasePort && statusPort < adminBasePort + count) {
      throw new ConfigError(raw.adminBasePort.source, raw.adminBasePort.value, `admin ports ${span(adminBasePort).join('-')} include the status port ${statusPort}`);
    }
    const token = input.env.SERVER_ADMIN_TOKEN;
    if (adminBasePort !== 0 && (!token || token.length < 16)) {
      throw new ConfigError(raw.adminBasePort.source, raw.adminBasePort.value, 'the admin channel needs a token shared by every instance: set SERVER_ADMIN_TOKEN to 16+ characters');
    }
  }
  const mode = raw.mode ? oneOf(raw.mode, ['process', 'thread'] as const) : 'process';
  let cpus: number[][] | undefined;
  if (raw.cpus) {
    const allowed = input.allowed ?? allowedCpus();
    const list = raw.cpus.value.trim() === 'auto' ? [...allowed] : cpuList(raw.cpus.value, raw.cpus.source, allowed);
    cpus = spreadCpus(count, list);
  }
  const idPrefix = raw.idPrefix?.value ?? 'Instance-';
  if (raw.idPrefix && !/^[\w.:-]{0,56}$/.test(idPrefix)) throw new ConfigError(raw.idPrefix.source, raw.idPrefix.value, 'must be up to 56 letters, digits or . _ : -');
  const restartInitialMs = raw.restartInitialMs ? int(raw.restartInitialMs, 0, 600_000) : 500;
  const restartMaxMs = raw.restartMaxMs ? int(raw.restartMaxMs, 0, 3_600_000) : 30_000;
  if (restartMaxMs < restartInitialMs) {
    const s = raw.restartMaxMs ?? raw.restartInitialMs!;
    throw new ConfigError(s.source, s.value, `the longest restart delay (${restartMaxMs} ms) must not be below the first (${restartInitialMs} ms)`);
  }
  return {
    scene: input.scene,
    count,
    basePort,
    healthBasePort,
    adminBasePort,
    mode,
    cpus,
    statusPort,
    statusHost: raw.statusHost?.value ?? '127.0.0.1',
    idPrefix,
    view: raw.view ? oneOf(raw.view, ['auto', 'table', 'log'] as const) : 'auto',
    restartInitialMs,
    restartMaxMs,
    restartStableMs: 60_000,
    instanceHeapMb: raw.instanceHeapMb ? int(raw.instanceHeapMb, 32, 65536) : DEFAULT_INSTANCE_HEAP_MB,
    serveFlags: input.serveFlags,
  };
}

function oneOf<T extends string>(s: Source, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(s.value)) throw new ConfigError(s.source, s.value, `must be one of ${values.join(', ')}`);
  return s.value as T;
}

/** `Instance-01`: zero-padded to the width of the count (at least two digits). */
export function instanceId(prefix: string, index: number, count: number): string {
  return `${prefix}${String(index + 1).padStart(Math.max(2, String(count).length), '0')}`;
}
