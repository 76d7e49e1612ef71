import { GameSession as CoreGameSession, type GameSessionOptions as CoreOptions } from '../core/net/game-session.js';
import { verifyJoinToken } from './join-token.js';
import type { PinoLogger } from './logger.js';

export { cleanName, LIMITS, MAX_NAME_CHARS } from '../core/net/game-session.js';

export interface NodeGameSessionOptions extends Omit<CoreOptions, 'log' | 'verifyToken' | 'timers' | 'now'> {
  log: PinoLogger;
  /** The secret join tokens are signed with (`--join-secret`); without it anyone may join. */
  joinSecret: string | undefined;
}

/**
 * The core's GameSession (runtime/core/net/game-session.ts) with what the server process
 * supplies: HMAC join tokens (node:crypto), Node's timers and the wall clock.
 */
export class NodeGameSession extends CoreGameSession {
  constructor(opts: NodeGameSessionOptions) {
    const { joinSecret, ...rest } = opts;
    super({
      ...rest,
      verifyToken: joinSecret === undefined ? undefined : (token, nowMs) => verifyJoinToken(joinSecret, token, nowMs),
      timers: { set: (run, ms) => setTimeout(run, ms), clear: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    });
  }
}
