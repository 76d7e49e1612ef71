/** The process tests' globalSetup rebuilds dist/ exactly when it is missing or older than its sources. */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleReason } from './global-setup.js';
import { TempDirs } from './wait.js';

const temps = new TempDirs('keel-stale-');
afterEach(() => temps.cleanup());

const OUTPUTS = ['dist/keel.mjs', 'dist/health-worker.mjs', 'dist/fleet-worker.mjs', 'dist/scene-parse-worker.mjs', 'dist/keel.meta.json', 'dist/runtime/node/health/health-worker.js', 'dist/runtime/node/fleet/fleet-worker.js', 'dist/runtime/node/scene-parse-worker.js'];

async function tree(root: string, files: string[], at: Date): Promise<void> {
  for (const f of files) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), '');
    await utimes(join(root, f), at, at);
  }
}

describe('globalSetup staleness check', () => {
  it('finds dist/ missing, stale after a source edit, and fresh after a build', async () => {
    const root = await temps.make();
    const old = new Date(Date.now() - 60_000);
    await tree(root, ['runtime/node/health/health-endpoint.ts', 'cli/keel.ts'], old);
    expect(staleReason(root)).toMatch(/dist\/keel\.mjs is missing/);
    await tree(root, OUTPUTS, new Date(Date.now() - 30_000));
    expect(staleReason(root)).toBeNull();
    // An unchanged worker module keeps its old time (tsc is incremental): the metafile decides.
    await tree(root, ['dist/runtime/node/health/health-worker.js'], old);
    expect(staleReason(root)).toBeNull();
    await tree(root, ['runtime/node/health/health-endpoint.ts'], new Date());
    expect(staleReason(root)).toBe('sources changed since the last build');
  });

  it('the real dist/ is fresh once globalSetup has run', () => {
    expect(staleReason()).toBeNull();
  });
});
