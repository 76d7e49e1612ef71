import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';
import { adminMetaPlugin } from './runtime/node/dev/admin-meta-plugin.js';
import { sceneReadPlugin } from './runtime/node/dev/scene-read-plugin.js';
import { sceneWritePlugin } from './runtime/node/dev/scene-write-plugin.js';

const root = fileURLToPath(new URL('.', import.meta.url));
const page = (dir: string) => fileURLToPath(new URL(`${dir}/index.html`, import.meta.url));

export interface KeelViteOptions {
  /** Folder served read-only at /__keel/scenes (default: scenes/, or $KEEL_SCENES_DIR). */
  scenesDir?: string;
  /** Dev server port (default 5173, or $KEEL_WEB_PORT). */
  port?: number;
  /** The write plugin's per-start token (default: random, or $KEEL_EDIT_TOKEN for tests). */
  editToken?: string;
}

/**
 * The browser apps, one page each: the client at /client/ and, beside it, the editor at
 * /editor/. The dev server binds 127.0.0.1 only and serves the scenes folder through
 * /__keel/scenes: reads (runtime/node/dev/scene-read-plugin.ts) and the editor's guarded writes
 * (scene-write-plugin.ts). Tests build the same config with their own scenes folder and port.
 */
export function keelViteConfig(opts: KeelViteOptions = {}): UserConfig {
  const scenesDir = opts.scenesDir ?? process.env.KEEL_SCENES_DIR ?? fileURLToPath(new URL('scenes', import.meta.url));
  const editToken = opts.editToken ?? process.env.KEEL_EDIT_TOKEN;
  return {
    root,
    appType: 'mpa',
    publicDir: false,
    // The editor saves through the write plugin (token, Origin/Host checks, If-Match, atomic write).
    plugins: [
      sceneReadPlugin({ scenesDir }),
      sceneWritePlugin({ scenesDir, ...(editToken ? { token: editToken } : {}) }),
      // `npm start` (scripts/dev.mjs) hands the editor its own server's admin channel.
      adminMetaPlugin({ url: process.env.KEEL_ADMIN_URL, token: process.env.KEEL_ADMIN_TOKEN }),
    ],
    server: {
      host: '127.0.0.1',
      port: opts.port ?? Number(process.env.KEEL_WEB_PORT ?? 5173),
      strictPort: true,
      fs: { strict: true, allow: [root] },
      watch: { ignored: ['**/scenes/**', '**/dist/**', '**/test-results/**', '**/.bench/**', '**/bench/results/**'] },
    },
    // Pre-bundled up front, so a first visit never triggers a dependency re-optimisation and reload.
    optimizeDeps: {
      entries: ['client/index.html', 'bench/client/bench.html', ...(existsSync(page('editor')) ? ['editor/index.html'] : [])].filter((f) => existsSync(fileURLToPath(new URL(f, import.meta.url)))),
      include: ['three', 'cannon-es', 'ajv/dist/runtime/ucs2length.js', 'three/examples/jsm/loaders/GLTFLoader.js', 'three/examples/jsm/renderers/CSS2DRenderer.js',
        'three/examples/jsm/controls/OrbitControls.js', 'three/examples/jsm/controls/TransformControls.js', 'preact', 'preact/hooks', '@preact/signals'],
    },
    preview: { host: '127.0.0.1' },
    build: {
      outDir: 'dist/web',
      emptyOutDir: true,
      rollupOptions: {
        input: Object.fromEntries(['client', 'editor'].filter((d) => existsSync(page(d))).map((d) => [d, page(d)])),
      },
    },
  };
}

export default defineConfig(keelViteConfig());
