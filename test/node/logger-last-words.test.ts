/**
 * The JSON logger writes stdout asynchronously, but a warn, error or fatal line goes out at once
 * with everything queued before it: a real process logs a burst, then a warning, then freezes
 * its event loop for good (as a script's endless loop does); the warning still arrives.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/keel-process.js';
import { until } from '../helpers/wait.js';

const child = (level: 'info' | 'warn') => `
  const { createLogger } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/runtime/node/logger.js')).href)});
  const log = createLogger({ id: 'Last-1', world: 'w', level: 'info', format: 'json' });
  const pad = 'x'.repeat(400);
  for (let i = 0; i < 3000; i++) log.info({ i, pad }, 'busy');
  log.${level}('last words before the freeze');
  for (;;) {}
`;

async function lastLine(level: 'info' | 'warn'): Promise<{ seen: boolean; busy: number }> {
  const p = spawn(process.execPath, ['--input-type=module', '-e', child(level)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  try {
    const seen = await until(() => (out.includes('last words before the freeze') ? true : undefined), 'the last line', level === 'warn' ? 10_000 : 2000, 20).catch(() => false);
    return { seen, busy: out.split('"msg":"busy"').length - 1 };
  } finally {
    p.kill('SIGKILL');
  }
}

describe('JSON logger', () => {
  it('writes a warning logged just before the event loop freezes, after every line queued before it', async () => {
    const warn = await lastLine('warn');
    expect(warn.seen).toBe(true);
    expect(warn.busy).toBe(3000);
  }, 30_000);

  it('leaves lower levels to the asynchronous writes (so the test above can fail)', async () => {
    // The same burst with an info line last: the frozen loop never writes the queue out.
    const info = await lastLine('info');
    expect(info.seen).toBe(false);
    expect(info.busy).toBeLessThan(3000);
  }, 30_000);
});
