import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_PHYSICS, PHYSICS_BACKENDS, type PhysicsBackend, type SceneSettings } from '../core/index.js';
import { allowedCpus, checkCpus, parseCpuList } from './fleet/cpus.js';

/**
 * Server configuration, resolved once at start with the precedence
 *   command-line flag > environment variable > scene settings > default.
 * Every option is described once in SERVE_OPTIONS; the CLI builds its flags and `--help` from
 * that table, and errors name the flag or variable the bad value came from.
 */
export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface ServerConfig {
  /** Absolute path of the scene file. */
  scene: string;
  /** Absolute asset root: scripts and binary assets resolve under it. */
  assets: string;
  port: number;
  host: string;
  id: string;
  /** World name shown in logs; defaults to the scene's name. */
  world: string;
  tickRate: number;
  maxPlayers: number;
  /** Physics engine of the simulation. */
  physics: PhysicsBackend;
  logLevel: LogLevel;
  logFormat: LogFormat;
  watch: boolean;
  /** 0 disables the health listener. */
  healthPort: number;
  healthHost: string;
  stallMs: number;
  /** 0 disables the watchdog. */
  watchdogMs: number;
  healthFile: string | undefined;
  shutdownGraceMs: number;
  /** Snapshots per second to each client. */
  sendRate: number;
  /** When set, only clients with a join token signed with it may join. */
  joinSecret: string | undefined;
  /** CPUs the process pins itself to at start; undefined leaves affinity alone. */
  cpus: number[] | undefined;
  /** Report to the Agones SDK sidecar: Ready, Health from the loop, Shutdown, players, labels. */
  agones: boolean;
  /** The sidecar's REST port. */
  agonesPort: number;
  /** Time between Health pings, sent from the game loop. */
  agonesHealthMs: number;
  /** Port of the admin channel (live view, pause/step, push edit); 0: off. */
  adminPort: number;
  adminHost: string;
  /** Bearer token the admin channel requires (set whenever adminPort is). */
  adminToken: string | undefined;
  /** Origins a browser may open the admin channel from. */
  adminOrigins: string[];
}

export interface OptionSpec {
  key: keyof RawServeOptions;
  flag: string;
  env: string;
  description: string;
  /** Shown in --help; a function of nothing, since some defaults come from the scene. */
  defaultText: string;
  /** Boolean switch rather than a valued flag. */
  negatable?: boolean;
}

/** Options as strings, before validation, with where each came from. */
export interface RawServeOptions {
  port?: string;
  host?: string;
  id?: string;
  world?: string;
  tickRate?: string;
  maxPlayers?: string;
  physics?: string;
  assets?: string;
  logLevel?: string;
  logFormat?: string;
  watch?: string;
  healthPort?: string;
  healthHost?: string;
  stallMs?: string;
  watchdogMs?: string;
  healthFile?: string;
  shutdownGraceMs?: string;
  sendRate?: string;
  joinSecret?: string;
  cpus?: string;
  agones?: string;
  agonesPort?: string;
  agonesHealthMs?: string;
  adminPort?: string;
  adminHost?: string;
  adminToken?: string;
  adminOrigin?: string;
}

export const DEFAULT_PORT = 7777;
export const DEFAULT_TICK_RATE = 60;
/** The health port defaults to the game port plus this, so instances on one host never collide. */
export const HEALTH_PORT_OFFSET = 1000;
export const DEFAULT_STALL_MS = 1500;
export const DEFAULT_WATCHDOG_MS = 10_000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_SEND_RATE = 20;
/** Agones' default sidecar HTTP port. */
export const DEFAULT_AGONES_PORT = 9358;
/** Under half of the Fleet's spec.health.periodSeconds (deploy/k8s/fleet.yaml), so one late ping never counts as a failure. */
export const DEFAULT_AGONES_HEALTH_MS = 2000;
/**
 * The health listener (with /metrics) answers on loopback only unless told otherwise: it is an
 * operator's port, not a player's. Container images and manifests set SERVER_HEALTH_HOST=0.0.0.0
 * so that probes and scrapers from outside the container reach it.
 */
