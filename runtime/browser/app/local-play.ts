import { App, LOCAL_PLAYER, localPlayPlugins, PLAYERS, RunMode, silentLogger, type Logger, type Player, type Players, type Simulation, type Vec3 } from '../../core/index.js';
import type { PlayerInputSource } from '../input/player-input.js';
import { FrameStepper } from '../loop/frame-stepper.js';
import type { BrowserScene } from '../scene/scene-source.js';
import type { PlaySession, SessionEvent, SessionStatus } from './play-session.js';
import { ImpactDetector } from './impact-detector.js';

/**
 * Local play-test: the page runs the core itself in `RunMode.Client` at the scene's tick rate,
 * composed as `localPlayPlugins` (physics, the scene's client scripts, the players controller
 * and the own player fed from the keyboard and mouse), so the player moves through the same
 * `Players` controller the server uses and movement feels the same alone and connected.
 */
export class LocalPlay implements PlaySession {
  readonly app: App;
  readonly sim: Simulation;
  private readonly players: Players;
  private readonly player: Player;
  private readonly stepper: FrameStepper;
  private readonly impacts: ImpactDetector;

  constructor(
    scene: BrowserScene,
    private readonly input: PlayerInputSource,
    logger: Logger = silentLogger(),
    name = 'you',
  ) {
    this.app = new App({
      name: 'client (local)',
      simulation: { scene: scene.doc, mode: RunMode.Client, logger, scripts: scene.scripts, heightfields: scene.heightfields },
      plugins: [localPlayPlugins(input, name)],
    });
    this.app.start(); // spawns the own player
    this.sim = this.app.sim;
    this.players = this.app.get(PLAYERS);
    this.player = this.app.get(LOCAL_PLAYER).player!;
    this.stepper = new FrameStepper(scene.doc.settings.tickRate);
    this.impacts = new ImpactDetector(this.sim.world, this.player.entityId);
  }

  get world() {
    return this.sim.world;
  }

  get ownEntityId(): string {
    return this.player.entityId;
  }

  frame(nowMs: number): SessionEvent[] {
    const events: SessionEvent[] = [];
    const local = this.app.get(LOCAL_PLAYER);
    this.stepper.advance(nowMs, (dt, tick) => {
      const vy = this.velocityY();
      this.app.tick(dt, tick); // local-input samples this tick's input first
      if (local.lastInput?.jump && Math.abs(vy) < 0.05 && this.velocityY() > 1) events.push({ type: 'jump' });
      this.impacts.afterTick(dt, events);
    });
    return events;
  }

  ownPosition(): Readonly<Vec3> | null {
    return this.sim.world.get(this.player.entityId)?.position ?? null;
  }

  status(): SessionStatus {
    return { mode: 'local', state: 'local', tick: this.sim.tickNumber, players: this.players.count, pingMs: null, reason: null };
  }

  describe(): string {
    return this.app.describe();
  }

  dispose(): void {
    this.input.onGesture = null;
    this.app.dispose();
  }

  private velocityY(): number {
    return this.sim.physics.hasBody(this.player.entityId) ? this.sim.physics.getLinearVelocity(this.player.entityId)[1] : 0;
  }
}
