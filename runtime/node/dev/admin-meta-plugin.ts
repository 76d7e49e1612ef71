import type { Plugin, ViteDevServer } from 'vite';

/** `<meta>` names the editor reads to offer "this dev server's instance" in its Attach dialog. */
export const ADMIN_URL_META = 'keel-admin-url';
export const ADMIN_TOKEN_META = 'keel-admin-token';

export interface AdminMetaPluginOptions {
  /** ws://127.0.0.1:P of the `keel serve` this dev server started (scripts/dev.mjs). */
  url: string | undefined;
  /** That server's per-start admin token. */
  token: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether `host` (a Vite `server.host` value) binds loopback only. */
export function isLoopbackHost(host: string | boolean | undefined): boolean {
  return typeof host === 'string' && LOOPBACK.has(host);
}

/**
 * Hands the editor page the admin channel of the dev stack's own `keel serve`, so Attach needs no
 * typing. The token goes only into the editor's page, and only while the dev server binds
 * loopback (a dev server opened to the network must not hand out a key to the running server;
 * Vite's Host check already refuses pages to other host names, which stops DNS rebinding).
 * Without both a URL and a token the plugin does nothing.
 */
export function adminMetaPlugin(opts: AdminMetaPluginOptions): Plugin {
  let server: ViteDevServer | null = null;
  let warned = false;
  return {
    name: 'keel:admin-meta',
    configureServer(s) {
      server = s;
    },
    transformIndexHtml(_html, ctx) {
      if (!opts.url || !opts.token || !server) return undefined;
      if (!ctx.path.startsWith('/editor/')) return undefined;
      if (!isLoopbackHost(server.config.server.host)) {
        if (!warned) server.config.logger.warn(`keel: the dev server binds ${String(server.config.server.host)}, not loopback: the editor is not handed the admin token`);
        warned = true;
        return undefined;
      }
      return [
        { tag: 'meta', attrs: { name: ADMIN_URL_META, content: opts.url }, injectTo: 'head-prepend' },
        { tag: 'meta', attrs: { name: ADMIN_TOKEN_META, content: opts.token }, injectTo: 'head-prepend' },
      ];
    },
  };
}
