import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { sceneReadPlugin } from './runtime/node/dev/scene-read-plugin.js';
import { sceneWritePlugin } from './runtime/node/dev/scene-write-plugin.js';

const root = fileURLToPath(new URL('.', import.meta.url));
const scenesDir = process.env.KEEL_SCENES_DIR ?? fileURLToPath(new URL('scenes', import.meta.url));
const page = (dir: string) => fileURLToPath(new URL(`${dir}/index.html`, import.meta.url));

/**
 * The browser apps, one page each: the client at /client/ and, beside it, the editor at
 * /editor/. The dev server binds 127.0.0.1 only and serves the scenes folder read-only through
 * /__keel/scenes (see runtime/node/dev/scene-read-plugin.ts).
 */
export default defineConfig({
  root,
  appType: 'mpa',
  publicDir: false,
  // The editor saves through the write plugin (token, Origin/Host checks, If-Match); KEEL_EDIT_TOKEN fixes its token (tests).
  plugins: [sceneReadPlugin({ scenesDir }), sceneWritePlugin({ scenesDir, ...(process.env.KEEL_EDIT_TOKEN ? { token: process.env.KEEL_EDIT_TOKEN } : {}) })],
  server: {
    host: '127.0.0.1',
    port: Number(process.env.KEEL_WEB_PORT ?? 5173),
    strictPort: true,
    fs: { strict: true, allow: [root] },
    watch: { ignored: ['**/scenes/**', '**/dist/**', '**/test-results/**', '**/.bench/**'] },
  },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: 'dist/web',
    emptyOutDir: true,
    rollupOptions: {
      input: Object.fromEntries(['client', 'editor'].filter((d) => existsSync(page(d))).map((d) => [d, page(d)])),
    },
  },
});
