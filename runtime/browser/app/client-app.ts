import * as THREE from 'three';
import { RunMode, SceneError, worldFromScene, type Vec3 } from '../../core/index.js';
import { Sounds } from '../audio/sounds.js';
import { FpsCounter } from '../hud/fps-counter.js';
import { Hud } from '../hud/hud.js';
import { PlayerInputSource } from '../input/player-input.js';
import { assetUrl, checkSceneName, loadBrowserScene, type BrowserScene } from '../scene/scene-source.js';
import { createRenderer, resizeToDisplay } from '../view/renderer.js';
import { loadGlb } from '../view/models.js';
import { WorldView } from '../view/world-view.js';
import { CameraStamp } from '../view/camera-stamp.js';
import { FollowCamera } from './follow-camera.js';
import { LocalPlay } from './local-play.js';
import type { PlaySession, SessionStatus } from './play-session.js';
import { ConnectedPlay } from './connected-play.js';
import { NameLabels } from './name-labels.js';

/**
 * The read-only debug handle at `window.keel`, for the console and for tests:
 *   mode       'local' | 'connected' | 'error' | 'loading'
 *   connected  true while joined to a server
 *   state      connection state as the HUD shows it
 *   tick       simulation tick (local) or newest server tick
 *   entities   entities in the drawn world
 *   players    players in the session
 *   fps        frames per second: frames drawn in the last second
 *   pingMs     round trip to the server, null when local
 *   drawCalls  draw calls of the last frame drawn (shadow passes included)
 *   framesDrawn   frames drawn since the page opened
 *   framesSkipped frames not drawn because they would have shown what the last one did (nothing
 *              moved, the camera stood still)
 *   camera     the camera's position, [x, y, z]
 *   player     the own player's position, or null
 *   banner     the banner text, or null
 *   error      the error overlay's title, or null
 *   playerId   the own player's entity id, or null
 *   entity(id) an entity of the drawn world as `{ id, position, rotation }` copies, or null
 *   sceneHash  SHA-256 of the scene file version the page has (in connected mode, the one the server runs once fetched)
 *   composition the session's app as `App.describe()` prints it (its plugins and systems), or null
 *   views      how many times the page built the view it plays in: once per session start, and again
 *              for each server scene version whose looks (environment, terrain) changed
 * Every property is a getter over the live page; assigning to one throws.
 */
export interface KeelDebugHandle {
  readonly mode: 'local' | 'connected' | 'error' | 'loading';
  readonly connected: boolean;
  readonly state: SessionStatus['state'] | null;
  readonly tick: number;
  readonly entities: number;
  readonly players: number;
  readonly fps: number;
  readonly pingMs: number | null;
  readonly drawCalls: number;
  readonly framesDrawn: number;
  readonly framesSkipped: number;
  readonly camera: Vec3;
  readonly player: Vec3 | null;
  readonly banner: string | null;
  readonly error: string | null;
  readonly playerId: string | null;
  entity(id: string): { id: string; position: Vec3; rotation: [number, number, number, number] } | null;
  readonly sceneHash: string | null;
  readonly composition: string | null;
  readonly views: number;
}

/** Minimal view of Vite's `import.meta.hot`, so the app works without a dev server too. */
export interface HotChannel {
  on(event: string, cb: (data: unknown) => void): void;
}

export interface ClientAppOptions {
  container: HTMLElement;
  /** The page's query: `scene`, optional `server` (ws:// URL) and `name`. */
  params: URLSearchParams;
  hot?: HotChannel | undefined;
}

/**
 * The client page: reads `?scene=` (and `&server=`), loads the scene from the dev server,
 * runs a local or connected session, draws it with the shared WorldView, and keeps the HUD,
 * sounds and the debug handle current. Errors that stop it become an overlay, never a blank page.
 */
