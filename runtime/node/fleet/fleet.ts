import { performance } from 'node:perf_hooks';
import type { PinoLogger } from '../logger.js';
import { Backoff } from './backoff.js';
import { CpuSampler, pssBytes, rssBytes } from './proc-stats.js';
import type { FleetConfig } from './fleet-config.js';
import { instanceId } from './fleet-config.js';
import { NO_STATS, type ExitInfo, type InstanceSpec, type InstanceTimings, type LiveStats, type Runner, type RunningInstance } from './types.js';

export type MemberState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface InstanceReport {
  id: string;
  port: number;
  healthPort: number | null;
  /** The instance's admin channel port (the editor's fleet picker attaches there), or null. */
  adminPort: number | null;
  mode: 'process' | 'thread';
  pid: number | null;
  threadId: number | null;
  tid: number | null;
  state: MemberState;
  health: LiveStats['health'];
  players: number | null;
  tick: number | null;
  tickP99Ms: number | null;
  cpuPercent: number | null;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  cpus: string | null;
  cpusAllowed: string | null;
  restarts: number;
  uptimeS: number | null;
  lastExit: (ExitInfo & { at: string }) | null;
  nextStartInMs: number | null;
}

/**
 * The memory of the whole fleet: the fleet process, plus each instance's process in process
 * mode (a thread-mode fleet is one process, its instances included). Read once a second.
 */
export interface FleetMemory {
  /** Processes summed over. */
  processes: number;
  /** Resident memory (VmRSS) summed; pages the processes share are counted once per process. */
  rssBytes: number | null;
  /** Proportional set size (/proc/PID/smaps_rollup) summed: shared pages counted once; null where not available. */
  pssBytes: number | null;
  /** Heightfield bytes the scene uses. */
  assetBytes: number;
  /** Copies of them in memory: 1 in thread mode (every instance uses the fleet's), one per running instance in process mode. */
  assetCopies: number;
}

export interface FleetReport {
  mode: 'process' | 'thread';
  pid: number;
  count: number;
  healthy: number;
  restarts: number;
  cpuPercent: number | null;
  rssBytes: number | null;
  memory: FleetMemory;
  stopping: boolean;
  instances: InstanceReport[];
}

/** One slot of the fleet: its fixed spec, the current run and its history. */
class Member {
  run: RunningInstance | null = null;
  state: MemberState = 'starting';
  restarts = 0;
  startedAt = 0;
  stats: LiveStats = NO_STATS;
  lastExit: (ExitInfo & { at: string }) | null = null;
  restartTimer: NodeJS.Timeout | null = null;
  restartAt = 0;
  readonly backoff: Backoff;

  constructor(
    readonly spec: InstanceSpec,
    cfg: FleetConfig,
  ) {
    this.backoff = new Backoff({ initialMs: cfg.restartInitialMs, maxMs: cfg.restartMaxMs, stableMs: cfg.restartStableMs });
  }
}

export interface FleetDeps {
  logger: PinoLogger;
  runner: Runner;
  timings: InstanceTimings;
  /** Where instance output lines go (stdout, or the status view's log pane). */
  output: (text: string, stream: 'stdout' | 'stderr') => void;
  /** Bytes of the heightfields the scene uses (for the memory report); default 0. */
  assetBytes?: number;
}

/**
 * N instances of one scene on consecutive ports, supervised: an instance that exits (or that a
 * watchdog ends) is started again after a backoff while the others keep running; `stop` drains
 * them all. A value built from its config, like ServerInstance: nothing lives at module level.
 */
export class Fleet {
  private readonly members: Member[];
  private readonly log: PinoLogger;
  private readonly self = new CpuSampler('self');
  private sampleTimer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private sampling = false;
  private memory: FleetMemory;

  constructor(
    readonly config: FleetConfig,
    private readonly deps: FleetDeps,
  ) {
    this.log = deps.logger;
    this.members = Array.from({ length: config.count }, (_, i) => {
      const spec: InstanceSpec = {
        index: i,
        id: instanceId(config.idPrefix, i, config.count),
        port: config.basePort + i,
        healthPort: config.healthBasePort === 0 ? 0 : config.healthBasePort + i,
        adminPort: config.adminBasePort === 0 ? 0 : config.adminBasePort + i,
        cpus: config.cpus?.[i],
      };
      return new Member(spec, config);
    });
    this.memory = { processes: 1, rssBytes: null, pssBytes: null, assetBytes: deps.assetBytes ?? 0, assetCopies: 0 };
  }

