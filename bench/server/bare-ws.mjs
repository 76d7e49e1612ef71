// Baseline for memory and start time: a bare `ws` WebSocketServer on a port, nothing else.
// Usage: node bare-ws.mjs --port <port> [--host 127.0.0.1]. Exits on SIGTERM/SIGINT.
import { WebSocketServer } from 'ws';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const wss = new WebSocketServer({ port: Number(arg('--port', '7777')), host: arg('--host', '127.0.0.1') });
wss.on('connection', (ws) => ws.on('message', () => {}));
const stop = () => wss.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