export const DEFAULT_HEALTH_HOST = '127.0.0.1';

/** The admin channel answers on loopback only unless told otherwise. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
/** The dev server's addresses (`npm start`): where the editor attaches from. */
export const DEFAULT_ADMIN_ORIGINS: readonly string[] = ['http://127.0.0.1:5173', 'http://localhost:5173'];

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: '--port <port>', env: 'SERVER_PORT', description: 'WebSocket game port', defaultText: String(DEFAULT_PORT) },
  { key: 'host', flag: '--host <address>', env: 'SERVER_HOST', description: 'address to bind', defaultText: '0.0.0.0' },
  { key: 'id', flag: '--id <id>', env: 'SERVER_ID', description: 'instance id on every log line', defaultText: 'Instance-<port>' },
  { key: 'world', flag: '--world <name>', env: 'SERVER_WORLD', description: 'world name shown in logs', defaultText: 'scene name' },
  { key: 'tickRate', flag: '--tick-rate <hz>', env: 'SERVER_TICK_RATE', description: 'simulation ticks per second (1-240)', defaultText: 'scene settings.tickRate, else 60' },
  { key: 'maxPlayers', flag: '--max-players <n>', env: 'SERVER_MAX_PLAYERS', description: 'player limit', defaultText: 'scene settings.maxPlayers' },
  { key: 'physics', flag: '--physics <engine>', env: 'SERVER_PHYSICS', description: 'physics engine: cannon|rapier', defaultText: 'scene settings.physics, else cannon' },
  { key: 'assets', flag: '--assets <dir>', env: 'ASSET_PATH', description: 'asset root; relative scene paths resolve here too', defaultText: "the scene file's folder" },
  { key: 'logLevel', flag: '--log-level <level>', env: 'SERVER_LOG_LEVEL', description: 'fatal|error|warn|info|debug|trace', defaultText: 'info' },
  { key: 'logFormat', flag: '--log-format <format>', env: 'SERVER_LOG_FORMAT', description: 'json|pretty', defaultText: 'pretty on a terminal, else json' },
  { key: 'watch', flag: '--no-watch', env: 'SERVER_WATCH', description: 'do not hot-reload the scene when its files change', defaultText: 'watch on', negatable: true },
  { key: 'sendRate', flag: '--send-rate <hz>', env: 'SERVER_SEND_RATE', description: 'snapshots per second to each client (1 to the tick rate)', defaultText: String(DEFAULT_SEND_RATE) },
  { key: 'joinSecret', flag: '--join-secret <secret>', env: 'SERVER_JOIN_SECRET', description: 'accept only join tokens signed with this (HMAC-SHA256)', defaultText: 'none: anyone may join' },
  { key: 'healthPort', flag: '--health-port <port>', env: 'SERVER_HEALTH_PORT', description: 'HTTP port of /livez /readyz /healthz /metrics; 0 disables', defaultText: `game port + ${HEALTH_PORT_OFFSET}` },
  { key: 'healthHost', flag: '--health-host <address>', env: 'SERVER_HEALTH_HOST', description: 'address the health listener binds (the image and manifests set 0.0.0.0)', defaultText: DEFAULT_HEALTH_HOST },
  { key: 'stallMs', flag: '--stall-ms <ms>', env: 'SERVER_STALL_MS', description: '/livez answers 503 after this long without a tick', defaultText: String(DEFAULT_STALL_MS) },
  { key: 'watchdogMs', flag: '--watchdog-ms <ms>', env: 'SERVER_WATCHDOG_MS', description: 'exit (code 3) after this long without a tick; 0 disables', defaultText: String(DEFAULT_WATCHDOG_MS) },
  { key: 'healthFile', flag: '--health-file <path>', env: 'SERVER_HEALTH_FILE', description: 'touch this file every 0.5 s while healthy, for exec probes', defaultText: 'none' },
  { key: 'cpus', flag: '--cpus <list>', env: 'SERVER_CPUS', description: 'pin the process to these CPUs (0-3 or 0,2,4; taskset)', defaultText: 'no pinning' },
  { key: 'shutdownGraceMs', flag: '--shutdown-grace-ms <ms>', env: 'SERVER_SHUTDOWN_GRACE_MS', description: 'on SIGTERM/SIGINT, exit 0 within this; else exit 4', defaultText: String(DEFAULT_SHUTDOWN_GRACE_MS) },
  { key: 'agones', flag: '--agones', env: 'SERVER_AGONES', description: 'report to the Agones SDK sidecar (Ready, Health, Shutdown, players, labels)', defaultText: 'on when AGONES_SDK_HTTP_PORT is set' },
  { key: 'agonesPort', flag: '--agones-port <port>', env: 'AGONES_SDK_HTTP_PORT', description: "the Agones sidecar's REST port (Agones sets the variable)", defaultText: String(DEFAULT_AGONES_PORT) },
  { key: 'agonesHealthMs', flag: '--agones-health-ms <ms>', env: 'SERVER_AGONES_HEALTH_MS', description: 'Agones Health ping interval, sent from the game loop', defaultText: String(DEFAULT_AGONES_HEALTH_MS) },
  { key: 'adminPort', flag: '--admin-port <port>', env: 'SERVER_ADMIN_PORT', description: 'WebSocket port of the admin channel (live view, pause/step, push edit); needs --admin-token; 0 disables', defaultText: '0: off' },
  { key: 'adminHost', flag: '--admin-host <address>', env: 'SERVER_ADMIN_HOST', description: 'address the admin channel binds', defaultText: DEFAULT_ADMIN_HOST },
  { key: 'adminToken', flag: '--admin-token <token>', env: 'SERVER_ADMIN_TOKEN', description: 'token admin clients must present (16+ characters); prefer the variable', defaultText: 'none' },
  { key: 'adminOrigin', flag: '--admin-origin <list>', env: 'SERVER_ADMIN_ORIGIN', description: 'comma-separated Origins a browser may open the admin channel from', defaultText: DEFAULT_ADMIN_ORIGINS.join(',') },
];