  get ids(): string[] {
    return this.members.map((m) => m.spec.id);
  }

  /** Launches every instance and the periodic sampling; returns at once (instances start in the background). */
  start(): void {
    for (const m of this.members) this.launch(m);
    this.sampleTimer = setInterval(() => void this.sampleAll(), 1000);
    const { stallMs } = this.deps.timings;
    this.watchTimer = setInterval(() => this.watch(), Math.min(250, Math.max(20, Math.round(stallMs / 10))));
    void this.sampleAll();
  }

  private launch(m: Member): void {
    m.restartTimer = null;
    m.state = 'starting';
    m.stats = { ...NO_STATS, health: 'starting' };
    m.startedAt = performance.now();
    let run: RunningInstance;
    try {
      run = this.deps.runner.launch(m.spec, this.deps.output);
    } catch (err) {
      this.log.error({ instance: m.spec.id, err }, `Cannot start ${m.spec.id}: ${(err as Error).message}`);
      this.onExit(m, { code: null, signal: null, reason: `failed to start: ${(err as Error).message}` });
      return;
    }
    m.run = run;
    this.log.info(
      { instance: m.spec.id, port: m.spec.port, healthPort: m.spec.healthPort || null, adminPort: m.spec.adminPort || null, instancePid: run.pid, threadId: run.threadId, cpus: m.spec.cpus ?? null, restarts: m.restarts },
      `${m.restarts === 0 ? 'Starting' : 'Restarting'} ${m.spec.id} on port ${m.spec.port} (${run.threadId !== null ? `thread ${run.threadId}` : `pid ${run.pid}`}${m.restarts ? `, restart ${m.restarts}` : ''})`,
    );
    void run.exited.then((exit) => {
      if (m.run === run) this.onExit(m, exit);
    });
  }

  private onExit(m: Member, exit: ExitInfo): void {
    const ranMs = performance.now() - m.startedAt;
    m.run = null;
    m.stats = { ...NO_STATS, health: 'down' };
    m.lastExit = { ...exit, at: new Date().toISOString() };
    if (this.stopping) {
      m.state = 'stopped';
      this.log.info({ instance: m.spec.id, code: exit.code, signal: exit.signal }, `${m.spec.id} stopped (${exit.reason})`);
      return;
    }
    const delay = m.backoff.delay(ranMs);
    m.restarts++;
    m.state = 'restarting';
    m.restartAt = performance.now() + delay;
    this.log.warn(
      { instance: m.spec.id, code: exit.code, signal: exit.signal, reason: exit.reason, ranS: Math.round(ranMs / 100) / 10, restarts: m.restarts, delayMs: delay },
      `${m.spec.id} ${exit.reason} after ${(ranMs / 1000).toFixed(1)} s; restarting in ${delay} ms (restart ${m.restarts})`,
    );
    m.restartTimer = setTimeout(() => this.launch(m), delay);
  }

  /** The fast check: thread-mode watchdog (and process mode's unresponsive check). */
  private watch(): void {
    if (this.stopping) return;
    for (const m of this.members) {
      const run = m.run;
      if (!run) continue;
      const why = run.frozen();
      if (why) {
        this.log.fatal({ instance: m.spec.id, instancePid: run.pid, threadId: run.threadId }, `Watchdog: ${m.spec.id} ${why}; ending it so it is replaced`);
        m.stats = { ...m.stats, health: 'stalled' };
        run.kill();
      }
    }
  }

