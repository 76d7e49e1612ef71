import { Players, RunMode, Simulation, silentLogger, type Logger, type Player, type Vec3 } from '../../core/index.js';
import type { PlayerInputSource } from '../input/player-input.js';
import { FrameStepper } from '../loop/frame-stepper.js';
import type { BrowserScene } from '../scene/scene-source.js';
import type { PlaySession, SessionEvent, SessionStatus } from './play-session.js';
import { ImpactDetector } from './impact-detector.js';

/**
 * Local play-test: the page runs the core Simulation itself in `RunMode.Client` at the scene's
 * tick rate, with the scene's client scripts, and the player moves through the same `Players`
 * controller the server uses, so movement feels the same alone and connected.
 */
export class LocalPlay implements PlaySession {
  readonly sim: Simulation;
  private readonly players: Players;
  private readonly player: Player;
  private readonly stepper: FrameStepper;
  private readonly impacts: ImpactDetector;
  private seq = 0;

  constructor(
    scene: BrowserScene,
    private readonly input: PlayerInputSource,
    logger: Logger = silentLogger(),
    name = 'you',
  ) {
    this.sim = new Simulation({ scene: scene.doc, mode: RunMode.Client, logger, scripts: scene.scripts, heightfields: scene.heightfields });
    this.players = new Players(this.sim);
    this.player = this.players.join(name);
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
    this.stepper.advance(nowMs, (dt, tick) => {
      const input = this.input.sample(++this.seq);
      this.players.enqueue(this.player, [input]);
      const vy = this.velocityY();
      this.sim.tick(dt, tick);
      if (input.jump && Math.abs(vy) < 0.05 && this.velocityY() > 1) events.push({ type: 'jump' });
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

  dispose(): void {
    this.input.onGesture = null;
    this.sim.dispose();
  }

  private velocityY(): number {
    return this.sim.physics.hasBody(this.player.entityId) ? this.sim.physics.getLinearVelocity(this.player.entityId)[1] : 0;
  }
}
