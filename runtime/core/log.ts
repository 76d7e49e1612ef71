/**
 * The logging seam. pino's Logger satisfies it, tests pass a recording one; the core never
 * creates a logger itself, so every line carries whatever bindings (instance id, world) the
 * caller gave it.
 */
export type LogFn = (objOrMsg: object | string, msg?: string) => void;
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything, for callers that do not care. */
export function silentLogger(): Logger {
  const noop: LogFn = () => {};
  const self: Logger = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => self };
  return self;
}
