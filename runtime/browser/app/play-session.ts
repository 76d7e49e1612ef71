import type { ConnectionState, Vec3, World } from '../../core/index.js';

/** What a HUD shows of the connection: the client's state, or `local` for a local session. */
export type SessionState = ConnectionState | 'local';

/** What the page shows about a session, read once per frame. */
export interface SessionStatus {
  mode: 'local' | 'connected';
  state: SessionState;
  /** The simulation tick (local) or the newest server tick received. */
  tick: number;
  players: number;
  pingMs: number | null;
  /** Why the server closed or refused the connection, when it did. */
  reason: string | null;
}

/** Something that happened this frame that the page may turn into a sound. */
export type SessionEvent = { type: 'jump' } | { type: 'impact'; speed: number };

/**
 * A running play-test, local or connected: it owns the world the view draws and moves it each
 * frame; the page owns the frame, the view, the camera and the HUD.
 */
export interface PlaySession {
  readonly world: World;
  /** Advances to `nowMs` (performance.now()): ticks, interpolation, prediction. */
  frame(nowMs: number): SessionEvent[];
  /** The own player's position to follow with the camera, or null before spawning. */
  ownPosition(): Readonly<Vec3> | null;
  /** The own player's entity id in `world`, or null. */
  readonly ownEntityId: string | null;
  status(): SessionStatus;
  /** The session's app as `App.describe()` prints it, or null while there is none. */
  describe(): string | null;
  dispose(): void;
}
