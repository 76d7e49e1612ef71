import { performance } from 'node:perf_hooks';
import {
  App,
  FixedStepLoop,
  loadPhysics,
  normaliseAssetPath,
  RollingStats,
  RunMode,
  SCENE_INFO,
  SceneError,
  serverPlugins,
  withResource,
  type Simulation,
  type Clock,
  type PhysicsFactory,
  type Transport,
} from '../core/index.js';
import type { SceneEdit } from '../core/edit/scene-edit.js';
import { checkSceneEdit } from '../core/edit/check-scene-edit.js';
import { AdminServer } from './admin/admin-server.js';
import { AssetRoot } from './assets.js';
import type { ServerConfig } from './config.js';
import type { PinoLogger } from './logger.js';
import { loadSceneFile, readScene, type LoadedScene } from './scene-loader.js';
import { SceneParser } from './scene-parser.js';
import { createSleepClock } from './sleep-clock.js';
import { SceneWatcher } from './scene-watcher.js';
import { WsTransport } from './ws-transport.js';
import { disableWasmTierUp } from './wasm-tiering.js';
import { EXIT } from './exit-codes.js';
import { HealthMonitor, type HealthLink, type HealthMonitorOptions } from './health/health-monitor.js';
import { HealthState, type Heartbeat } from './health/heartbeat.js';
import { InstanceMetrics } from './health/metrics.js';
import { TickFailures } from './health/tick-failures.js';
import { NodeGameSession, LIMITS } from './node-game-session.js';
import { AgonesSdk, LABEL_SCENE_HASH, LABEL_WORLD } from './agones/agones-sdk.js';

export type InstanceState = 'starting' | 'running' | 'stopping' | 'stopped';

export { RELOAD_MAX_WAIT_MS, RELOAD_QUIET_MS } from './scene-watcher.js';

/** A reloaded scene to apply between two ticks: to the running world, or swapped in whole. */
type Reloaded =
  | { kind: 'delta'; scene: LoadedScene; since: number }
  | { kind: 'full'; scene: LoadedScene; app: App; since: number; why: string };

export interface ServerInstanceDeps {
  logger: PinoLogger;
  /** The scene, if the caller loaded it already (the CLI does, to resolve settings). */
  scene?: LoadedScene;
  /** The asset root the scene was loaded with, to share its cache. */
  assets?: AssetRoot;
  clock?: Clock;
  transport?: Transport;
  /**
   * A heartbeat someone else reads too (a fleet running this instance on a worker thread): the
   * loop publishes to it even with the health listener off.
   */
  heartbeat?: Heartbeat;
  /**
   * Whether the health thread's watchdog may end the process (default true). A fleet running
   * several instances in one process turns this off and watches the heartbeat itself.
   */
  processWatchdog?: boolean;
  /**
   * Who serves the health endpoints: by default a health worker thread of this instance
   * (HealthMonitor). A thread-mode fleet serves them from its main thread instead.
   */
  health?: (options: HealthMonitorOptions) => HealthLink;
}

export interface InstanceStatus {
  id: string;
  world: string;
  state: InstanceState;
  port: number;
  healthPort: number;
  tick: number;
  tickRate: number;
  entities: number;
  connections: number;
  overruns: number;
  reloads: number;
  uptimeS: number;
}

/**
 * One dedicated server: a value built from its config, owning its simulation, loop,
 * transport, watcher and logger. Nothing lives at module level, so several instances run
 * side by side in one process (on different ports) as well as one per process.
 */
