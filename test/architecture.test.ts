/**
 * The dependency rule, checked rather than hoped for:
 *   cli -> runtime/node -> runtime/core <- runtime/browser <- editor/client
 * The core imports neither node:* nor the DOM nor three.js; node and browser code never import
 * each other; the server never reaches three.js, the DOM, WebGL or audio.
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { freePort } from './helpers/ports.js';
import { REPO } from './helpers/keel-process.js';

function sourceFiles(dir: string, root = REPO): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const p = join(abs, name);
    if (statSync(p).isDirectory()) return sourceFiles(relative(root, p), root);
    return /\.(ts|tsx|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [relative(root, p)] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or with import(). */
function importsOf(file: string, root = REPO): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const BROWSER_ONLY = /^(three)(\/|$)/;
const isNodeBuiltin = (spec: string) => NODE_BUILTINS.has(spec) || spec.startsWith('node:');

/**
 * The only packages runtime/core may import: it runs unchanged on the server, in the browser
 * and in the editor, so every package here must run in all three without Node or the DOM.
 * ADD NEW CORE DEPENDENCIES HERE (package name, or a package's subpath), with the reason.
 */
const CORE_PACKAGES: readonly string[] = [
  'cannon-es', // physics
  '@sinclair/typebox', // the scene schema (runtime/core/scene/schema.ts)
  'ajv', // scene validation (validate.ts)
  'ajv/dist/runtime/ucs2length.js', // helper the standalone generated validator imports
  '@dimforge/rapier3d-compat', // the Rapier physics backend (WASM inlined; runs in Node and the browser)
];

/** A rule says why an import is forbidden in a layer, or null when it is allowed. */
type Rule = (spec: string, file: string, root: string) => string | null;

const resolvesInto = (spec: string, file: string, folder: string, root: string) =>
  spec.startsWith('.') && join(root, file, '..', spec).startsWith(join(root, folder) + sep);

const CORE_RULE: Rule = (spec, file, root) => {
  if (isNodeBuiltin(spec)) return 'Node built-in';
  if (BROWSER_ONLY.test(spec)) return 'browser-only';
  if (spec.startsWith('.')) return resolvesInto(spec, file, 'runtime/core', root) ? null : 'outside the core';
  return CORE_PACKAGES.includes(spec) ? null : 'package not in the core allow-list';
};
const NODE_RULE: Rule = (spec, file, root) =>
  BROWSER_ONLY.test(spec) ? 'browser-only' : resolvesInto(spec, file, 'runtime/browser', root) ? 'browser layer' : null;
/** runtime/browser may import the core, three.js and the DOM; never the node layer or Node built-ins. */
const BROWSER_RULE: Rule = (spec, file, root) =>
  isNodeBuiltin(spec) ? 'Node built-in' : resolvesInto(spec, file, 'runtime/node', root) ? 'node layer' : null;
/** The browser apps (client/, editor/) sit on runtime/browser and the core. */
const APP_RULE: Rule = (spec, file, root) =>
  isNodeBuiltin(spec) ? 'Node built-in' : resolvesInto(spec, file, 'runtime/node', root) || resolvesInto(spec, file, 'cli', root) ? 'node side' : null;
const CLI_RULE: Rule = (spec, file, root) =>
  BROWSER_ONLY.test(spec) ? 'browser-only' : resolvesInto(spec, file, 'runtime/browser', root) || resolvesInto(spec, file, 'editor', root) ? 'browser side' : null;

function violations(dir: string, rule: Rule, root = REPO): string[] {
  return sourceFiles(dir, root).flatMap((file) => importsOf(file, root).flatMap((spec) => {
    const why = rule(spec, file, root);
    return why ? [`${file}: imports "${spec}" (${why})`] : [];
  }));
}

/** A tree laid out like the repository whose files break each rule (plain .js: never compiled). */
const FIXTURE = join(REPO, 'test/fixtures/layers');

