/**
 * The admin meta plugin in a real Vite dev server: on loopback it hands the editor page (and
 * only the editor page) the admin URL and token; a dev server bound to every address hands out
 * neither, and says so; without a token it adds nothing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterEach, describe, expect, it } from 'vitest';
import { adminMetaPlugin, type AdminMetaPluginOptions } from '../../runtime/node/dev/admin-meta-plugin.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';

const temps = new TempDirs('keel-admin-meta-');
const servers: ViteDevServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await temps.cleanup();
});

const TOKEN = 'meta-token-0123456789abcdef';
const URL_ = 'ws://127.0.0.1:7780';

async function serve(host: string, opts: AdminMetaPluginOptions): Promise<{ base: string; warnings: string[] }> {
  const root = await temps.make();
  for (const page of ['editor', 'client']) {
    await mkdir(join(root, page));
    await writeFile(join(root, page, 'index.html'), `<!doctype html><html><head><title>${page}</title></head><body></body></html>\n`);
  }
  const port = await freePort();
  const warnings: string[] = [];
  const server = await createServer({
    configFile: false,
    root,
    appType: 'mpa',
    logLevel: 'warn',
    customLogger: { info() {}, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m), error() {}, clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { port, host, strictPort: true, watch: null },
    plugins: [adminMetaPlugin(opts)],
  });
  servers.push(server);
  await server.listen();
  return { base: `http://127.0.0.1:${port}`, warnings };
}

const page = async (url: string) => (await fetch(url)).text();

describe('admin meta plugin', () => {
  it('hands the editor page on a loopback dev server the admin URL and token, and no other page', async () => {
    const s = await serve('127.0.0.1', { url: URL_, token: TOKEN });
    const editor = await page(`${s.base}/editor/`);
    expect(editor).toContain(`<meta name="keel-admin-url" content="${URL_}"`);
    expect(editor).toContain(`<meta name="keel-admin-token" content="${TOKEN}"`);
    expect(await page(`${s.base}/client/`)).not.toContain(TOKEN);
  });

  it('hands out nothing from a dev server bound beyond loopback, and warns', async () => {
    const s = await serve('0.0.0.0', { url: URL_, token: TOKEN });
    const editor = await page(`${s.base}/editor/`);
    expect(editor).toContain('<title>editor</title>');
    expect(editor).not.toContain(TOKEN);
    expect(editor).not.toContain('keel-admin-url');
    expect(s.warnings.join('\n')).toMatch(/binds 0\.0\.0\.0, not loopback: the editor is not handed the admin token/);
  });

  it('adds nothing without a token', async () => {
    const s = await serve('127.0.0.1', { url: URL_, token: undefined });
    expect(await page(`${s.base}/editor/`)).not.toContain('keel-admin');
  });
});
