// `npm start`: the development stack in one command. It starts the headless server on a scene
// (`keel serve`, a child process, with its admin channel on 127.0.0.1 under a fresh random
// token) and the Vite dev server for the browser apps (in this process), which hands the editor
// page that admin address and token so Attach needs no typing. It prints where to open them, and
// on Ctrl-C stops the server by its PID and closes Vite. `keel serve` alone stays the production
// command.
//
//   node scripts/dev.mjs [scene]        default scenes/arena.json
//   SERVER_PORT   game port (default 7777)      KEEL_WEB_PORT  dev server port (default 5173)
//   SERVER_ADMIN_PORT  admin channel port (default 7780; 0: off)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../', import.meta.url));
const sceneFile = process.argv[2] ?? 'scenes/arena.json';
const scene = basename(sceneFile).replace(/\.json$/, '');
const gamePort = Number(process.env.SERVER_PORT ?? 7777);
const webPort = Number(process.env.KEEL_WEB_PORT ?? 5173);
const adminPort = Number(process.env.SERVER_ADMIN_PORT || 7780);
for (const [name, v, min] of [['SERVER_PORT', gamePort, 1], ['KEEL_WEB_PORT', webPort, 1], ['SERVER_ADMIN_PORT', adminPort, 0]]) {
  if (!Number.isInteger(v) || v < min || v > 65535) {
    process.stderr.write(`${name} must be a port number ${min}-65535 (got ${process.env[name]})\n`);
    process.exit(2);
  }
}
if (adminPort !== 0 && (adminPort === gamePort || adminPort === webPort)) {
  process.stderr.write(`SERVER_ADMIN_PORT (${adminPort}) must differ from the game and dev server ports\n`);
  process.exit(2);
}

// A fresh token each start; it travels in the child's environment (not its command line, which
// every user of the machine can read) and in the editor page's <meta>, nowhere else.
const adminToken = randomBytes(24).toString('base64url');
const adminUrl = `ws://127.0.0.1:${adminPort}`;
const serveArgs = ['serve', sceneFile, '--port', String(gamePort), '--host', '127.0.0.1'];
const serveEnv = { ...process.env };
delete serveEnv.SERVER_ADMIN_TOKEN;
if (adminPort !== 0) {
  serveArgs.push('--admin-port', String(adminPort), '--admin-host', '127.0.0.1', '--admin-origin', `http://127.0.0.1:${webPort},http://localhost:${webPort}`);
  serveEnv.SERVER_ADMIN_TOKEN = adminToken;
  // Read by vite.config.ts (runtime/node/dev/admin-meta-plugin.ts) for the editor page.
  process.env.KEEL_ADMIN_URL = adminUrl;
  process.env.KEEL_ADMIN_TOKEN = adminToken;
} else {
  delete process.env.KEEL_ADMIN_URL;
  delete process.env.KEEL_ADMIN_TOKEN;
}

const server = spawn(process.execPath, [fileURLToPath(new URL('../dist/keel.mjs', import.meta.url)), ...serveArgs], {
  cwd: root,
  env: serveEnv,
  stdio: ['ignore', 'inherit', 'inherit'],
});
let stopping = false;
let vite = null;

server.on('exit', (code, signal) => {
  if (stopping) return;
  process.stderr.write(`keel serve exited (${signal ?? `code ${code}`}); stopping the dev server\n`);
  void shutdown(code === 0 ? 1 : (code ?? 1));
});

try {
  vite = await createServer({ root, configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)), server: { port: webPort, host: '127.0.0.1', strictPort: true } });
  await vite.listen();
} catch (err) {
  process.stderr.write(`dev server failed to start: ${err.message}\n`);
  await shutdown(1);
}

const web = `http://127.0.0.1:${webPort}`;
const ws = `ws://127.0.0.1:${gamePort}`;
process.stdout.write(
  [
    '',
    'keel development stack (Ctrl-C stops both)',
    `  Server  ${ws}  (keel serve ${sceneFile}, pid ${server.pid})`,
    adminPort !== 0 ? `  Admin   ${adminUrl}  (live view; the editor's Attach offers it, token handed to the editor page only)` : '  Admin   off (SERVER_ADMIN_PORT=0)',
    `  Client  ${web}/client/?scene=${scene}&server=${ws}`,
    `  Local   ${web}/client/?scene=${scene}   (plays the scene in the page, no server)`,
    `  Editor  ${web}/editor/?scene=${scene}`,
    '',
  ].join('\n') + '\n',
);

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const exited = server.exitCode !== null || server.signalCode !== null ? Promise.resolve() : new Promise((r) => server.once('exit', r));
  if (server.pid && server.exitCode === null && server.signalCode === null) process.kill(server.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (server.pid && server.exitCode === null) process.kill(server.pid, 'SIGKILL');
  }, 5000);
  await Promise.all([exited, vite?.close()]);
  clearTimeout(timer);
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
