// `npm start`: the development stack in one command. It starts the headless server on a scene
// (`keel serve`, a child process) and the Vite dev server for the browser apps (in this
// process), prints where to open them, and on Ctrl-C stops the server by its PID and closes
// Vite. `keel serve` alone stays the production command.
//
//   node scripts/dev.mjs [scene]        default scenes/arena.json
//   SERVER_PORT   game port (default 7777)      KEEL_WEB_PORT  dev server port (default 5173)
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('../', import.meta.url));
const sceneFile = process.argv[2] ?? 'scenes/arena.json';
const scene = basename(sceneFile).replace(/\.json$/, '');
const gamePort = Number(process.env.SERVER_PORT ?? 7777);
const webPort = Number(process.env.KEEL_WEB_PORT ?? 5173);
for (const [name, v] of [['SERVER_PORT', gamePort], ['KEEL_WEB_PORT', webPort]]) {
  if (!Number.isInteger(v) || v < 1 || v > 65535) {
    process.stderr.write(`${name} must be a port number 1-65535 (got ${process.env[name]})\n`);
    process.exit(2);
  }
}

const server = spawn(process.execPath, [fileURLToPath(new URL('../dist/keel.mjs', import.meta.url)), 'serve', sceneFile, '--port', String(gamePort), '--host', '127.0.0.1'], {
  cwd: root,
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