export class ServerInstance {
  readonly config: ServerConfig;
  readonly log: PinoLogger;
  private readonly assets: AssetRoot;
  private readonly clock: Clock;
  private readonly transport: Transport;
  private readonly loop: FixedStepLoop;
  private scene: LoadedScene | null;
  /** The running composition (serverPlugins over this scene's simulation), and its simulation. */
  private app: App | null = null;
  private sim: Simulation | null = null;
  /** The config's physics engine, ready (Rapier's WASM initialised) before the first simulation is built. */
  private physics: PhysicsFactory | null = null;
  /** The problems of the last rejected version, so an unchanged bad file is not logged again. */
  private lastRejection = '';
  /** The admin channel, when config.adminPort is set. */
  private admin: AdminServer | null = null;
  private adminPort = 0;
  /** While the loop is paused from the admin channel, this keeps the heartbeat alive (no watchdog exit). */
  private pausedBeat: NodeJS.Timeout | null = null;
  private watcher: SceneWatcher<LoadedScene> | null = null;
  /** Reloads whose load holds a thread for a quarter of a tick or more read the scene on this parser's worker thread (see `loadNext`). */
  private readonly parser = new SceneParser();
  /**
   * How long the last few scene loads held their thread, ms: their median estimates the next
   * one's (see `loadNext`), so that one load slowed by a busy machine does not send the next to
   * the worker.
   */
  private readonly workTimes = new RollingStats(5);
  /** How long applying the last few reloads took, ms (what the next one may take; see `reload`). */
  private readonly applyTimes = new RollingStats(8);
  /** A reload too long to apply before the next tick was due: applied at that tick's start. */
  private pending: Reloaded | null = null;
  private startedAt = 0;
  private boundPort = 0;
  private readonly tickErrors: TickFailures;
  private reloads = 0;
  private lifecycle: InstanceState = 'starting';
  private loopDone: Promise<void> | null = null;
  private health: HealthLink | null = null;
  private healthPort = 0;
  private readonly sharedHeartbeat: Heartbeat | undefined;
  private readonly processWatchdog: boolean;
  private readonly healthLink: (options: HealthMonitorOptions) => HealthLink;
  readonly metrics: InstanceMetrics;
  private readonly session: NodeGameSession;
  /** Set when config.agones: the Agones SDK sidecar hears of lifecycle, health and players. */
  private readonly agones: AgonesSdk | null;

  constructor(config: ServerConfig, deps: ServerInstanceDeps) {
    this.config = config;
    this.log = deps.logger;
    this.scene = deps.scene ?? null;
    this.assets = deps.assets ?? new AssetRoot(config.assets);
    this.clock = deps.clock ?? createSleepClock();
    this.sharedHeartbeat = deps.heartbeat;
    this.processWatchdog = deps.processWatchdog ?? true;
    this.healthLink = deps.health ?? ((options) => new HealthMonitor(options));
    // /readyz turns 503 while ticks keep failing, and 200 again after two seconds of good ones.
    this.tickErrors = new TickFailures({
      clearAfterTicks: config.tickRate * 2,
      onChange: (problem) => {
        this.health?.setProblem?.(problem);
        if (!problem) this.log.info({ errors: this.tickErrors.total }, 'Ticks succeed again; ready');
      },
    });
    this.transport =
      deps.transport ??
      new WsTransport({
        port: config.port,
        host: config.host,
        maxPayload: LIMITS.maxFrameBytes,
        upgradeTimeoutMs: LIMITS.upgradeMs,
        onError: (err, conn) => this.log.error({ err, address: conn.address }, `Internal error serving ${conn.address}: ${(err as Error)?.message ?? String(err)}; closed it with 1011`),
      });
    this.loop = new FixedStepLoop({
      tickRate: config.tickRate,
      clock: this.clock,
      tick: (dt, n) => this.tick(dt, n),
      onTick: (latenessMs) => this.metrics.tickLateness.observe(latenessMs / 1000),
      onResync: (dropped, behindMs) =>
        this.log.warn({ dropped, behindMs: Math.round(behindMs) }, `loop fell ${Math.round(behindMs)} ms behind; skipped ${dropped} ticks and resynchronised`),
    });
    this.metrics = new InstanceMetrics(
      { id: config.id, world: config.world },
      {
        loop: () => this.loop.stats,
        scriptErrors: () => this.sim?.scripts.failed ?? 0,
        tickErrors: () => this.tickErrors.total,
        players: () => this.session.playerCount,
        entities: () => this.sim?.world.size ?? 0,
      },
    );
    this.session = new NodeGameSession({
      log: this.log,
      maxPlayers: config.maxPlayers,
      tickRate: config.tickRate,
      sendRate: config.sendRate,
      joinSecret: config.joinSecret,
      onBytesIn: (n) => this.metrics.bytesIn.inc(n),
      onBytesOut: (n) => this.metrics.bytesOut.inc(n),
      onPlayerJoin: (id) => this.agones?.playerConnected(id),
      onPlayerLeave: (id) => this.agones?.playerDisconnected(id),
    });
    this.agones = config.agones ? new AgonesSdk({ port: config.agonesPort, healthIntervalMs: config.agonesHealthMs, log: this.log }) : null;
  }

