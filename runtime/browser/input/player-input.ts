import type { PlayerInput } from '../../core/index.js';

const KEYS = {
  forward: ['KeyW', 'ArrowUp'],
  back: ['KeyS', 'ArrowDown'],
  left: ['KeyA', 'ArrowLeft'],
  right: ['KeyD', 'ArrowRight'],
  jump: ['Space'],
} as const;

/** Radians of look per pixel of mouse movement. */
const LOOK_SPEED = 0.0025;
const PITCH_LIMIT = 1.35;

/**
 * Keyboard and mouse to player intents: WASD or arrows move relative to where the player looks,
 * space jumps, the mouse looks while the pointer is locked (a click on `element` locks it).
 * `sample` turns the held keys into the protocol's PlayerInput: a world-space move direction on
 * the ground plane and the look yaw, exactly what the server's player controller consumes.
 */
export class PlayerInputSource {
  /** Look angles, radians: yaw about +Y (0 looks along -Z), pitch up positive. */
  yaw = 0;
  pitch = -0.25;
  private readonly held = new Set<string>();
  private jumpQueued = false;
  private readonly cleanup: (() => void)[] = [];
  /** Called on the first user gesture (a click or key), when audio may start. */
  onGesture: (() => void) | null = null;

  constructor(private readonly element: HTMLElement) {
    const on = <K extends keyof DocumentEventMap>(target: Document | HTMLElement | Window, type: K, fn: (e: DocumentEventMap[K]) => void) => {
      target.addEventListener(type, fn as EventListener);
      this.cleanup.push(() => target.removeEventListener(type, fn as EventListener));
    };
    on(window, 'keydown', (e) => {
      if (isTyping(e.target)) return;
      if (Object.values(KEYS).some((codes) => (codes as readonly string[]).includes(e.code))) e.preventDefault();
      if (KEYS.jump.includes(e.code as 'Space') && !e.repeat) this.jumpQueued = true;
      this.held.add(e.code);
      this.gesture();
    });
    on(window, 'keyup', (e) => this.held.delete(e.code));
    on(window, 'blur', () => this.held.clear());
    on(element, 'click', () => {
      this.gesture();
      if (!this.locked) void element.requestPointerLock?.()?.catch?.(() => {});
    });
    on(document, 'mousemove', (e) => {
      if (!this.locked) return;
      this.yaw -= e.movementX * LOOK_SPEED;
      this.pitch = Math.max(-PITCH_LIMIT, Math.min(PITCH_LIMIT, this.pitch - e.movementY * LOOK_SPEED));
    });
  }

  /** Whether mouse look is active. */
  get locked(): boolean {
    return document.pointerLockElement === this.element;
  }

  /** The current intent as a PlayerInput (`seq` is the caller's); a queued jump is consumed. */
  sample(seq: number): PlayerInput {
    const f = this.axis(KEYS.forward) - this.axis(KEYS.back);
    const r = this.axis(KEYS.right) - this.axis(KEYS.left);
    const sin = Math.sin(this.yaw);
    const cos = Math.cos(this.yaw);
    // Forward is -Z turned by yaw; right is +X turned by yaw.
    let moveX = -sin * f + cos * r;
    let moveZ = -cos * f - sin * r;
    const len = Math.hypot(moveX, moveZ);
    if (len > 1) {
      moveX /= len;
      moveZ /= len;
    }
    const jump = this.jumpQueued || this.axis(KEYS.jump) > 0;
    this.jumpQueued = false;
    return { seq, moveX, moveZ, jump, yaw: wrapAngle(this.yaw) };
  }

  dispose(): void {
    for (const c of this.cleanup) c();
    if (this.locked) document.exitPointerLock();
  }

  private axis(codes: readonly string[]): number {
    return codes.some((c) => this.held.has(c)) ? 1 : 0;
  }

  private gesture(): void {
    const g = this.onGesture;
    this.onGesture = null;
    g?.();
  }
}

/** An angle in [0, 2π): the protocol sends yaw as f32 and the server takes it modulo 2π. */
function wrapAngle(a: number): number {
  const t = a % (2 * Math.PI);
  return t < 0 ? t + 2 * Math.PI : t;
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || (target instanceof HTMLElement && target.isContentEditable);
}
