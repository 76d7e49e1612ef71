#!/usr/bin/env node
/**
 * Baseline (a) of the network benchmark: the naive way to network the same game. A plain `ws`
 * server runs the same simulation as keel (keel's compiled core: physics, scene scripts, player
 * movement; see sim-host.mjs) and, at the send rate, broadcasts the transforms of every entity
 * as JSON to every client: no deltas, no quantisation, one JSON.stringify per broadcast shared
 * by all clients.
 *
 *   node bench/net/json-server.mjs --scene <file> --port <port> [--tick-rate 60] [--send-rate 20] [--max-players 64]
 *
 * Protocol (JSON text frames):
 *   client -> server  { "t": "join", "name": "bot-1" }
 *                     { "t": "input", "seq": 1, "moveX": 0, "moveZ": 1, "jump": false, "yaw": 0 }
 *   server -> client  { "t": "welcome", "player": "player-1", "tickRate": 60, "sendRate": 20 }
 *                     { "t": "state", "tick": 123, "entities": [{ "id": "…", "p": [x, y, z], "q": [x, y, z, w] }, …] }
 *
 * Ticks at the tick rate on a setInterval with a fixed-step accumulator (at most 4 steps to catch
 * up, then the backlog is dropped). Prints "listening <port>" once ready; on SIGUSR2 prints the
 * tick and broadcast durations of the window as one JSON line (sim-host.mjs); exits on SIGTERM
 * or when the process that started it is gone.
 */
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { exitWithParent, loadScenario, onReportSignal, serverArgs, TickTimes } from './sim-host.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = serverArgs('json-server.mjs');
const { tickRate, sendRate, maxPlayers } = args;
const STEP_MS = 1000 / tickRate;
const MAX_CATCH_UP = 4;

const { sim, players } = await loadScenario(repo, args.scene);
const times = new TickTimes();
let bytesOut = 0;

/** @type {Map<import('ws').WebSocket, { player: any }>} */
const clients = new Map();

// Broadcast in the tick's replication phase at the send rate, as keel does.
let sendCredit = 0;
sim.addSystem('replicationOut', 'json-broadcast', ({ tick }) => {
  sendCredit += sendRate / tickRate;
  if (sendCredit < 1) return;
  sendCredit -= 1;
  const t0 = performance.now();
  const entities = [];
  for (const e of sim.world.values()) entities.push({ id: e.id, p: e.position, q: e.rotation });
  const text = JSON.stringify({ t: 'state', tick, entities });
  for (const [ws, c] of clients) {
    if (!c.player) continue;
    ws.send(text);
    bytesOut += Buffer.byteLength(text);
  }
  times.record('send', performance.now() - t0);
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(args.port), perMessageDeflate: false, maxPayload: 1024 });
wss.on('connection', (ws) => {
  const c = { player: null };
  clients.set(ws, c);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'text frames only');
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return ws.close(1007, 'bad JSON');
    }
    if (msg?.t === 'join' && !c.player) {
      if (players.count >= maxPlayers) return ws.close(4001, 'server full');
      c.player = players.join(String(msg.name ?? '').slice(0, 32));
      ws.send(JSON.stringify({ t: 'welcome', player: c.player.entityId, tickRate, sendRate }));
    } else if (msg?.t === 'input' && c.player) {
      const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      players.enqueue(c.player, [{ seq: n(msg.seq), moveX: n(msg.moveX), moveZ: n(msg.moveZ), jump: msg.jump === true, yaw: n(msg.yaw) }]);
    }
  });
  ws.on('close', () => {
    clients.delete(ws);
    if (c.player) players.leave(c.player);
  });
  ws.on('error', () => ws.terminate());
});
await new Promise((resolve, reject) => {
  wss.once('listening', resolve);
  wss.once('error', reject);
});

let tickNumber = 0;
let last = performance.now();
let backlog = 0;
let dropped = 0;
const loop = setInterval(() => {
  const now = performance.now();
  backlog += now - last;
  last = now;
  for (let steps = 0; backlog >= STEP_MS && steps < MAX_CATCH_UP; steps++) {
    const t0 = performance.now();
    sim.tick(STEP_MS / 1000, tickNumber++);
    times.record('tick', performance.now() - t0);
    backlog -= STEP_MS;
  }
  if (backlog >= STEP_MS) {
    dropped += Math.floor(backlog / STEP_MS);
    backlog %= STEP_MS;
  }
}, STEP_MS);

onReportSignal(times, () => ({ ticks: tickNumber, dropped, bytesOut, players: players.count, entities: sim.world.size }));
process.stdout.write(`listening ${args.port}\n`);
exitWithParent();

const stop = () => {
  clearInterval(loop);
  for (const ws of clients.keys()) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