/** A bad setting: names where it came from (flag or variable) and the value. Exit code 2. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${source} ${JSON.stringify(value)}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Source = { value: string; source: string };

/** Picks flag over environment for each option; returns the winning string and its source name. */
export function collectRaw(flags: RawServeOptions, env: NodeJS.ProcessEnv): Partial<Record<keyof RawServeOptions, Source>> {
  const out: Partial<Record<keyof RawServeOptions, Source>> = {};
  for (const spec of SERVE_OPTIONS) {
    const fromFlag = flags[spec.key];
    const flagName = spec.flag.split(' ')[0]!;
    if (fromFlag !== undefined) out[spec.key] = { value: fromFlag, source: flagName };
    else if (env[spec.env] !== undefined && env[spec.env] !== '') out[spec.key] = { value: env[spec.env]!, source: spec.env };
  }
  return out;
}

function int(s: Source, min: number, max: number): number {
  const n = /^\s*-?\d+\s*$/.test(s.value) ? Number(s.value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(s.source, s.value, `must be an integer from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(s: Source, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(s.value)) throw new ConfigError(s.source, s.value, `must be one of ${values.join(', ')}`);
  return s.value as T;
}

function bool(s: Source): boolean {
  if (/^(1|true|yes|on)$/i.test(s.value)) return true;
  if (/^(0|false|no|off)$/i.test(s.value)) return false;
  throw new ConfigError(s.source, s.value, 'must be true or false');
}

function existingDir(s: Source, cwd: string): string {
  const dir = resolve(cwd, s.value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(s.source, s.value, `directory ${dir} does not exist`);
  return dir;
}

/** Everything that can be checked before the scene is read; the rest comes from the scene. */
export interface EarlyConfig extends Omit<ServerConfig, 'id' | 'world' | 'tickRate' | 'maxPlayers' | 'physics'> {
  /** Set when the asset root was given, rather than taken from the scene's folder. */
  assetsGiven: boolean;
  id: string | undefined;
  world: string | undefined;
  tickRate: number | undefined;
  maxPlayers: number | undefined;
  physics: PhysicsBackend | undefined;
}

export interface ResolveInput {
  /** The scene argument (or SERVER_SCENE). */
  scene: string | undefined;
  flags: RawServeOptions;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdoutIsTTY: boolean;
}

/** Validates flags and environment; throws ConfigError naming the first bad one. */
export function resolveEarlyConfig(input: ResolveInput): EarlyConfig {
  const raw = collectRaw(input.flags, input.env);
  const assetsGiven = raw.assets !== undefined;
  const assetsDir = raw.assets ? existingDir(raw.assets, input.cwd) : undefined;

  const sceneSrc: Source | undefined =
    input.scene !== undefined ? { value: input.scene, source: 'scene argument' } : input.env.SERVER_SCENE ? { value: input.env.SERVER_SCENE, source: 'SERVER_SCENE' } : undefined;
  if (!sceneSrc) throw new ConfigError('scene argument', '', 'give a scene file: keel serve <scene.json> (or set SERVER_SCENE)');
  const scene = isAbsolute(sceneSrc.value) ? sceneSrc.value : resolve(assetsDir ?? input.cwd, sceneSrc.value);
  if (!existsSync(scene) || !statSync(scene).isFile()) {
    throw new ConfigError(sceneSrc.source, sceneSrc.value, `scene file ${scene} does not exist`);
  }

  const port = raw.port ? int(raw.port, 1, 65535) : DEFAULT_PORT;
  const healthPort = raw.healthPort ? int(raw.healthPort, 0, 65535) : port + HEALTH_PORT_OFFSET <= 65535 ? port + HEALTH_PORT_OFFSET : 0;
  if (healthPort !== 0 && healthPort === port) throw new ConfigError(raw.healthPort!.source, raw.healthPort!.value, 'must differ from the game port');
  const stallMs = raw.stallMs ? int(raw.stallMs, 50, 3_600_000) : DEFAULT_STALL_MS;
  const watchdogMs = raw.watchdogMs ? int(raw.watchdogMs, 0, 86_400_000) : DEFAULT_WATCHDOG_MS;
  if (watchdogMs !== 0 && watchdogMs < stallMs) {
    const src = raw.watchdogMs ?? raw.stallMs!;
    throw new ConfigError(src.source, src.value, `the watchdog (${watchdogMs} ms) must not fire before the stall limit (${stallMs} ms); use 0 to disable it`);
  }
  const host = raw.host?.value ?? '0.0.0.0';
  const id = raw.id?.value.trim();
  if (raw.id && (!id || !/^[\w.:-]{1,64}$/.test(id))) {
    throw new ConfigError(raw.id.source, raw.id.value, 'must be 1-64 letters, digits or . _ : -');
  }
  const world = raw.world?.value.trim();
  if (raw.world && !world) throw new ConfigError(raw.world.source, raw.world.value, 'must not be empty');
  return {
    scene,
    assets: assetsDir ?? resolve(scene, '..'),
    assetsGiven,
    port,
    host,
    id,
    world,
    tickRate: raw.tickRate ? int(raw.tickRate, 1, 240) : undefined,
    maxPlayers: raw.maxPlayers ? int(raw.maxPlayers, 1, 10000) : undefined,
    physics: raw.physics ? oneOf(raw.physics, PHYSICS_BACKENDS) : undefined,
    logLevel: raw.logLevel ? oneOf(raw.logLevel, ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) : 'info',
    logFormat: raw.logFormat ? oneOf(raw.logFormat, ['json', 'pretty'] as const) : input.stdoutIsTTY ? 'pretty' : 'json',
    watch: raw.watch ? bool(raw.watch) : true,
    healthPort,
    healthHost: raw.healthHost?.value ?? DEFAULT_HEALTH_HOST,
    stallMs,
    watchdogMs,
    healthFile: raw.healthFile ? resolve(input.cwd, raw.healthFile.value) : undefined,
    shutdownGraceMs: raw.shutdownGraceMs ? int(raw.shutdownGraceMs, 0, 600_000) : DEFAULT_SHUTDOWN_GRACE_MS,
    sendRate: raw.sendRate ? int(raw.sendRate, 1, 240) : DEFAULT_SEND_RATE,
    joinSecret: joinSecret(raw.joinSecret),
    cpus: raw.cpus ? cpuList(raw.cpus.value, raw.cpus.source) : undefined,
    // AGONES_SDK_HTTP_PORT is set by Agones in every game server container, so it switches the
    // integration on by itself; SERVER_AGONES=false turns it off regardless.
    agones: raw.agones ? bool(raw.agones) : raw.agonesPort !== undefined,
    agonesPort: raw.agonesPort ? int(raw.agonesPort, 1, 65535) : DEFAULT_AGONES_PORT,
    agonesHealthMs: raw.agonesHealthMs ? int(raw.agonesHealthMs, 100, 60_000) : DEFAULT_AGONES_HEALTH_MS,
    ...adminOptions(raw, port, healthPort),
  };
}

/** The admin channel's options: off unless a port is given, and then only with a token. */
function adminOptions(raw: Partial<Record<keyof RawServeOptions, Source>>, port: number, healthPort: number): Pick<ServerConfig, 'adminPort' | 'adminHost' | 'adminToken' | 'adminOrigins'> {
  const adminPort = raw.adminPort ? int(raw.adminPort, 0, 65535) : 0;
  if (adminPort !== 0 && (adminPort === port || adminPort === healthPort)) {
    throw new ConfigError(raw.adminPort!.source, raw.adminPort!.value, 'must differ from the game and health ports');
  }
  const token = raw.adminToken;
  if (token && token.value.length < 16) throw new ConfigError(token.source, '(hidden)', 'must be at least 16 characters');
  if (adminPort !== 0 && !token) {
    throw new ConfigError(raw.adminPort!.source, raw.adminPort!.value, 'the admin channel needs a token: set SERVER_ADMIN_TOKEN (or --admin-token) to 16+ characters');
  }
  const origins = raw.adminOrigin ? raw.adminOrigin.value.split(',').map((o) => o.trim()).filter((o) => o !== '') : [...DEFAULT_ADMIN_ORIGINS];
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new ConfigError(raw.adminOrigin!.source, raw.adminOrigin!.value, `"${o}" is not an origin (scheme://host[:port], no path)`);
  }
  return { adminPort, adminHost: raw.adminHost?.value ?? DEFAULT_ADMIN_HOST, adminToken: token?.value, adminOrigins: origins };
}

/** A CPU list in taskset syntax, every CPU one this process may use. */
export function cpuList(value: string, source: string, allowed: readonly number[] = allowedCpus()): number[] {
  const list = parseCpuList(value);
  if (typeof list === 'string') throw new ConfigError(source, value, list);
  const bad = checkCpus(list, allowed);
  if (bad) throw new ConfigError(source, value, bad);
  return list;
}

function joinSecret(s: Source | undefined): string | undefined {
  if (!s) return undefined;
  if (s.value.length < 16) throw new ConfigError(s.source, '(hidden)', 'must be at least 16 characters');
  return s.value;
}

/** Fills what the flags and environment left open from the scene's settings, then defaults. */
export function finishConfig(early: EarlyConfig, scene: { name: string; settings: SceneSettings }): ServerConfig {
  const { assetsGiven: _given, ...rest } = early;
  return {
    ...rest,
    id: early.id ?? defaultInstanceId(early.port),
    world: early.world ?? scene.name,
    tickRate: early.tickRate ?? scene.settings.tickRate ?? DEFAULT_TICK_RATE,
    maxPlayers: early.maxPlayers ?? scene.settings.maxPlayers,
    physics: early.physics ?? scene.settings.physics ?? DEFAULT_PHYSICS,
    // The send rate cannot exceed the tick rate: one snapshot per tick at most.
    sendRate: Math.min(early.sendRate, early.tickRate ?? scene.settings.tickRate ?? DEFAULT_TICK_RATE),
  };
}

/** Readable and unique on one host, since two instances cannot share a port. */
export function defaultInstanceId(port: number): string {
  return `Instance-${port}`;
}