  get state(): InstanceState {
    return this.lifecycle;
  }

  get port(): number {
    return this.boundPort;
  }

  get simulation(): Simulation | null {
    return this.sim;
  }

  get loopStats() {
    return this.loop.stats;
  }

  /**
   * Loads the scene (unless given), binds the game port and the health listener, and only then
   * starts ticking: a start that fails (a port taken) has run no tick and logged nothing but its
   * error. The health thread boots while the scene loads and the game port binds, so the wait
   * costs little. If anything fails, everything started is stopped again and the promise rejects.
   */
  async start(): Promise<void> {
    const t0 = performance.now();
    this.startedAt = t0;
    // The health thread boots while this one loads the scene and binds the game port.
    const health = this.config.healthPort !== 0 ? this.startHealth() : Promise.resolve();
    health.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    let scene: LoadedScene;
    let loadMs: number;
    try {
      const t1 = performance.now();
      scene = this.scene ?? (await loadSceneFile(this.config.scene, this.assets, RunMode.Server));
      this.workTimes.push(this.config.watch ? await this.warmWorkMs(scene.workMs) : scene.workMs);
      if (this.config.physics === 'rapier') disableWasmTierUp();
      this.physics = await loadPhysics(this.config.physics);
      this.use(scene, this.buildApp(scene));
      // One line (a log line keeps no newlines): the plugins, then each phase's systems in run order.
      this.log.debug({ plugins: this.app!.plugins }, this.app!.describe().split('\n').map((l) => l.trim()).join('; '));
      loadMs = performance.now() - t1;
      this.health?.setDetail('binding the game port');
      const { port } = await this.transport.listen({
        connect: (c) => this.session.connect(c),
        message: (c, data, binary) => this.session.message(c, data, binary),
        disconnect: (c, code, reason) => this.session.disconnect(c, code, reason),
      });
      this.boundPort = port;
      if (this.config.adminPort !== 0) await this.startAdmin();
      await health;
      this.lifecycle = 'running';
      this.loopDone = this.loop.start();
      this.setHealthState(HealthState.ready);
    } catch (err) {
      await this.abortStart();
      throw err;
    }
    const sim = this.sim!;
    this.log.info(
      { scene: scene.doc.name, physics: this.config.physics, entities: sim.world.size, bodies: sim.physics.stats().bodies, scripts: sim.scripts.count, hash: scene.hash.slice(0, 12), ms: Math.round(loadMs) },
      `Scene ${scene.doc.name} loaded (${sim.world.size} entities, ${this.config.physics} physics) in ${Math.round(loadMs)} ms`,
    );
    if (this.agones) {
      this.log.info({ sidecar: this.agones.endpoint, healthMs: this.config.agonesHealthMs }, `Agones: reporting to the SDK sidecar at ${this.agones.endpoint}; Health every ${this.config.agonesHealthMs} ms`);
      // Capacity and labels first, so an allocation right after Ready already sees them.
      this.agones.setPlayerCapacity(this.config.maxPlayers);
      this.agones.setLabel(LABEL_WORLD, this.config.world);
      this.agones.setLabel(LABEL_SCENE_HASH, scene.hash.slice(0, 12));
      this.agones.ready();
    }
    if (this.config.watch) {
      this.watcher = new SceneWatcher({ log: this.log, load: () => this.loadNext(), reload: (since, early) => this.reload(since, early) });
      await this.watcher.start(this.watchedFiles(scene));
      this.readyParser();
    }
    this.log.info(
      { port: this.boundPort, host: this.config.host, healthPort: this.healthPort || null, adminPort: this.adminPort || null, tickRate: this.config.tickRate, maxPlayers: this.config.maxPlayers, physics: this.config.physics, startMs: Math.round(performance.now() - t0) },
      `Listening on ${this.config.host}:${this.boundPort} at ${this.config.tickRate} Hz${this.healthPort ? `; health on :${this.healthPort}` : ''}${this.adminPort ? `; admin on ${this.config.adminHost}:${this.adminPort}` : ''}`,
    );
  }

