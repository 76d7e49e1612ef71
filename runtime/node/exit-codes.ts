/** Process exit codes of `keel`, documented in the README. Orchestrators restart on any non-zero code. */
export const EXIT = {
  /** Clean exit, including after SIGTERM/SIGINT drained in time. */
  ok: 0,
  /** Unexpected error (uncaught exception); `keel validate` found invalid scenes. */
  error: 1,
  /** Bad configuration or usage: nothing was started. */
  config: 2,
  /** The watchdog found the game loop frozen past --watchdog-ms. */
  watchdog: 3,
  /** Shutdown did not finish within --shutdown-grace-ms. */
  shutdownTimeout: 4,
  /** A second SIGINT/SIGTERM during shutdown: exit at once (128 + signal number, as shells report). */
  sigint: 130,
  sigterm: 143,
} as const;
