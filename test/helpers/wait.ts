/** Waiting in tests (every wait bounded in time and in attempts), and temp directories. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined and returns
 * that; a probe that throws counts as not yet. Throws after `timeoutMs`, naming `what` and the
 * last error.
 */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs: number, intervalMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 10;
  let last: unknown;
  for (let i = 0; i < maxAttempts && Date.now() <= end; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Temp directories made with mkdtemp under a prefix, all removed by `cleanup()` (in afterEach). */
export class TempDirs {
  private readonly dirs: string[] = [];
  constructor(private readonly prefix: string) {}

  async make(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), this.prefix));
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}