  /** Undoes whatever a failed start got to: the loop, the game port, the scene, the health thread. */
  private async abortStart(): Promise<void> {
    this.lifecycle = 'stopping';
    await this.loop.stop();
    await this.loopDone;
    await this.transport.close(1001, 'server failed to start');
    await this.admin?.close();
    await this.parser.close();
    this.app?.dispose();
    await this.health?.stop();
    this.agones?.close();
    this.lifecycle = 'stopped';
  }

  /** Binds the admin channel (see runtime/node/admin/admin-server.ts). */
  private async startAdmin(): Promise<void> {
    const c = this.config;
    const loop = this.loop;
    this.admin = new AdminServer({
      port: c.adminPort,
      host: c.adminHost,
      token: c.adminToken!,
      origins: c.adminOrigins,
      log: this.log,
      target: {
        info: () => ({ instance: c.id, world: c.world, scene: this.scene?.doc.name ?? '', sceneHash: this.scene?.hash ?? '', tickRate: c.tickRate }),
        simulation: () => this.sim,
        tick: () => loop.nextTick,
        paused: () => loop.isPaused,
        pendingSteps: () => loop.pendingSteps,
        pause: () => this.pause(),
        resume: () => this.resume(),
        step: (n) => loop.step(n),
        pushEdit: (edit) => this.pushEdit(edit),
      },
    });
    this.adminPort = (await this.admin.listen()).port;
  }

  /** The admin port actually bound (0 when the channel is off). */
  get boundAdminPort(): number {
    return this.adminPort;
  }

  /**
   * Stops ticking after the tick in progress (the admin channel's pause); the tick number holds.
   * Reloads are still applied, at once, so a paused world shows each edit: one that was waiting
   * for the next tick's start is applied now, since that tick is not coming.
   */
  pause(): void {
    if (this.loop.isPaused) return;
    this.loop.pause();
    this.applyPending(this.loop.nextTick);
    // A paused loop is a developer looking, not a hung server: keep the heartbeat going so the
    // stall check and the watchdog leave it be.
    this.pausedBeat = setInterval(() => {
      (this.health?.heartbeat ?? this.sharedHeartbeat)?.beat(this.loop.nextTick, this.session.playerCount, this.sim?.world.size ?? 0);
    }, 250);
  }

  /** Ticks again on the schedule, from now (the admin channel's resume). */
  resume(): void {
    if (this.pausedBeat) clearInterval(this.pausedBeat);
    this.pausedBeat = null;
    this.loop.resume();
  }

  /** A scene edit applied to the live world only (the admin channel's push edit); the file is untouched. */
  private pushEdit(edit: SceneEdit): void {
    const why = checkSceneEdit(edit);
    if (why) throw new Error(why);
    if (!this.sim) throw new Error('no running world');
    this.sim.applyEdit(edit);
  }

  private async startHealth(): Promise<void> {
    const c = this.config;
    this.health = this.healthLink({
      id: c.id,
      world: c.world,
      port: c.healthPort,
      host: c.healthHost,
      stallMs: c.stallMs,
      watchdogMs: this.processWatchdog ? c.watchdogMs : 0,
      healthFile: c.healthFile,
      logLevel: c.logLevel,
      logFormat: c.logFormat,
      exitCode: EXIT.watchdog,
      metrics: () => this.metrics.text(),
      ...(this.sharedHeartbeat ? { heartbeat: this.sharedHeartbeat } : {}),
    });
    const started = this.health.start();
    this.health.setDetail('loading scene');
    this.healthPort = (await started).port;
  }