export class ClientApp {
  private readonly hud: Hud;
  private readonly canvas: HTMLCanvasElement;
  private readonly renderer: THREE.WebGLRenderer;
  private readonly input: PlayerInputSource;
  private readonly sounds = new Sounds();
  private readonly follow = new FollowCamera();
  private session: PlaySession | null = null;
  private view: WorldView | null = null;
  /** The scene as the file has it, drawn from its own camera while a connected session has no world yet. */
  private preview: WorldView | null = null;
  private labels: NameLabels | null = null;
  private scene: BrowserScene | null = null;
  private mode: KeelDebugHandle['mode'] = 'loading';
  private errorTitle: string | null = null;
  private bannerText: string | null = null;
  private readonly fps = new FpsCounter();
  private lastFrame = 0;
  private drawCalls = 0;
  /** What the last drawn frame showed: the view, its revision, the camera (world and projection), or null to draw the next. */
  private drawnState: { view: WorldView; revision: number } | null = null;
  private readonly drawnCamera = new CameraStamp();
  /** Frames drawn, and frames skipped because they would have shown the same picture. */
  private framesDrawn = 0;
  private framesSkipped = 0;
  private raf = 0;
  private reloading = false;
  /** The own player entity the camera was last turned for (a rejoin seats a new one). */
  private aimed: object | null = null;
  private viewGeneration = 0;
  /** Views built so far (`window.keel.views`). */
  private viewsBuilt = 0;

  constructor(private readonly opts: ClientAppOptions) {
    const { container } = opts;
    container.classList.add('keel-app');
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'keel-canvas';
    container.append(this.canvas);
    // A restored WebGL context starts blank: the next frame is drawn, whatever it shows.
    this.canvas.addEventListener('webglcontextrestored', () => (this.drawnState = null));
    this.hud = new Hud(container);
    this.renderer = createRenderer({ canvas: this.canvas });
    this.input = new PlayerInputSource(this.canvas);
    this.input.onGesture = () => this.sounds.start();
    this.hud.muteButton.addEventListener('click', (e) => {
      e.stopPropagation();
      this.toggleMute();
    });
    window.addEventListener('keydown', (e) => {
      if (e.code === 'KeyM' && !e.repeat) this.toggleMute();
    });
    this.installDebugHandle();
  }

  /** Loads the scene and starts the session; resolves once the first frame is scheduled or an error is shown. */
  async start(): Promise<void> {
    const name = this.opts.params.get('scene');
    const refusal = checkSceneName(name);
    if (refusal) return this.fail('Scene refused', refusal);
    const server = this.opts.params.get('server');
    if (server !== null) {
      const bad = checkServerUrl(server);
      if (bad) return this.fail('Server address refused', bad);
    }
    document.title = `${name} · keel client`;
    this.opts.hot?.on('keel:scene-changed', (data) => {
      const scene = (data as { scene?: unknown } | null)?.scene;
      if (server === null && (scene === name || typeof scene !== 'string')) void this.reloadLocal(name!);
    });
    if (!(await this.load(name!))) return;
    this.begin(server);
    this.loop();
  }

  private async load(name: string): Promise<boolean> {
    try {
      this.scene = await loadBrowserScene(name, RunMode.Client);
      return true;
    } catch (err) {
      if (err instanceof SceneError) {
        const n = err.problems.length;
        this.fail('Scene cannot load', `${err.problems[0]?.file ?? name} has ${n} problem${n === 1 ? '' : 's'}:`, err.problems);
      } else this.fail('Scene cannot load', (err as Error).message);
      return false;
    }
  }

  private begin(server: string | null): void {
    const scene = this.scene!;
    if (server === null) {
      this.session = new LocalPlay(scene, this.input);
      this.mode = 'local';
    } else {
      const connected = new ConnectedPlay({ url: server, scene, input: this.input, name: this.opts.params.get('name') ?? '' });
      this.session = connected;
      this.mode = 'connected';
    }
    this.aimed = null;
    this.view = this.makeView(scene);
    this.viewsBuilt++;
    if (this.session instanceof ConnectedPlay) {
      this.viewGeneration = this.session.sceneGeneration;
      this.labels = new NameLabels(this.view, this.session, this.opts.container);
    }
  }