describe('dependency rule', () => {
  it('finds the files it checks', () => {
    expect(sourceFiles('runtime/core').length).toBeGreaterThan(10);
    expect(sourceFiles('runtime/node').length).toBeGreaterThan(5);
    expect(sourceFiles('cli').length).toBeGreaterThan(2);
  });

  it('runtime/core imports no node:*, no three.js, nothing outside the core and only allow-listed packages', () => {
    expect(violations('runtime/core', CORE_RULE)).toEqual([]);
  });

  it('the core rule catches a core file importing ws, pino, node:fs, three and the node layer', () => {
    expect(violations('runtime/core', CORE_RULE, FIXTURE)).toEqual([
      'runtime/core/bad-core.js: imports "ws" (package not in the core allow-list)',
      'runtime/core/bad-core.js: imports "pino" (package not in the core allow-list)',
      'runtime/core/bad-core.js: imports "node:fs" (Node built-in)',
      'runtime/core/bad-core.js: imports "three" (browser-only)',
      'runtime/core/bad-core.js: imports "../node/server-instance.js" (outside the core)',
      'runtime/core/bad-core.js: imports "../core-extras/x.js" (outside the core)',
    ]);
  });

  it('runtime/core compiles without DOM or Node types (no window, document, process, Buffer)', () => {
    const configPath = join(REPO, 'runtime/core/tsconfig.json');
    const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, join(REPO, 'runtime/core'));
    expect(parsed.options.lib).toEqual(['lib.es2023.d.ts']);
    expect(parsed.options.types).toEqual([]);
    const diagnostics = (extra: Record<string, string>) => {
      const host = ts.createCompilerHost(parsed.options);
      const read = host.readFile.bind(host);
      host.readFile = (f) => extra[f] ?? read(f);
      const exists = host.fileExists.bind(host);
      host.fileExists = (f) => f in extra || exists(f);
      const program = ts.createProgram([...parsed.fileNames, ...Object.keys(extra)], parsed.options, host);
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    };
    expect(diagnostics({})).toEqual([]);
    // The same settings reject a core file that reaches for browser or Node globals.
    const probe = join(REPO, 'runtime/core/__probe__.ts');
    const errors = diagnostics({ [probe]: 'export const a = document.title; export const b = process.env;' });
    expect(errors.some((e) => e.includes("Cannot find name 'document'"))).toBe(true);
    expect(errors.some((e) => e.includes("Cannot find name 'process'"))).toBe(true);
  }, 60_000);

  it('runtime/node never imports runtime/browser or three.js', () => {
    expect(violations('runtime/node', NODE_RULE)).toEqual([]);
    expect(violations('runtime/node', NODE_RULE, FIXTURE)).toEqual([
      'runtime/node/bad-node.js: imports "three" (browser-only)',
      'runtime/node/bad-node.js: imports "../browser/renderer.js" (browser layer)',
    ]);
  });

  it('runtime/browser never imports runtime/node or node:* (checked on a fixture that breaks it)', () => {
    expect(violations('runtime/browser', BROWSER_RULE)).toEqual([]);
    // The core, three.js and the DOM are allowed; Node built-ins, bare or prefixed, and the node layer are not.
    expect(violations('runtime/browser', BROWSER_RULE, FIXTURE)).toEqual([
      'runtime/browser/bad-renderer.js: imports "node:fs" (Node built-in)',
      'runtime/browser/bad-renderer.js: imports "path" (Node built-in)',
      'runtime/browser/bad-renderer.js: imports "../node/server-instance.js" (node layer)',
      'runtime/browser/deep/bad-dynamic.js: imports "../../node/logger.js" (node layer)',
    ]);
  });

  it.each(['client', 'editor'])('the %s app imports runtime/browser and the core, never runtime/node, the CLI or node:*', (app) => {
    expect(sourceFiles(app).length).toBeGreaterThan(0);
    expect(violations(app, APP_RULE)).toEqual([]);
  });

  it('cli reaches only runtime/node and runtime/core, never the browser side', () => {
    expect(violations('cli', CLI_RULE)).toEqual([]);
  });
});

describe('headless server', () => {
  it('the production bundle contains no three.js, DOM or browser-layer module', () => {
    const meta = JSON.parse(readFileSync(join(REPO, 'dist/keel.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.length).toBeGreaterThan(20);
    expect(inputs.some((i) => i.includes('runtime/node/server-instance'))).toBe(true);
    expect(inputs.filter((i) => /node_modules\/(three|jsdom|happy-dom)\/|runtime\/browser\/|editor\//.test(i))).toEqual([]);
  });

  let child: ReturnType<typeof spawn> | null = null;
  afterEach(() => {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    child = null;
  });

  it('serves the arena with a resolve hook that throws on any browser-only import, and no DISPLAY', async () => {
    const port = await freePort();
    const env = { ...process.env };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    // The unbundled build, so every module goes through the hook one by one.
    child = spawn(
      process.execPath,
      ['--import', join(REPO, 'test/fixtures/register-forbid-browser.mjs'), join(REPO, 'dist/cli/keel.js'), 'serve', 'scenes/arena.json', '--port', String(port), '--log-format', 'json', '--no-watch'],
      { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no Listening line in 15 s:\n${out}`)), 15_000);
      const check = () => {
        if (out.includes('"msg":"Listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child!.stdout!.on('data', check);
      child!.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${out}`));
      });
    });
    expect(out).not.toContain('browser-only module');
  });

  it('the hook really rejects three.js', async () => {
    child = spawn(process.execPath, ['--import', join(REPO, 'test/fixtures/register-forbid-browser.mjs'), '--input-type=module', '-e', 'await import("three")'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child!.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(err).toContain('browser-only module "three"');
  });
});
