import {
  App,
  clientPlugins,
  GameClient,
  LOCAL_PLAYER,
  PREDICTION,
  predictionScene,
  RunMode,
  sameJson,
  silentLogger,
  validateEntity,
  World,
  type Entity,
  type MirroredEntity,
  type Predictor,
  type Reconciliation,
  type SceneChange,
  type SessionTimers,
  type Snapshot,
  type Vec3,
  type Welcome,
} from '../../core/index.js';
import type { PlayerInputSource } from '../input/player-input.js';
import { FrameStepper } from '../loop/frame-stepper.js';
import { SnapshotBuffer } from '../net/snapshot-buffer.js';
import { WebSocketTransport } from '../net/websocket-transport.js';
import { loadBrowserScene, type BrowserScene } from '../scene/scene-source.js';
import { ImpactDetector } from './impact-detector.js';
import type { PlaySession, SessionEvent, SessionStatus } from './play-session.js';

/** The page's timers, for the client's reconnect backoff and pings. */
const pageTimers: SessionTimers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ConnectedPlayOptions {
  url: string;
  /** The scene as the dev server has it: static geometry for prediction, heightfields, environment. */
  scene: BrowserScene;
  input: PlayerInputSource;
  name: string;
  /** WebSocket constructor override (benchmarks add latency with it). */
  socket?: (url: string) => WebSocket;
  /** Loads a scene by name when the server runs a different version (default: from the dev server). */
  loadScene?: (name: string) => Promise<BrowserScene>;
  /** The clock `frame(nowMs)` is given, for snapshot arrival times and pings (default: performance.now). */
  now?: () => number;
}

/** What the display world holds per replicated entity. */
interface Shown {
  entity: Entity;
  /** The mirrored components object it was built from, and its JSON (a full snapshot sends equal components as new objects). */
  components: Readonly<Record<string, unknown>>;
  json: string;
}

/**
 * Connected play-test: the core's client composition with a display world beside it.
 *
 * - The connection is a core `GameClient` over the page's WebSocket (`WebSocketTransport`, one
 *   per attempt): it rejoins with backoff after a drop and measures the ping.
 * - The own player is predicted by an `App` composed of `clientPlugins` over the scene's static
 *   geometry (`predictionScene`): the same physics and controller as the server, one input per
 *   tick, reconciled with the server's state for the input it applied last. A new one is made
 *   for each welcome (a join, a rejoin, a server reload), from the scene version the server runs.
 * - The drawn world is a core World kept in step with the client's mirror of the server's:
 *   entities are created and removed as snapshots say, remote ones posed by snapshot
 *   interpolation (`SnapshotBuffer`, INTERPOLATION_DELAY_MS behind), the own player where the
 *   prediction has it, small corrections eased out.
 */
export class ConnectedPlay implements PlaySession {
  readonly world = new World();
  readonly client: GameClient;
  /** The prediction app for the current welcome and scene version; null until it is built. */
  private app: App | null = null;
  private buffer: SnapshotBuffer;
  private stepper: FrameStepper;
  private readonly shown = new Map<number, Shown>();
  private lastFrame: number | null = null;
  private readonly scratchP: Vec3 = [0, 0, 0];
  private readonly scratchQ: [number, number, number, number] = [0, 0, 0, 1];
  private readonly impacts: ImpactDetector;
  private sceneGen = 0;
  private currentScene: BrowserScene;
  /** Reconciliations of the apps before the current one (the benchmark reads them all). */
  private readonly pastLog: Reconciliation[] = [];

  constructor(private readonly opts: ConnectedPlayOptions) {
    this.currentScene = opts.scene;
    const tickRate = opts.scene.doc.settings.tickRate;
    this.buffer = new SnapshotBuffer(1000 / tickRate);
    this.stepper = new FrameStepper(tickRate, 12);
    this.impacts = new ImpactDetector(this.world, null);
    this.client = new GameClient(() => new WebSocketTransport(opts.url, opts.socket), {
      name: opts.name,
      timers: pageTimers,
      now: opts.now ?? (() => performance.now()),
      onWelcome: (w) => this.onWelcome(w),
      onSceneChange: (c) => this.onSceneChange(c),
    });
    this.client.onApplied((s, at) => this.onSnapshot(s, at));
    this.client.connect();
  }

  /** The scene this session draws; replaced when the server reloads a different version. */
  get scene(): BrowserScene {
    return this.currentScene;
  }

  /** Bumped when `scene` is replaced by a version that looks different (the page rebuilds its view then). */
  get sceneGeneration(): number {
    return this.sceneGen;
  }

