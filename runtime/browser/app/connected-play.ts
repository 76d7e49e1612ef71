import {
  ClientMirror,
  RunMode,
  validateEntity,
  World,
  type Entity,
  type MirroredEntity,
  type PlayerInput,
  type Snapshot,
  type Vec3,
  type SceneChange,
  type Welcome,
} from '../../core/index.js';
import type { PlayerInputSource } from '../input/player-input.js';
import { FrameStepper } from '../loop/frame-stepper.js';
import { GameConnection } from '../net/game-connection.js';
import { Predictor, type Reconciliation } from '../net/predictor.js';
import { SnapshotBuffer } from '../net/snapshot-buffer.js';
import { loadBrowserScene, type BrowserScene } from '../scene/scene-source.js';
import { ImpactDetector } from './impact-detector.js';
import type { PlaySession, SessionEvent, SessionStatus } from './play-session.js';

/** Inputs repeated in each Input message, so one lost message loses no input. */
const REDUNDANT_INPUTS = 3;

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
}

/** What the display world holds per replicated entity. */
interface Shown {
  entity: Entity;
  /** The mirrored components object it was built from, and its JSON (a full snapshot sends equal components as new objects). */
  components: Readonly<Record<string, unknown>>;
  json: string;
}

/**
 * Connected play-test over protocol v2. The drawn world is a core World kept in step with the
 * server's: entities are created and removed as snapshots say, remote ones are posed by
 * snapshot interpolation (`SnapshotBuffer`, INTERPOLATION_DELAY_MS behind), and the own player
 * is predicted from local inputs and reconciled with the acknowledged input sequence
 * (`Predictor`). A server scene reload (a new Welcome) resets the world without a page reload.
 */
export class ConnectedPlay implements PlaySession {
  readonly world = new World();
  readonly connection: GameConnection;
  private mirror = new ClientMirror();
  private buffer: SnapshotBuffer;
  private predictor: Predictor | null = null;
  private stepper: FrameStepper;
  private readonly shown = new Map<number, Shown>();
  private welcome: Welcome | null = null;
  private acked = 0;
  /** The newest applied snapshot tick not yet acknowledged by an input or an ack. */
  private unackedTick = 0;
  private seq = 0;
  private readonly unacked: PlayerInput[] = [];
  private lastFrame: number | null = null;
  private readonly scratchP: Vec3 = [0, 0, 0];
  private readonly scratchQ: [number, number, number, number] = [0, 0, 0, 1];
  private readonly impacts: ImpactDetector;
  private sceneGen = 0;
  private currentScene: BrowserScene;

  constructor(private readonly opts: ConnectedPlayOptions) {
    this.currentScene = opts.scene;
    const tickRate = opts.scene.doc.settings.tickRate;
    this.buffer = new SnapshotBuffer(1000 / tickRate);
    this.stepper = new FrameStepper(tickRate, 12);
    this.impacts = new ImpactDetector(this.world, null);
    this.connection = new GameConnection({
      url: opts.url,
      name: opts.name,
      onWelcome: (w) => this.onWelcome(w),
      onSnapshot: (s) => this.onSnapshot(s),
      onSceneChange: (c) => this.onSceneChange(c),
      ...(opts.socket ? { socket: opts.socket } : {}),
    });
    this.connection.connect();
  }

  /** The scene this session draws; replaced when the server reloads a different version. */
  get scene(): BrowserScene {
    return this.currentScene;
  }

  /** Bumped whenever `scene` is replaced (the page rebuilds its view then). */
  get sceneGeneration(): number {
    return this.sceneGen;
  }

  get ownEntityId(): string | null {
    return this.welcome?.playerEntity ?? null;
  }

  /** Every reconciliation so far (input, error, no-prediction lag; metres), for benchmarks. */
  get predictionLog(): readonly Reconciliation[] {
    return this.predictor?.log ?? [];
  }

