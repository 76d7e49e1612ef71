#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { packageRoot, packageVersion } from './package-root.js';
import { serve } from './serve.js';
import { validate } from './validate.js';
import { probe } from './health.js';
import { runBots } from './bots.js';
import { fleet } from './fleet.js';
import { FLEET_OPTIONS, FLEET_SERVE_OPTIONS } from '../runtime/node/fleet/fleet-config.js';
import { SERVE_OPTIONS } from '../runtime/node/config.js';
import { EXIT } from '../runtime/node/exit-codes.js';


const program = new Command('keel')
  .description('keel: scenes, a headless dedicated server and tools')
  .version(packageVersion())
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride();

const serveCmd = program
  .command('serve')
  .description('run a scene headless as a dedicated server')
  .argument('[scene]', 'scene file (.json); relative paths resolve against --assets/ASSET_PATH when set (env: SERVER_SCENE)');
for (const spec of SERVE_OPTIONS) {
  // No commander defaults: precedence flag > env > scene > default is resolved in config.ts,
  // which must know whether a value came from the command line.
  const opt = new Option(spec.flag, `${spec.description} (env: ${spec.env}; default: ${spec.defaultText})`);
  serveCmd.addOption(opt);
}
serveCmd.action(async (scene: string | undefined, _opts, cmd: Command) => {
  const flags: Record<string, string> = {};
  for (const spec of SERVE_OPTIONS) {
    if (cmd.getOptionValueSource(spec.key) !== 'cli') continue;
    const v = cmd.getOptionValue(spec.key) as unknown;
    flags[spec.key] = typeof v === 'boolean' ? String(v) : String(v);
  }
  process.exitCode = await serve({ scene, flags, env: process.env, cwd: process.cwd() });
});

const fleetCmd = program
  .command('fleet')
  .description('run several instances of a scene on consecutive ports, supervised, with a status listener and a live table')
  .argument('[scene]', 'scene file (.json), as for keel serve (env: SERVER_SCENE)');
for (const spec of FLEET_OPTIONS) fleetCmd.addOption(new Option(spec.flag, `${spec.description} (env: ${spec.env}; default: ${spec.defaultText})`));
// Every serve option but those the fleet sets per instance, passed to each instance.
for (const spec of FLEET_SERVE_OPTIONS) fleetCmd.addOption(new Option(spec.flag, `each instance: ${spec.description} (env: ${spec.env}; default: ${spec.defaultText})`));
fleetCmd.action(async (scene: string | undefined, _opts, cmd: Command) => {
  const fromCli = (key: string) => (cmd.getOptionValueSource(key) === 'cli' ? String(cmd.getOptionValue(key) as unknown) : undefined);
  const flags: Record<string, string> = {};
  const serveFlags: Record<string, string> = {};
  for (const spec of FLEET_OPTIONS) if (fromCli(spec.key) !== undefined) flags[spec.key] = fromCli(spec.key)!;
  for (const spec of FLEET_SERVE_OPTIONS) if (fromCli(spec.key) !== undefined) serveFlags[spec.key] = fromCli(spec.key)!;
  process.exitCode = await fleet({ scene, flags, serveFlags, env: process.env, cwd: process.cwd(), entry: process.argv[1]! });
});

program
  .command('validate')
  .description('check scene files against the format and their referenced files; exit 1 if any is invalid')
  .argument('<scenes...>', 'scene files')
  .option('--assets <dir>', "asset root for every scene (env: ASSET_PATH; default: each scene file's folder)")
  .option('--import-scripts', 'import the scene scripts as the server does, which runs their top-level code (default: parse them only)')
  .action(async (files: string[], opts: { assets?: string; importScripts?: boolean }) => {
    process.exitCode = await validate(files, process.cwd(), opts.assets ?? process.env.ASSET_PATH, { importScripts: opts.importScripts === true });
  });

program
  .command('fmt')
  .description('rewrite scene files in canonical form (stable key order, defaults kept, vectors on one line); --check lists those that are not and exits 1')
  .argument('<scenes...>', 'scene files')
  .option('--check', 'change nothing; exit 1 listing every file that is not canonical')
  .action(async (files: string[], opts: { check?: boolean }) => {
    // Loaded on use: the canonical writer reads the schema definition, which `serve` never needs.
    const { fmt } = await import('./fmt.js');
    process.exitCode = await fmt(files, process.cwd(), { check: opts.check === true });
  });

program
  .command('edit')
  .description('open the scene editor for a folder of scenes: starts the dev server on 127.0.0.1 and prints the editor address')
  .argument('[scenes-dir]', 'folder of scene files (env: KEEL_SCENES_DIR; default: ./scenes)')
  .option('--port <port>', 'dev server port (env: KEEL_WEB_PORT; default: 5173)')
  .action(async (dir: string | undefined, opts: { port?: string }) => {
    const { edit } = await import('./edit.js');
    process.exitCode = await edit({ scenesDir: dir, port: opts.port, env: process.env, cwd: process.cwd() });
  });

program
  .command('schema')
  .description('print the scene JSON Schema, or write it with --out')
  .option('--out <file>', 'write to this file instead of stdout')
  .action(async (opts: { out?: string }) => {
    // The published file is generated from the schema definition and kept current by a test.
    const text = await readFile(join(packageRoot(), 'scenes', 'keel-scene.schema.json'), 'utf8');
    if (opts.out) await writeFile(resolve(opts.out), text);
    else process.stdout.write(text);
  });

program
  .command('bots')
  .description('connect simulated players to a server, move them randomly, and print a summary')
  .option('--url <url>', 'server game URL', 'ws://127.0.0.1:7777')
  .option('--count <n>', 'number of bots', '10')
  .option('--duration <s>', 'seconds to play', '30')
  .option('--join-secret <secret>', 'mint join tokens with this secret (env: SERVER_JOIN_SECRET)')
  .action(async (opts: { url: string; count: string; duration: string; joinSecret?: string }) => {
    const joinSecret = opts.joinSecret ?? process.env.SERVER_JOIN_SECRET;
    process.exitCode = await runBots({ ...opts, ...(joinSecret ? { joinSecret } : {}) });
  });

program
  .command('health')
  .description('probe a running instance (for container HEALTHCHECKs without curl): exit 0 when healthy, 1 otherwise')
  .argument('[endpoint]', 'livez, readyz or healthz', 'livez')
  .option('--url <url>', 'full URL to probe instead (default: http://127.0.0.1:$SERVER_HEALTH_PORT/<endpoint>)')
  .option('--timeout-ms <ms>', 'give up after this long', '2000')
  .action(async (endpoint: string, opts: { url?: string; timeoutMs: string }) => {
    process.exitCode = await probe(endpoint, opts, process.env);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; usage errors (unknown flag, missing argument) exit 2.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.config;
  } else {
    process.stderr.write(`keel: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT.error;
  }
}