  get ownEntityId(): string | null {
    return this.client.welcome?.playerEntity ?? null;
  }

  /** The prediction app's composition (`App.describe()`), or null before the first welcome. */
  describe(): string | null {
    return this.app?.describe() ?? null;
  }

  /** Every reconciliation so far (input, error, no-prediction lag; metres), for benchmarks. */
  get predictionLog(): readonly Reconciliation[] {
    const now = this.predictor?.log ?? [];
    return this.pastLog.length ? [...this.pastLog, ...now] : now;
  }

  frame(nowMs: number): SessionEvent[] {
    const events: SessionEvent[] = [];
    const dtS = this.lastFrame === null ? 0 : Math.min(0.25, (nowMs - this.lastFrame) / 1000);
    this.lastFrame = nowMs;
    const app = this.app;
    const predictor = this.predictor;
    // Until a snapshot has shown the own player there is nothing to predict: snapshots are
    // taken in below, and the clock only keeps its phase.
    if (app && predictor?.ready) {
      const local = app.get(LOCAL_PLAYER);
      this.stepper.advance(nowMs, (dt, tick) => {
        const vy = predictor.velocityY;
        app.tick(dt, tick); // snapshots in, the input sampled, predicted and sent
        if (local.lastInput?.jump && Math.abs(vy) < 0.05 && predictor.velocityY > 1) events.push({ type: 'jump' });
      });
    } else this.stepper.advance(nowMs, () => {});
    // Snapshots that arrived since the last tick are drawn now, and acknowledged even when no
    // input went out (not spawned yet, no tick due, no app while a new scene version loads), or
    // every snapshot stays a full one.
    this.client.receive();
    this.client.sendInput(null);
    this.interpolate(nowMs, dtS);
    if (dtS > 0) this.impacts.afterTick(dtS, events);
    return events;
  }

  ownPosition(): Readonly<Vec3> | null {
    const id = this.ownEntityId;
    return id ? (this.world.get(id)?.position ?? null) : null;
  }

  status(): SessionStatus {
    let players = 0;
    for (const s of this.shown.values()) if (s.entity.id.startsWith('player-')) players++;
    return {
      mode: 'connected',
      state: this.client.state,
      tick: this.client.mirror.lastTick,
      players,
      pingMs: this.client.pingMs,
      reason: this.client.reason,
    };
  }

  dispose(): void {
    this.client.close();
    this.disposeApp();
    this.clearWorld();
  }

  private get predictor(): Predictor | null {
    return this.app?.get(PREDICTION) ?? null;
  }

  private onWelcome(w: Welcome): void {
    // A first join, a rejoin after a drop, or the server's scene reload: start from scratch.
    this.buffer = new SnapshotBuffer(1000 / w.tickRate);
    this.stepper = new FrameStepper(w.tickRate, 12);
    this.disposeApp();
    this.clearWorld();
    if (w.sceneHash !== this.currentScene.hash && this.currentScene.hash !== '') {
      // The server runs another version of the scene (it reloaded): fetch it for geometry and
      // looks; on failure keep predicting against the geometry at hand.
      this.refetchScene(w, () => this.buildApp(w));
    } else this.buildApp(w);
  }

  /**
   * The server applied a new version of the scene in place: entities change through snapshots.
   * Fetch the new version for what snapshots do not carry. The view is rebuilt only when its
   * looks changed (environment, heightfields; models load as entities need them), and the
   * prediction only when the static geometry did: an edit to a crate costs neither. A full swap
   * is handled by the Welcome that follows it.
   */
  private onSceneChange(c: SceneChange): void {
    if (c.kind !== 'delta' || c.sceneHash === this.currentScene.hash) return;
    const w = this.client.welcome;
    const before = this.currentScene;
    this.refetchScene(w, (after) => {
      if (!after || !w) return;
      // New walls or floors: predict against them from where the player is now.
      if (!sameJson(predictionScene(before.doc).entities, predictionScene(after.doc).entities)) this.buildApp(w, true);
    }, (a, b) => sameJson(a.doc.settings.environment, b.doc.settings.environment) && sameKeys(a.heightfields, b.heightfields));
  }

