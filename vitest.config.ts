import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (the core, in-process and fast: `npx vitest --project unit` answers in
 * seconds) and `process` (real server processes, sockets, worker threads and, under
 * test/browser/, a real browser). `npm test` runs both.
 */
export default defineConfig({
  test: {
    // Many tests start real server processes; on a 2-core machine, fewer workers are faster and steadier.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/core/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'process',
          include: ['test/**/*.test.ts'],
          exclude: ['test/core/**', '**/node_modules/**'],
          // These run dist/keel.mjs and start worker threads from dist/: build it first when stale.
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
