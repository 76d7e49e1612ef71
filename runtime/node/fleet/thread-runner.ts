import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { SharedHeightfield } from '../assets.js';
import type { RawServeOptions } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { epochNow, Heartbeat, HealthState } from '../health/heartbeat.js';
import { cpusOf } from './cpus.js';
import { instanceEnv } from './fleet-config.js';
import type { FleetWorkerData, FleetWorkerMessage, FleetWorkerCommand } from './fleet-worker.js';
import { CpuSampler } from './proc-stats.js';
import { ThreadHealthHost } from './thread-health.js';
import type { ExitInfo, InstanceHealth, InstanceSpec, InstanceTimings, LiveStats, Runner, RunningInstance } from './types.js';

export interface ThreadRunnerOptions {
  scene: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
  serveFlags: RawServeOptions;
  logFormat: string;
  timings: InstanceTimings;
  /** Heightfields read once on the main thread, shared with every instance. */
  shared: SharedHeightfield[];
  /**
   * Each instance thread's old-generation heap limit (MB): a runaway scene script that fills
   * its heap ends its own thread (ERR_WORKER_OUT_OF_MEMORY), which the fleet restarts, instead
   * of the process and every instance in it.
   */
  heapMb: number;
}

/** Where the worker's code is: beside the bundle, beside this module, or in dist/ when run from source (tests). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (/\.mjs$/.test(here)) return new URL('./fleet-worker.mjs', here);
  if (here.endsWith('.ts')) return new URL('../../../dist/runtime/node/fleet/fleet-worker.js', here);
  return new URL('./fleet-worker.js', here);
}

/**
 * Thread mode: each instance is a ServerInstance on a worker thread of this process. The
 * fleet's watchdog reads each instance's heartbeat and, past --watchdog-ms without a tick, ends
 * only that thread with Worker.terminate (which stops even a thread spinning in an endless loop).
 * This thread serves each instance's health endpoints on its health port from the same
 * heartbeat (ThreadHealthHost), so an instance costs one thread and one V8 isolate.
 *
 * CPU pinning here is per OS thread: the worker reads its own thread id from /proc/thread-self
 * and runs `taskset -p -c LIST TID` before the instance starts. What stays unpinned: the
 * fleet's main thread (and with it every instance's health endpoints), V8's platform threads
 * and libuv's thread pool (file reads, DNS), which all instances of the process share. CPU %
 * per instance is that of its loop thread (/proc/self/task/TID/stat); resident memory exists
 * only for the process, so an instance reports its V8 heap instead.
 */
export class ThreadRunner implements Runner {
  readonly mode = 'thread' as const;
  private readonly url: URL;

  constructor(private readonly opts: ThreadRunnerOptions) {
    this.url = workerUrl();
    if (!existsSync(this.url)) throw new Error(`fleet worker code missing at ${this.url.pathname}; run npm run build`);
  }

  launch(spec: InstanceSpec, line: (text: string, stream: 'stdout' | 'stderr') => void): RunningInstance {
    const o = this.opts;
    const env = instanceEnv(o.env, spec, o.logFormat);
    const heartbeat = new Heartbeat();
    const data: FleetWorkerData = { scene: o.scene, cwd: o.cwd, flags: o.serveFlags, shared: o.shared, heartbeat: heartbeat.buffer, cpus: spec.cpus, relayHealth: true };
    const worker = new Worker(this.url, { workerData: data, env, stdout: true, stderr: true, name: spec.id, resourceLimits: { maxOldGenerationSizeMb: o.heapMb } });
    createInterface({ input: worker.stdout, crlfDelay: Infinity }).on('line', (l) => line(l, 'stdout'));
    createInterface({ input: worker.stderr, crlfDelay: Infinity }).on('line', (l) => line(`[${spec.id}] ${l}`, 'stderr'));
    return new ThreadRun(worker, spec, heartbeat, o.timings, line, o.heapMb);
  }
}

