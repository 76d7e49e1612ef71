import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { EXIT } from '../exit-codes.js';
import type { RawServeOptions } from '../config.js';
import { cpusOf, formatCpuList } from './cpus.js';
import { ENV_ONLY_SERVE_OPTIONS, FLEET_SERVE_OPTIONS, instanceEnv } from './fleet-config.js';
import { FLEET_PID_ENV } from './parent-watch.js';
import { CpuSampler, rssBytes } from './proc-stats.js';
import type { ExitInfo, InstanceSpec, InstanceTimings, LiveStats, Runner, RunningInstance } from './types.js';

export interface ProcessRunnerOptions {
  /** The CLI entry to run (`process.argv[1]`: dist/keel.mjs). */
  entry: string;
  scene: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
  serveFlags: RawServeOptions;
  /** Log format every instance uses (the fleet's own), so interleaved lines look alike. */
  logFormat: string;
  timings: InstanceTimings;
}

/** `keel serve` flags for the options given on the fleet's command line, less those passed by environment only. */
export function serveArgs(flags: RawServeOptions): string[] {
  const out: string[] = [];
  for (const spec of FLEET_SERVE_OPTIONS) {
    const v = flags[spec.key];
    if (v === undefined || ENV_ONLY_SERVE_OPTIONS.has(spec.key)) continue;
    const name = spec.flag.split(' ')[0]!;
    if (spec.negatable) {
      if (v === 'false') out.push(name);
    } else out.push(name, v);
  }
  return out;
}

/** Environment variables for the options given on the fleet's command line that must not go on the child's. */
export function serveEnv(flags: RawServeOptions): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const spec of FLEET_SERVE_OPTIONS) {
    const v = flags[spec.key];
    if (v !== undefined && ENV_ONLY_SERVE_OPTIONS.has(spec.key)) out[spec.env] = v;
  }
  return out;
}

/** Words for an exit, as the fleet logs and reports it. */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code === EXIT.watchdog) return `was ended by its watchdog (code ${code})`;
  if (code === EXIT.ok) return 'exited (code 0)';
  if (code === EXIT.config) return 'could not start (code 2)';
  return `crashed (code ${code})`;
}

/**
 * Process mode: each instance is `node keel.mjs serve <scene>` with its port, id and health port
 * in the environment, pinned (when asked) by starting it under `taskset -c LIST`, so every
 * thread it ever creates inherits the mask. Children run in their own process group: a
 * terminal's Ctrl-C reaches only the fleet, which drains them in order.
 */
export class ProcessRunner implements Runner {
  readonly mode = 'process' as const;

  constructor(private readonly opts: ProcessRunnerOptions) {}

  launch(spec: InstanceSpec, line: (text: string, stream: 'stdout' | 'stderr') => void): RunningInstance {
    const o = this.opts;
    const env = { ...instanceEnv(o.env, spec, o.logFormat), ...serveEnv(o.serveFlags), [FLEET_PID_ENV]: String(process.pid) };
    const args = [o.entry, 'serve', ...(o.scene !== undefined ? [o.scene] : []), ...serveArgs(o.serveFlags)];
    const [cmd, argv] = spec.cpus ? ['taskset', ['-c', formatCpuList(spec.cpus), process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(cmd, argv, { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const exited = new Promise<ExitInfo>((resolve) => {
      let done = false;
      const finish = (info: ExitInfo) => {
        if (!done) resolve(info);
        done = true;
      };
      child.once('error', (err) => finish({ code: null, signal: null, reason: `could not be started: ${err.message}` }));
      // 'close' waits for the pipes, so every line the child wrote is out before the exit is reported.
      child.once('close', (code, signal) => finish({ code, signal, reason: describeExit(code, signal) }));
    });
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (l) => line(l, 'stdout'));
    // Lines on stderr (a config error, a crash before the logger exists) carry no id: add it.
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (l) => line(`[${spec.id}] ${l}`, 'stderr'));
    return new ChildRun(child.pid ?? 0, spec, exited, o.timings, (sig) => {
      try {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      } catch {
        /* gone */
      }
    });
  }
}

class ChildRun implements RunningInstance {
  readonly threadId = null;
  private readonly cpu: CpuSampler;
  private readonly startedAt = performance.now();
  private lastAnswerAt = performance.now();
  private killed = false;
  private unresponsive = false;
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly pid: number,
    private readonly spec: InstanceSpec,
    exited: Promise<ExitInfo>,
    private readonly timings: InstanceTimings,
    private readonly signal: (sig: NodeJS.Signals) => void,
  ) {
    this.cpu = new CpuSampler(pid);
    this.exited = exited.then((info) => (this.unresponsive ? { ...info, reason: `was ended by the fleet watchdog (${info.reason})` } : info));
  }

  tid(): number | null {
    return null;
  }

  drain(): void {
    this.signal('SIGTERM');
  }

  kill(): void {
    this.killed = true;
    this.signal('SIGKILL');
  }

  async sample(): Promise<LiveStats> {
    const base = {
      cpuPercent: this.cpu.sample(),
      rssBytes: rssBytes(this.pid),
      heapUsedBytes: null,
      cpusAllowed: cpusOf(this.pid),
    };
    if (this.spec.healthPort === 0) return { ...base, health: 'unknown', players: null, tick: null, tickP99Ms: null };
    try {
      const res = await fetch(`http://127.0.0.1:${this.spec.healthPort}/livez`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { state?: string; stalled?: boolean; players?: number; tick?: number; tickP99Ms?: number };
      this.lastAnswerAt = performance.now();
      const health = body.stalled ? 'stalled' : body.state === 'ready' ? 'healthy' : body.state === 'draining' ? 'draining' : body.state === 'stopped' ? 'stopped' : 'starting';
      return { ...base, health, players: body.players ?? null, tick: body.tick ?? null, tickP99Ms: body.tickP99Ms || null };
    } catch {
      return { ...base, health: performance.now() - this.startedAt < 5000 ? 'starting' : 'unknown', players: null, tick: null, tickP99Ms: null };
    }
  }

  /**
   * The instance's own watchdog ends its process when the loop freezes. This only catches a
   * process that stopped answering altogether (stopped with SIGSTOP, or its health thread stuck
   * too) for twice the watchdog limit plus 5 s.
   */
  frozen(): string | null {
    const { watchdogMs } = this.timings;
    if (this.killed || watchdogMs === 0 || this.spec.healthPort === 0) return null;
    const silent = performance.now() - this.lastAnswerAt;
    if (silent <= watchdogMs * 2 + 5000) return null;
    this.unresponsive = true;
    return `has not answered on its health port for ${Math.round(silent)} ms`;
  }
}