  frame(nowMs: number): SessionEvent[] {
    const events: SessionEvent[] = [];
    const dtS = this.lastFrame === null ? 0 : Math.min(0.25, (nowMs - this.lastFrame) / 1000);
    this.lastFrame = nowMs;
    const predictor = this.predictor;
    if (this.connection.open && predictor?.ready) {
      this.stepper.advance(nowMs, (dt, tick) => {
        const input = this.opts.input.sample(++this.seq);
        const vy = predictor.velocityY;
        predictor.step(input, dt, tick);
        if (input.jump && Math.abs(vy) < 0.05 && predictor.velocityY > 1) events.push({ type: 'jump' });
        this.unacked.push(input);
        if (this.unacked.length > REDUNDANT_INPUTS) this.unacked.shift();
        this.connection.sendInput(this.acked, this.unacked);
        this.unackedTick = 0;
      });
    } else this.stepper.advance(nowMs, () => {});
    if (this.unackedTick !== 0) {
      // No input went out this frame (not spawned yet, or no tick due): acknowledge anyway, or
      // every snapshot stays a full one.
      this.connection.sendAck(this.unackedTick);
      this.unackedTick = 0;
    }
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
      state: this.connection.state,
      tick: this.mirror.lastTick,
      players,
      pingMs: this.connection.pingMs,
      reason: this.connection.reason,
    };
  }

  dispose(): void {
    this.connection.close();
    this.predictor?.dispose();
    this.clearWorld();
  }

  private onWelcome(w: Welcome): void {
    // A first join, a rejoin after a drop, or the server's scene reload: start from scratch.
    this.welcome = w;
    this.mirror = new ClientMirror();
    this.buffer = new SnapshotBuffer(1000 / w.tickRate);
    this.stepper = new FrameStepper(w.tickRate, 12);
    this.acked = 0;
    this.unacked.length = 0;
    this.clearWorld();
    if (w.sceneHash !== this.currentScene.hash && this.currentScene.hash !== '') {
      // The server runs another version of the scene (it reloaded): fetch it for geometry and
      // looks; on failure keep predicting against the geometry at hand.
      this.refetchScene(w, () => this.resetPredictor());
    } else this.resetPredictor();
  }

  /**
   * The server applied a new version of the scene in place: entities change through snapshots;
   * fetch the new version for what snapshots do not carry (models, geometry, environment). A full
   * swap is handled by the Welcome that follows it.
   */
  private onSceneChange(c: SceneChange): void {
    if (c.kind !== 'delta' || c.sceneHash === this.currentScene.hash) return;
    this.refetchScene(this.welcome, () => {});
  }

  /** Fetches the scene again; applies it (then `then`) while `w` is still the welcome; `then` also runs on failure. */
  private refetchScene(w: Welcome | null, then: () => void): void {
    const load = this.opts.loadScene ?? ((name: string) => loadBrowserScene(name, RunMode.Client));
    void load(this.currentScene.name).then(
      (scene) => {
        if (this.welcome !== w) return;
        this.currentScene = scene;
        this.sceneGen++;
        then();
      },
      then,
    );
  }

  private resetPredictor(): void {
    this.predictor?.dispose();
    this.predictor = new Predictor(this.currentScene.doc, this.currentScene.heightfields);
  }

  private onSnapshot(s: Snapshot): void {
    if (!this.mirror.apply(s)) return; // out of order or against a dropped baseline
    this.acked = s.tick;
    this.unackedTick = s.tick;
    const entities = this.mirror.entities;
    this.buffer.push(s.tick, entities, performance.now());
    this.syncMembership(entities);
    const own = this.ownEntityId ? this.mirror.byId(this.ownEntityId) : undefined;
    const predictor = this.predictor;
    if (own && predictor) {
      if (!predictor.ready || s.inputSeq === 0) {
        if (!predictor.ready) predictor.place(own.position);
      } else predictor.reconcile(s.inputSeq, own.position, s.playerVelocity);
    }
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
    const p = this.scratchP;
    const q = this.scratchQ;
    for (const [netId, shown] of this.shown) {
      const e = shown.entity;
      if (e.id === ownId && this.predictor?.ready) {
        const d = this.predictor.drawnPosition(dtS);
        const r = this.predictor.rotation;
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