class ThreadRun implements RunningInstance {
  readonly pid = process.pid;
  readonly threadId: number;
  readonly exited: Promise<ExitInfo>;
  private osTid: number | null = null;
  private cpu: CpuSampler | null = null;
  private heapUsed: number | null = null;
  private ending: 'watchdog' | 'kill' | null = null;
  private outOfMemory = false;

  constructor(
    private readonly worker: Worker,
    private readonly spec: InstanceSpec,
    private readonly heartbeat: Heartbeat,
    private readonly timings: InstanceTimings,
    line: (text: string, stream: 'stdout' | 'stderr') => void,
    heapMb: number,
  ) {
    this.threadId = worker.threadId;
    const health = new ThreadHealthHost(worker, heartbeat, line);
    worker.on('message', (msg: FleetWorkerMessage) => {
      if (health.handle(msg)) return;
      if (msg.type === 'tid' && msg.tid !== null) {
        this.osTid = msg.tid;
        this.cpu = new CpuSampler('self', msg.tid);
      } else if (msg.type === 'stats') this.heapUsed = msg.heapUsed;
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.outOfMemory = true;
        line(`[${spec.id}] the instance's thread ran out of its ${heapMb} MB heap (--instance-heap-mb) and was ended`, 'stderr');
      } else line(`[${spec.id}] uncaught error on the instance's thread: ${err.stack ?? err.message}`, 'stderr');
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        const reason =
          this.ending === 'watchdog'
            ? 'was ended by the fleet watchdog'
            : this.ending === 'kill'
              ? 'was terminated'
              : this.outOfMemory
                ? `ran out of its ${heapMb} MB heap`
              : code === EXIT.ok
                ? 'exited (code 0)'
                : code === EXIT.config
                  ? 'could not start (code 2)'
                  : `crashed (code ${code})`;
        // Let the last lines of its stdout through first, and free its health port for the next run.
        const delay = new Promise((r) => setTimeout(r, 50));
        void Promise.all([health.close(), delay]).then(() => resolve({ code, signal: null, reason }));
      });
    });
  }

  tid(): number | null {
    return this.osTid;
  }

  drain(): void {
    this.worker.postMessage({ type: 'stop', reason: 'fleet stopping' } satisfies FleetWorkerCommand);
  }

  kill(): void {
    this.ending ??= 'kill';
    void this.worker.terminate();
  }

  async sample(): Promise<LiveStats> {
    const hb = this.heartbeat.read();
    const stall = hb.lastBeatAt === 0 ? 0 : epochNow() - hb.lastBeatAt;
    let health: InstanceHealth;
    if (hb.state === HealthState.ready) health = stall > this.timings.stallMs ? 'stalled' : 'healthy';
    else if (hb.state === HealthState.draining) health = 'draining';
    else if (hb.state === HealthState.stopped) health = 'stopped';
    else health = 'starting';
    const running = hb.state !== HealthState.starting;
    return {
      health,
      players: running ? hb.players : null,
      tick: running ? hb.tick : null,
      tickP99Ms: hb.tickP99Ms || null,
      cpuPercent: this.cpu?.sample() ?? null,
      rssBytes: null, // one process: per-thread resident memory does not exist
      heapUsedBytes: this.heapUsed,
      cpusAllowed: this.osTid !== null ? cpusOf(process.pid, this.osTid) : null,
    };
  }

  frozen(): string | null {
    const { watchdogMs } = this.timings;
    if (watchdogMs === 0 || this.ending) return null;
    const hb = this.heartbeat.read();
    if (hb.state !== HealthState.ready && hb.state !== HealthState.draining) return null;
    if (hb.lastBeatAt === 0) return null;
    const stall = epochNow() - hb.lastBeatAt;
    if (stall <= watchdogMs) return null;
    this.ending = 'watchdog';
    return `game loop frozen for ${Math.round(stall)} ms at tick ${hb.tick}`;
  }
}