  /**
   * Fetches the scene again and, while `w` is still the welcome, makes it the current one: the
   * page rebuilds its view for it unless `sameLooks` says the old view draws it as well. Then
   * `then` runs with the new scene, or with null when the fetch failed.
   */
  private refetchScene(w: Welcome | null, then: (scene: BrowserScene | null) => void, sameLooks?: (a: BrowserScene, b: BrowserScene) => boolean): void {
    const load = this.opts.loadScene ?? ((name: string) => loadBrowserScene(name, RunMode.Client));
    void load(this.currentScene.name).then(
      (scene) => {
        if (this.client.welcome !== w) return;
        const redraw = !sameLooks?.(this.currentScene, scene);
        this.currentScene = scene;
        if (redraw) this.sceneGen++;
        then(scene);
      },
      () => {
        if (this.client.welcome === w) then(null);
      },
    );
  }

  /** The prediction app for welcome `w`, over the static part of the current scene (replacing the one before). */
  private buildApp(w: Welcome, keepPlayer = false): void {
    if (this.client.welcome !== w || this.client.state === 'closed') return;
    const old = this.predictor;
    const carry = keepPlayer && old?.ready ? { p: [...old.position] as Vec3, v: old.velocity } : null;
    this.disposeApp();
    const scene = this.currentScene;
    this.app = new App({
      name: 'client (connected)',
      simulation: { scene: predictionScene(scene.doc), mode: RunMode.Client, logger: silentLogger(), heightfields: scene.heightfields },
      plugins: [clientPlugins(this.client, this.opts.input, this.opts.name)],
    });
    this.app.start();
    if (carry) this.app.get(PREDICTION).place(carry.p, carry.v);
  }

  private disposeApp(): void {
    const app = this.app;
    if (!app) return;
    this.pastLog.push(...app.get(PREDICTION).log);
    if (this.pastLog.length > 4096) this.pastLog.splice(0, this.pastLog.length - 4096);
    this.app = null;
    app.dispose();
  }

  private onSnapshot(s: Snapshot, arrivedAt: number): void {
    const entities = this.client.mirror.entities;
    this.buffer.push(s.tick, entities, arrivedAt);
    this.syncMembership(entities);
  }
  /** Creates, rebuilds and removes display entities so they match the newest state. */
  private syncMembership(entities: ReadonlyMap<number, MirroredEntity>): void {
    for (const [netId, shown] of this.shown) {
      const m = entities.get(netId);
      if (m && m.id === shown.entity.id && m.components !== shown.components) {
        const json = JSON.stringify(m.components);
        if (json === shown.json) shown.components = m.components;
      }
      if (!m || m.id !== shown.entity.id || m.components !== shown.components) {
        this.world.remove(shown.entity.id);
        this.shown.delete(netId);
      } else if (m.name !== shown.entity.name) this.world.relabel(shown.entity, m.name, shown.entity.tags);
    }
    for (const [netId, m] of entities) {
      if (this.shown.has(netId)) continue;
      if (this.world.get(m.id)) continue; // a duplicate id from a hostile server: keep the first
      const checked = validateEntity({ id: m.id, name: m.name, components: m.components }, `server entity ${m.id}`);
      if (!checked.ok) continue; // not drawable; the server still simulates it
      const entity = this.world.add(checked.entity);
      this.world.setPose(entity, [...m.position], [...m.rotation]);
      this.shown.set(netId, { entity, components: m.components, json: JSON.stringify(m.components) });
    }
  }

  private interpolate(nowMs: number, dtS: number): void {
    const t = this.buffer.renderTime(nowMs);
    const ownId = this.ownEntityId;
    const predictor = this.predictor;
    const p = this.scratchP;
    const q = this.scratchQ;
    for (const [netId, shown] of this.shown) {
      const e = shown.entity;
      if (e.id === ownId && predictor?.ready) {
        const d = predictor.drawnPosition(dtS);
        const r = predictor.rotation;
        e.position[0] = d[0];
        e.position[1] = d[1];
        e.position[2] = d[2];
        e.rotation[0] = r[0];
        e.rotation[1] = r[1];
        e.rotation[2] = r[2];
        e.rotation[3] = r[3];
        this.world.setPose(e, e.position, e.rotation);
        continue;
      }
      if (!this.buffer.sample(netId, t, p, q)) continue;
      const ep = e.position;
      const eq = e.rotation;
      if (ep[0] === p[0] && ep[1] === p[1] && ep[2] === p[2] && eq[0] === q[0] && eq[1] === q[1] && eq[2] === q[2] && eq[3] === q[3]) continue;
      ep[0] = p[0];
      ep[1] = p[1];
      ep[2] = p[2];
      eq[0] = q[0];
      eq[1] = q[1];
      eq[2] = q[2];
      eq[3] = q[3];
      this.world.setPose(e, ep, eq);
    }
  }

  private clearWorld(): void {
    for (const s of this.shown.values()) this.world.remove(s.entity.id);
    this.shown.clear();
  }
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}