  private async sampleAll(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      this.self.sample();
      await Promise.all(
        this.members.map(async (m) => {
          const run = m.run;
          if (!run) return;
          const stats = await run.sample().catch(() => NO_STATS);
          if (m.run !== run) return;
          m.stats = stats;
          if (m.state === 'starting' && stats.health === 'healthy') {
            m.state = 'running';
            this.log.info({ instance: m.spec.id, startS: Math.round((performance.now() - m.startedAt) / 100) / 10 }, `${m.spec.id} is healthy`);
          }
        }),
      );
      this.sampleMemory();
    } finally {
      this.sampling = false;
    }
  }

  /** Sums RSS and PSS over the fleet's process and, in process mode, every running instance's. */
  private sampleMemory(): void {
    const pids = new Set<number>([process.pid]);
    for (const m of this.members) if (m.run && m.run.pid > 0) pids.add(m.run.pid);
    let processes = 0;
    let rss = 0;
    let pss: number | null = 0;
    for (const pid of pids) {
      const r = rssBytes(pid === process.pid ? 'self' : pid);
      if (r === null) continue; // ended since
      processes++;
      rss += r;
      const p = pssBytes(pid === process.pid ? 'self' : pid);
      pss = p === null || pss === null ? null : pss + p;
    }
    const running = this.members.filter((m) => m.run).length;
    const { assetBytes } = this.memory;
    this.memory = {
      processes,
      rssBytes: processes ? rss : null,
      pssBytes: processes ? pss : null,
      assetBytes,
      assetCopies: assetBytes === 0 ? 0 : this.deps.runner.mode === 'thread' ? 1 : running,
    };
  }

  status(): FleetReport {
    const now = performance.now();
    const instances = this.members.map((m): InstanceReport => {
      const run = m.run;
      return {
        id: m.spec.id,
        port: m.spec.port,
        healthPort: m.spec.healthPort || null,
        adminPort: m.spec.adminPort || null,
        mode: this.deps.runner.mode,
        pid: run?.pid ?? null,
        threadId: run?.threadId ?? null,
        tid: run?.tid() ?? null,
        state: m.state,
        health: m.stats.health,
        players: m.stats.players,
        tick: m.stats.tick,
        tickP99Ms: m.stats.tickP99Ms,
        cpuPercent: m.stats.cpuPercent === null ? null : Math.round(m.stats.cpuPercent * 10) / 10,
        rssBytes: m.stats.rssBytes,
        heapUsedBytes: m.stats.heapUsedBytes,
        cpus: m.spec.cpus ? m.spec.cpus.join(',') : null,
        cpusAllowed: m.stats.cpusAllowed,
        restarts: m.restarts,
        uptimeS: run ? Math.round((now - m.startedAt) / 100) / 10 : null,
        lastExit: m.lastExit,
        nextStartInMs: m.state === 'restarting' ? Math.max(0, Math.round(m.restartAt - now)) : null,
      };
    });
    const cpu = this.self.percent;
    return {
      mode: this.deps.runner.mode,
      pid: process.pid,
      count: this.members.length,
      healthy: instances.filter((i) => i.health === 'healthy').length,
      restarts: instances.reduce((n, i) => n + i.restarts, 0),
      cpuPercent: cpu === null ? null : Math.round(cpu * 10) / 10,
      rssBytes: rssBytes('self'),
      memory: this.memory,
      stopping: this.stopping,
      instances,
    };
  }

  /**
   * Drains every instance (SIGTERM to each process, or each thread's graceful stop) and waits
   * for all to end. Resolves true when all ended within `graceMs`; otherwise ends the rest at
   * once and resolves false.
   */
  async stop(graceMs: number): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    for (const m of this.members) {
      if (m.restartTimer) {
        clearTimeout(m.restartTimer);
        m.restartTimer = null;
        m.state = 'stopped';
      }
      if (m.run) {
        m.state = 'stopping';
        m.stats = { ...m.stats, health: 'draining' };
        m.run.drain();
      }
    }
    const runs = this.members.flatMap((m) => (m.run ? [m.run.exited] : []));
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      Promise.all(runs).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      const late = this.members.filter((m) => m.run).map((m) => m.spec.id);
      this.log.error({ instances: late, graceMs }, `Still running after ${graceMs} ms: ${late.join(', ')}; ending them`);
      this.killAll();
      await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, 2000))]);
    }
    this.close();
    return inTime;
  }

  /** Ends every run at once (a second signal, or the fleet itself going down). Synchronous. */
  killAll(): void {
    this.stopping = true;
    for (const m of this.members) {
      if (m.restartTimer) clearTimeout(m.restartTimer);
      m.restartTimer = null;
      m.run?.kill();
    }
  }

  private close(): void {
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.sampleTimer = this.watchTimer = null;
  }
}