  private makeView(scene: BrowserScene, world = this.session!.world): WorldView {
    return new WorldView({
      world,
      heightfields: scene.heightfields,
      environment: scene.doc.settings.environment,
      loadModel: (asset) =>
        loadGlb(assetUrl(asset)).catch((err: Error) => {
          this.setBanner(err.message, 'warn');
          throw err;
        }),
    });
  }

  /** The server reloaded another version of the scene: draw the same world with its new looks. */
  private rebuildView(session: ConnectedPlay): void {
    this.viewGeneration = session.sceneGeneration;
    this.scene = session.scene;
    this.labels?.dispose();
    this.view?.dispose();
    this.view = this.makeView(session.scene);
    this.viewsBuilt++;
    this.labels = new NameLabels(this.view, session, this.opts.container);
  }

  private async reloadLocal(name: string): Promise<void> {
    if (this.reloading) return;
    this.reloading = true;
    try {
      const before = this.scene;
      if (!(await this.load(name))) {
        this.scene = before;
        return;
      }
      this.hud.hideError();
      this.errorTitle = null;
      this.teardown();
      this.begin(null);
      this.setBanner(`Scene ${name} reloaded`, 'info');
      setTimeout(() => {
        if (this.bannerText === `Scene ${name} reloaded`) this.setBanner(null);
      }, 2000);
      if (!this.raf) this.loop();
    } finally {
      this.reloading = false;
    }
  }

  private loop(): void {
    const frame = (now: number) => {
      this.raf = requestAnimationFrame(frame);
      this.frame(now);
    };
    this.raf = requestAnimationFrame(frame);
  }

  private frame(now: number): void {
    const session = this.session;
    const view = this.view;
    if (!session || !view) return;
    const dt = this.lastFrame ? Math.min(0.25, Math.max(0, (now - this.lastFrame) / 1000)) : 1 / 60;
    this.lastFrame = now;
    this.fps.frame(now);
    for (const ev of session.frame(now)) {
      if (ev.type === 'jump') this.sounds.jump();
      else this.sounds.impact(ev.speed);
    }
    const status = session.status();
    this.applyStatus(status);
    if (session instanceof ConnectedPlay && session.sceneGeneration !== this.viewGeneration) this.rebuildView(session);
    const own = session.ownPosition();
    const ownEntity = session.ownEntityId === null ? undefined : session.world.get(session.ownEntityId);
    if (own && ownEntity && this.aimed !== ownEntity) {
      // Start facing the middle of the scene, not whatever -Z shows from the spawn point. Again
      // after a rejoin: a restarted server seats players afresh, maybe at another spawn point,
      // where the old heading faced the wall and left the other players out of view.
      this.aimed = ownEntity;
      if (Math.hypot(own[0], own[2]) > 1) this.input.yaw = Math.atan2(own[0], own[2]);
    }
    let camera: THREE.PerspectiveCamera;
    let drawn = view;
    if (own) {
      this.follow.update(own, this.input.yaw, this.input.pitch, dt);
      camera = this.follow.camera;
    } else if (session.world.size === 0 && this.scene) {
      this.preview ??= this.makeView(this.scene, worldFromScene(this.scene.doc));
      drawn = this.preview;
      camera = drawn.activeCamera;
    } else camera = view.activeCamera;
    // The aspect first: the view culls with the camera.
    const resized = resizeToDisplay(this.renderer, camera);
    drawn.sync(camera);
    // A frame that would show what the last one showed (nothing moved, the camera is where it
    // was) is not drawn again: an idle page leaves the GPU, or a software renderer's CPU, alone.
    if (resized || !this.sameAsDrawn(drawn, camera)) {
      this.renderer.info.reset();
      this.renderer.render(drawn.scene, camera);
      this.drawCalls = this.renderer.info.render.calls;
      this.framesDrawn++;
    } else this.framesSkipped++;
    this.labels?.render(camera);
    this.hud.update(status, this.scene?.name ?? '', this.fps.fps);
    this.hud.setHintVisible(own !== null && !this.input.locked && this.errorTitle === null);
  }