  /** Stops ticking after the current tick, closes connections and the watcher. */
  async stop(reason = 'server shutting down'): Promise<void> {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'stopping') return;
    this.lifecycle = 'stopping';
    // Draining first: /readyz turns 503 and new connections are refused from here on.
    this.setHealthState(HealthState.draining);
    this.session.drain();
    // Agones stops allocating this GameServer at once. Runs alongside the drain and is awaited
    // at its end, within half the shutdown grace (5 s at most) so it never costs the exit code.
    const agonesShutdown = this.agones?.shutdown(Math.min(5000, this.config.shutdownGraceMs / 2));
    if (this.pausedBeat) clearInterval(this.pausedBeat);
    await this.watcher?.close();
    await this.parser.close();
    await this.admin?.close();
    await this.loop.stop(); // the tick in progress finishes
    await this.loopDone;
    await this.transport.close(1001, 'server shutting down');
    this.app?.dispose();
    if (this.pending?.kind === 'full') this.pending.app.dispose();
    await this.health?.stop();
    await agonesShutdown;
    this.agones?.close();
    this.setHealthState(HealthState.stopped);
    this.lifecycle = 'stopped';
    const s = this.loop.stats;
    this.log.info({ ticks: s.ticks, overruns: s.overruns, resyncs: s.resyncs }, `Stopped after ${s.ticks} ticks (${reason})`);
  }

  status(): InstanceStatus {
    return {
      id: this.config.id,
      world: this.config.world,
      state: this.lifecycle,
      port: this.boundPort,
      healthPort: this.healthPort,
      tick: this.loop.nextTick,
      tickRate: this.config.tickRate,
      entities: this.sim?.world.size ?? 0,
      connections: this.transport.connections,
      overruns: this.loop.stats.overruns,
      reloads: this.reloads,
      uptimeS: this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0,
    };
  }

  /**
   * Reads, parses and validates the scene file as it is now, without touching the running world.
   * This holds the thread it runs on. Small work runs here (it is quickest), right after a tick,
   * when the most time is left before the next one: the time a load holds its thread varies
   * several-fold from one to the next on a busy machine, and a lone save's load has the quiet
   * time to finish in anyway. Work over a quarter of a tick period runs on the parser's worker
   * thread, which sends the new version as a delta against the running one, so the loop's thread
   * takes in only the entities that changed.
   */
  private async loadNext(): Promise<LoadedScene> {
    const offThread = this.loadsOffThread;
    if (!offThread) await this.loop.afterNextTick();
    const base = this.scene ? { hash: this.scene.hash, doc: this.scene.doc } : undefined;
    const scene = await loadSceneFile(this.config.scene, this.assets, RunMode.Server, process.cwd(), offThread ? this.parser : undefined, base);
    this.workTimes.push(scene.workMs);
    this.readyParser();
    return scene;
  }

  /** Whether the next load goes to the parser's worker: the last few held their thread a quarter of a tick or more (median). */
  private get loadsOffThread(): boolean {
    return this.workTimes.percentile(50) >= this.offThreadMs;
  }

  /** A load that holds its thread this long or more goes to the worker: a quarter of a tick period. */
  private get offThreadMs(): number {
    return this.loop.stepMs / 4;
  }

  /**
   * While loads go to the worker, keeps it running, and starts it ready (its code compiled, the
   * running version held to send a delta against) rather than on the next edit: a new worker
   * takes a hundred milliseconds and more to answer its first parse, and only with the whole
   * document. The worker does the reading; this thread only starts it.
   */
  private readyParser(): void {
    const off = this.loadsOffThread;
    this.parser.keepWarm(off);
    if (off && !this.parser.running) void this.parser.prime(this.config.scene, process.cwd());
  }

  /**
   * What the first reload's load will hold its thread for, ms, from the start-up load's `coldMs`:
   * that one ran code never compiled before, often on a machine busy starting other things, and
   * can be ten times a warm one. When it says a reload would go to the worker, a warm read (before
   * the loop starts, so no tick waits for it) says whether that holds.
   */
  private async warmWorkMs(coldMs: number): Promise<number> {
    if (coldMs < this.offThreadMs) return coldMs;
    try {
      return Math.min(coldMs, (await readScene(this.config.scene, process.cwd())).parseMs);
    } catch {
      return coldMs; // changed or gone since: the next load measures again
    }
  }

  /**
   * Reloads the scene from disk. A scene that fails to load leaves the running one untouched; a
   * good one is applied between two ticks, at once or at the next tick's start (see below): as a
   * delta to the running world when it can be (see {@link fullReloadReason}), else by building a
   * new world. `since` is when the file event that asked for it arrived (performance.now), for
   * the latency figures. `early` is a load the watcher started at that event, while it waited for
   * the burst to end; one that failed (it may have read a file still being written) is read
   * again. Resolves true when the new version was applied, or waits for the next tick's start.
   */
  async reload(since = performance.now(), early?: Promise<LoadedScene>): Promise<boolean> {
    let scene: LoadedScene;
    try {
      scene = await (early ? early.catch(() => this.loadNext()) : this.loadNext());
    } catch (err) {
      const problems = err instanceof SceneError ? err.message.split('\n') : [(err as Error).message];
      this.metrics.reloads.inc({ result: 'rejected' });
      const key = problems.join('\n');
      if (key === this.lastRejection) {
        this.log.debug({ problems }, 'Scene file still invalid (same problems as before); keeping the running scene');
      } else {
        this.lastRejection = key;
        this.log.error({ problems, result: 'rejected' }, `Scene reload rejected, keeping the running scene: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`);
      }
      return false;
    }
    this.lastRejection = '';
    if (this.lifecycle !== 'running' || !this.scene) return false;
    // A full swap still waiting keeps the world's settings apart from the file's: stay on that path.
    const why = this.fullReloadReason(this.scene, scene) ?? (this.pending?.kind === 'full' ? this.pending.why : null);
    if (this.pending?.kind === 'full') this.pending.app.dispose();
    this.pending = null;
    const next: Reloaded = why ? { kind: 'full', scene, app: this.buildApp(scene), since, why } : { kind: 'delta', scene, since };
    // No tick runs while this does: applied now, the next tick starts from the new version and
    // replicates it. An apply's time varies several-fold (sends to every client, a log line, GC):
    // when the next tick is due sooner than twice the longest of the last few, plus 2 ms, it could
    // start late, so the tick applies it at its start instead, as part of its work.
    if (this.loop.msToNextTick >= 2 * Math.max(1, this.applyTimes.percentile(100)) + 2) this.applyReload(next, this.loop.nextTick);
    else this.pending = next;
    return true;
  }

  /**
   * Why `next` cannot be applied to the world running `prev` as a delta, or null when it can: the
   * tick rate and the physics engine are fixed for a world's life, and a heightfield asset is
   * loaded when the world is built.
   */
  private fullReloadReason(prev: LoadedScene, next: LoadedScene): string | null {
    const a = prev.doc.settings;
    const b = next.doc.settings;
    if (a.tickRate !== b.tickRate) return `settings.tickRate changed (${a.tickRate} → ${b.tickRate}); the loop keeps ${this.config.tickRate} Hz until restarted`;
    if ((a.physics ?? null) !== (b.physics ?? null)) return `settings.physics changed (${a.physics ?? 'default'} → ${b.physics ?? 'default'}); the engine stays ${this.config.physics} until restarted`;
    const keys = (m: Map<string, unknown>) => [...m.keys()].sort().join('\n');
    if (keys(prev.heightfields) !== keys(next.heightfields)) return 'the heightfield assets changed';
    return null;
  }

  private setHealthState(state: HealthState): void {
    if (this.health) this.health.setState(state);
    else this.sharedHeartbeat?.setState(state);
  }

  /** The server's composition over a new simulation of `scene`: see `serverPlugins` (runtime/core/app/plugins.ts). */
  private buildApp(scene: LoadedScene): App {
    return new App({
      name: 'server',
      simulation: {
        scene: scene.doc,
        mode: RunMode.Server,
        logger: this.log,
        scripts: scene.scripts,
        heightfields: scene.heightfields,
        ...(this.physics ? { physics: this.physics } : {}),
        onScriptError: ({ entity, script, hook, error }) =>
          this.admin?.scriptError({ entity, script, hook, message: error.message, stack: error.stack, tick: this.loop.nextTick }),
      },
      plugins: [serverPlugins(this.session)],
      resources: [withResource(SCENE_INFO, { name: scene.doc.name, hash: scene.hash })],
    });
  }

  /** Makes `app` the running one: starting it binds the session (players are seated again on a swap). */
  private use(scene: LoadedScene, app: App): void {
    this.scene = scene;
    this.app = app;
    this.sim = app.sim;
    app.start();
  }

  /** One tick: apply a reload if one is waiting, then network in, physics, scripts, replication out. */
  private tick(dt: number, n: number): void {
    this.applyPending(n);
    const sim = this.sim!;
    const t0 = performance.now();
    try {
      this.app!.tick(dt, n);
      this.tickErrors.record(n);
    } catch (err) {
      // Script errors are fenced inside the simulation; anything here is an engine bug. Keep
      // ticking, but say so loudly the first time and then once in a while.
      this.tickErrors.record(n, err);
      const count = this.tickErrors.total;
      if (count === 1 || count % 1000 === 0) this.log.error({ err, tick: n, count }, `tick ${n} failed: ${(err as Error).message}`);
    }
    const ms = performance.now() - t0;
    this.metrics.tickDuration.observe(ms / 1000);
    (this.health?.heartbeat ?? this.sharedHeartbeat)?.beat(n, this.session.playerCount, sim.world.size, ms);
    // From the loop itself, so a loop that stops ticking stops the pings; it never blocks or throws.
    this.agones?.tick();
  }

  /** Applies the reload waiting for tick `n`'s start, if there is one. */
  private applyPending(n: number): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.applyReload(p, n);
  }

  /** Applies a reloaded scene before tick `n`, and notes how long that took. */
  private applyReload(p: Reloaded, n: number): void {
    const t0 = performance.now();
    this.applyNow(p, n);
    this.applyTimes.push(performance.now() - t0);
  }

  /** Applies a reloaded scene: a delta to the running world, or a new world. */
  private applyNow(p: Reloaded, n: number): void {
    const name = p.scene.doc.name;
    if (p.kind === 'delta') {
      const sim = this.sim!;
      try {
        const { diff, restarted } = sim.reload(p.scene.doc, p.scene.scripts);
        this.scene = p.scene;
        this.session.sceneChanged({ name, hash: p.scene.hash });
        this.reloaded(p, n, { added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length, restarted });
        return;
      } catch (err) {
        // The running game made the edit impossible (it spawned an entity under an id the file
        // now adds, or removed a parent the file still uses): start over from the file instead.
        const why = `the delta does not apply to the running world: ${(err as Error).message}`;
        this.log.warn({ err, tick: n }, `Scene ${name}: ${why}; reloading it whole`);
        p = { kind: 'full', scene: p.scene, app: this.buildApp(p.scene), since: p.since, why };
      }
    } else {
      this.log.info({ reason: p.why }, `Scene ${name}: ${p.why}; reloading it whole (players are seated again)`);
    }
    const old = this.app;
    this.use(p.scene, p.app);
    old?.dispose();
    this.reloaded(p, n, {});
  }

  /** Counts, measures and logs an applied reload. */
  private reloaded(p: Reloaded, n: number, detail: Record<string, unknown>): void {
    const sim = this.sim!;
    const ms = performance.now() - p.since;
    this.reloads++;
    this.metrics.reloads.inc({ result: p.kind });
    this.metrics.reloadLatency.observe(ms / 1000);
    this.watcher?.add(this.watchedFiles(p.scene)); // scripts the new version added
    this.log.info(
      {
        result: p.kind,
        ms: Math.round(ms * 10) / 10,
        loadMs: Math.round(p.scene.loadMs * 10) / 10,
        parsedOn: p.scene.parsedOnWorker ? 'worker' : 'loop thread',
        entities: sim.world.size,
        hash: p.scene.hash.slice(0, 12),
        tick: n,
        ...detail,
      },
      `Scene ${p.scene.doc.name} reloaded (${sim.world.size} entities)`,
    );
    this.agones?.setLabel(LABEL_SCENE_HASH, p.scene.hash.slice(0, 12));
  }

  /** The scene file and every script it uses: an edit to any of them reloads the scene. */
  private watchedFiles(scene: LoadedScene): string[] {
    const files = new Set([this.config.scene]);
    for (const e of scene.doc.entities) {
      const m = e.components.script?.module;
      if (m) files.add(this.assets.resolve(normaliseAssetPath(m)!));
    }
    return [...files];
  }
}
