/** What a fleet knows about one instance slot, and what its two runners (process, thread) provide. */

export interface InstanceSpec {
  index: number;
  id: string;
  port: number;
  /** 0: no health listener. */
  healthPort: number;
  /** 0: no admin channel. */
  adminPort: number;
  /** CPUs to pin to; undefined: no pinning. */
  cpus: number[] | undefined;
}

/** How an instance's health looks from the fleet. */
export type InstanceHealth = 'starting' | 'healthy' | 'stalled' | 'draining' | 'stopped' | 'down' | 'unknown';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** In words: "exited with code 1", "watchdog (code 3)", "killed by SIGKILL", ... */
  reason: string;
}

/** Live readings of a running instance; null where not known. */
export interface LiveStats {
  health: InstanceHealth;
  players: number | null;
  tick: number | null;
  tickP99Ms: number | null;
  cpuPercent: number | null;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  /** `Cpus_allowed_list` of the process (or the instance's thread) as /proc shows it now. */
  cpusAllowed: string | null;
}

export const NO_STATS: LiveStats = {
  health: 'unknown',
  players: null,
  tick: null,
  tickP99Ms: null,
  cpuPercent: null,
  rssBytes: null,
  heapUsedBytes: null,
  cpusAllowed: null,
};

/** One run of an instance: a child process or a worker thread, from launch to exit. */
export interface RunningInstance {
  readonly pid: number;
  /** Worker thread id (thread mode). */
  readonly threadId: number | null;
  /** OS thread id of the instance's loop thread (thread mode), once known. */
  tid(): number | null;
  readonly exited: Promise<ExitInfo>;
  /** Asks for a graceful stop (SIGTERM, or the thread's stop message): drain, then exit. */
  drain(): void;
  /** Ends it at once (SIGKILL, or Worker.terminate, which also stops a thread stuck in a loop). */
  kill(): void;
  /** Takes fresh readings; called about once a second. */
  sample(): Promise<LiveStats>;
  /**
   * Checked often (a tenth of the stall limit): a reason to kill the run as frozen, or null.
   * Process mode leaves this to the instance's own watchdog, which ends its process.
   */
  frozen(): string | null;
}

export interface Runner {
  readonly mode: 'process' | 'thread';
  /** Starts one run; `line` gets every output line, already tagged with the instance id. */
  launch(spec: InstanceSpec, line: (text: string, stream: 'stdout' | 'stderr') => void): RunningInstance;
}

/** Settings every instance resolves to that the fleet itself acts on. */
export interface InstanceTimings {
  stallMs: number;
  /** 0: no watchdog. */
  watchdogMs: number;
  shutdownGraceMs: number;
}