  /** Whether `view` through `camera` is what the last drawn frame showed; records it as drawn when not. */
  private sameAsDrawn(view: WorldView, camera: THREE.PerspectiveCamera): boolean {
    const d = this.drawnState;
    if (d && d.view === view && d.revision === view.revision && this.drawnCamera.matches(camera)) return true;
    this.drawnState = { view, revision: view.revision };
    this.drawnCamera.record(camera);
    return false;
  }

  private applyStatus(s: SessionStatus): void {
    if (s.state === 'refused') this.setBanner(`Refused by the server: ${s.reason ?? 'no reason given'}`, 'error');
    else if (s.state === 'reconnecting') this.setBanner(`Reconnecting to the server…${s.reason ? ` (${s.reason})` : ''}`, 'warn');
    else if (s.state === 'connecting') this.setBanner('Connecting…', 'info');
    else if (s.state === 'closed') this.setBanner(`Disconnected: ${s.reason ?? 'closed'}`, 'error');
    else if (s.state === 'connected' && this.bannerText !== null && /^(Connecting|Reconnecting|Refused)/.test(this.bannerText)) this.setBanner(null);
  }

  private setBanner(text: string | null, kind: 'info' | 'warn' | 'error' = 'info'): void {
    this.bannerText = text;
    this.hud.setBanner(text, kind);
  }

  private toggleMute(): void {
    this.sounds.muted = !this.sounds.muted;
    this.hud.setMuted(this.sounds.muted);
  }

  private fail(title: string, detail: string, problems: SceneError['problems'] = []): void {
    this.mode = 'error';
    this.errorTitle = title;
    this.hud.showError(title, detail, problems);
  }

  private teardown(): void {
    this.preview?.dispose();
    this.preview = null;
    this.labels?.dispose();
    this.labels = null;
    this.view?.dispose();
    this.view = null;
    this.session?.dispose();
    this.session = null;
  }

  private installDebugHandle(): void {
    const app = this;
    const handle: KeelDebugHandle = Object.freeze({
      get mode() {
        return app.mode;
      },
      get connected() {
        return app.session?.status().state === 'connected';
      },
      get state() {
        return app.session?.status().state ?? null;
      },
      get tick() {
        return app.session?.status().tick ?? 0;
      },
      get entities() {
        return app.session?.world.size ?? 0;
      },
      get players() {
        return app.session?.status().players ?? 0;
      },
      get fps() {
        return app.fps.fps;
      },
      get pingMs() {
        return app.session?.status().pingMs ?? null;
      },
      get drawCalls() {
        return app.drawCalls;
      },
      get framesDrawn() {
        return app.framesDrawn;
      },
      get framesSkipped() {
        return app.framesSkipped;
      },
      get camera(): Vec3 {
        const p = app.follow.camera.position;
        return app.session?.ownPosition() ? [p.x, p.y, p.z] : app.view ? app.view.activeCamera.getWorldPosition(new THREE.Vector3()).toArray() : [0, 0, 0];
      },
      get player(): Vec3 | null {
        const p = app.session?.ownPosition();
        return p ? [p[0], p[1], p[2]] : null;
      },
      get banner() {
        return app.bannerText;
      },
      get error() {
        return app.errorTitle;
      },
      get playerId() {
        return app.session?.ownEntityId ?? null;
      },
      get sceneHash() {
        const s = app.session;
        return (s instanceof ConnectedPlay ? s.scene.hash : app.scene?.hash) || null;
      },
      get composition() {
        return app.session?.describe() ?? null;
      },
      get views() {
        return app.viewsBuilt;
      },
      entity(id: string) {
        const e = app.session?.world.get(String(id));
        return e ? { id: e.id, position: [...e.position] as Vec3, rotation: [...e.rotation] as [number, number, number, number] } : null;
      },
    });
    Object.defineProperty(window, 'keel', { value: handle, writable: false, configurable: false, enumerable: true });
  }
}

/** Null when `url` is a ws:// or wss:// address, else why not. */
export function checkServerUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url.slice(0, 80)}" is not a server address: use ws://host:port (for example ws://127.0.0.1:7777)`;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `"${url.slice(0, 80)}" is not a WebSocket address: use ws://host:port or wss://host:port`;
  return null;
}
