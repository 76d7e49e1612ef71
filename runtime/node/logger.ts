import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import type { LogFormat, LogLevel } from './config.js';

export type { PinoLogger };

export interface LoggerOptions {
  id: string;
  world: string;
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stdout by default. */
  stream?: { write(chunk: string): unknown };
  /** Colour the pretty format; defaults to whether the stream is a terminal. */
  color?: boolean;
}

/**
 * One pino logger per instance, created from its config and passed down, never imported as a
 * global: two instances in one process log with their own id and world on every line.
 */
export function createLogger(opts: LoggerOptions): PinoLogger {
  const base = { id: opts.id, world: opts.world, pid: process.pid };
  const options = { level: opts.level, base, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.format === 'json') {
    const dest: DestinationStream = opts.stream ?? lastWordsFirst(pino.destination({ dest: 1, sync: false }));
    return pino(options, dest);
  }
  const out = opts.stream ?? process.stdout;
  const color = opts.color ?? (out === process.stdout && process.stdout.isTTY === true);
  return pino(options, prettyStream(out, color));
}

/** A JSON line of level warn (40), error (50) or fatal (60): pino writes the level first. */
const WARN_OR_WORSE = /^\{"level":[456]0,/;

/**
 * stdout written asynchronously, so a slow log reader never holds up a tick, except that a
 * warn, error or fatal line is written out at once, with everything queued before it. Such a
 * line is often the last one before the loop freezes (an endless loop in a script) or the
 * process dies; written later, it would be lost with the rest of the queue.
 */
function lastWordsFirst(dest: ReturnType<typeof pino.destination>): DestinationStream {
  return {
    write(line: string) {
      dest.write(line);
      if (!WARN_OR_WORSE.test(line)) return;
      try {
        dest.flushSync();
      } catch {
        // Not open yet, or closing: the line stays queued like any other.
      }
    },
  };
}

// Control characters in logged text are shown escaped: a value that slipped through unsanitised
// must not start a line of its own or send escape sequences to the operator's terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const oneLine = (s: string) => s.replace(CONTROL, escapeChar);

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '41;97' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'id', 'world', 'msg', 'err']);

/**
 * The human format: `[Instance-01] [INFO] Scene arena loaded (42 entities) in 12 ms`; lines of
 * other levels add their fields as `key=value`, and an error's stack indented below. Synchronous and dependency-free:
 * log lines are rare next to ticks.
 */
export function prettyStream(out: { write(chunk: string): unknown }, color: boolean): DestinationStream {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const level = Number(rec.level);
      const name = LEVEL_NAMES[level] ?? String(rec.level);
      // Info lines are written to read on their own; other levels show their fields too.
      const extras = level === 30 ? '' : Object.entries(rec)
        .filter(([k]) => !HIDDEN.has(k))
        .map(([k, v]) => `${oneLine(k)}=${typeof v === 'string' ? oneLine(v) : JSON.stringify(v)}`)
        .join(' ');
      let text = `${paint('1', `[${String(rec.id)}]`)} ${paint(LEVEL_COLORS[level] ?? '0', `[${name}]`)} ${oneLine(String(rec.msg ?? ''))}`;
      if (extras) text += ` ${paint('2', extras)}`;
      const err = rec.err as { stack?: string; message?: string } | undefined;
      if (err?.stack) text += `\n${paint('2', err.stack.replace(CONTROL_BUT_NEWLINE, escapeChar).replace(/^/gm, '    '))}`;
      out.write(`${text}\n`);
    },
  };
}
