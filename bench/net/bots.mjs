#!/usr/bin/env node
/**
 * Simulated players for the network benchmark, in a process of their own so the server's CPU
 * time is its own. Every bot joins, sends random moves, jumps and look directions at 20 Hz the
 * way `keel bots` does, decodes everything it receives as a real client would, and counts the
 * bytes (WebSocket message payloads) and state messages it receives.
 *
 *   node bench/net/bots.mjs --system keel|json|colyseus --port <port> --count 50 --max-seconds <s>
 *
 *   keel      keel's own bot client (dist/runtime/node/bot-client.js): binary protocol, acks
 *             every snapshot (the ack rides on its inputs), pings twice a second.
 *   json      a `ws` client of json-server.mjs: JSON join and inputs, JSON.parse of each state.
 *   colyseus  colyseus.js joining the room "arena" of colyseus-server.mjs; inputs as room
 *             messages; the client library decodes the patches into its copy of the state.
 *
 * Output, one JSON line each on stdout:
 *   { event: 'joined', joined, count, refused: [reasons] }   once every bot has joined or failed
 *   { event: 'sample', at, bytes: [per bot], messages: [per bot], live }   on each SIGUSR2
 * Bounded: bots connect 10 ms apart, a join that takes over 10 s counts as failed, and the
 * process closes every socket and exits on SIGTERM, after --max-seconds or when the process that
 * started it is gone, whichever is first.
 */
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    system: { type: 'string' },
    port: { type: 'string' },
    count: { type: 'string', default: '50' },
    'max-seconds': { type: 'string', default: '120' },
  },
});
const count = Number(args.count);
const maxSeconds = Number(args['max-seconds']);
if (!['keel', 'json', 'colyseus'].includes(args.system ?? '') || !args.port || !(count >= 1 && count <= 1000) || !(maxSeconds > 0)) {
  process.stderr.write('usage: bots.mjs --system keel|json|colyseus --port <port> [--count 50] [--max-seconds 120]\n');
  process.exit(2);
}
const port = Number(args.port);
const INPUT_RATE = 20;
const JOIN_TIMEOUT_MS = 10_000;

/** The input pattern of keel's bot client: a new direction now and then, rare jumps, any yaw. */
function inputSource() {
  let move = [0, 0];
  let seq = 0;
  return () => {
    if (Math.random() < 0.05) move = [Math.random() * 2 - 1, Math.random() * 2 - 1];
    return { seq: ++seq, moveX: move[0], moveZ: move[1], jump: Math.random() < 0.02, yaw: Math.random() * Math.PI * 2 };
  };
}

/**
 * A bot: start() resolves once joined (or throws), stats() gives { bytes, messages, live },
 * close() disconnects.
 * @typedef {{ start(): Promise<void>, stats(): { bytes: number, messages: number, live: boolean }, close(): Promise<void> }} BenchBot
 */

/** @returns {Promise<(i: number) => BenchBot>} */
async function keelBots() {
  const { Bot } = await import(pathToFileURL(join(repo, 'dist', 'runtime', 'node', 'bot-client.js')).href);
  return (i) => {
    const bot = new Bot({ url: `ws://127.0.0.1:${port}`, name: `bot-${i + 1}`, inputRate: INPUT_RATE });
    return {
      async start() {
        await bot.start();
        if (!bot.stats.joined) throw new Error(bot.stats.refused ?? 'not joined');
      },
      stats: () => ({ bytes: bot.stats.bytesIn, messages: bot.stats.snapshots, live: bot.stats.closeCode === null, entities: bot.mirror.entities.size }),
      close: () => bot.close(),
    };
  };
}

/** @returns {Promise<(i: number) => BenchBot>} */
async function jsonBots() {
  return (i) => {
    let ws = null;
    let timer = null;
    let bytes = 0;
    let messages = 0;
    let live = false;
    let entities = 0;
    return {
      start() {
        return new Promise((resolve, reject) => {
          ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
          const next = inputSource();
          ws.on('open', () => ws.send(JSON.stringify({ t: 'join', name: `bot-${i + 1}` })));
          ws.on('message', (data) => {
            bytes += data.length;
            const msg = JSON.parse(data.toString());
            if (msg.t === 'state') {
              messages++;
              entities = msg.entities.length;
            } else if (msg.t === 'welcome') {
              live = true;
              timer = setInterval(() => {
                if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'input', ...next() }));
              }, 1000 / INPUT_RATE);
              resolve();
            }
          });
          ws.on('close', (code, reason) => {
            live = false;
            if (timer) clearInterval(timer);
            reject(new Error(`closed ${code} ${reason}`));
          });
          ws.on('error', (err) => reject(err));
        });
      },
      stats: () => ({ bytes, messages, live, entities }),
      async close() {
        if (timer) clearInterval(timer);
        if (!ws || ws.readyState === WebSocket.CLOSED) return;
        const closed = new Promise((r) => ws.once('close', r));
        ws.close(1000, 'bot done');
        await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
        ws.terminate();
      },
    };
  };
}

/** @returns {Promise<(i: number) => BenchBot>} */
async function colyseusBots() {
  const { Client } = await import('colyseus.js');
  const ROOM_STATE_PATCH = 15; // colyseus.js Protocol.ROOM_STATE_PATCH
  return (i) => {
    let room = null;
    let timer = null;
    let bytes = 0;
    let messages = 0;
    let live = false;
    return {
      async start() {
        const client = new Client(`ws://127.0.0.1:${port}`);
        room = await client.join('arena', { name: `bot-${i + 1}` });
        live = true;
        // Count what arrives on the socket, after colyseus.js has installed its own handler.
        room.connection.transport.ws.addEventListener('message', (ev) => {
          const data = ev.data;
          const n = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
          bytes += n;
          if (typeof data !== 'string' && n > 0 && new Uint8Array(data)[0] === ROOM_STATE_PATCH) messages++;
        });
        room.onLeave(() => {
          live = false;
          if (timer) clearInterval(timer);
        });
        const next = inputSource();
        timer = setInterval(() => {
          if (room.connection.isOpen) room.send('input', next());
        }, 1000 / INPUT_RATE);
      },
      stats: () => ({ bytes, messages, live, entities: room?.state?.entities?.size ?? 0 }),
      async close() {
        if (timer) clearInterval(timer);
        if (!room || !room.connection.isOpen) return;
        await Promise.race([room.leave(true).catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
      },
    };
  };
}

const make = await { keel: keelBots, json: jsonBots, colyseus: colyseusBots }[args.system]();
const bots = Array.from({ length: count }, (_, i) => make(i));
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  await Promise.race([Promise.all(bots.map((b) => b.close().catch(() => {}))), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
setTimeout(() => void shutdown(0), maxSeconds * 1000).unref();
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 1000).unref();
process.on('SIGUSR2', () => {
  const s = bots.map((b) => b.stats());
  emit({ event: 'sample', at: performance.now(), bytes: s.map((x) => x.bytes), messages: s.map((x) => x.messages), live: s.filter((x) => x.live).length, entities: Math.max(0, ...s.map((x) => x.entities ?? 0)) });
});

const refused = [];
await Promise.all(
  bots.map(async (b, i) => {
    await new Promise((r) => setTimeout(r, i * 10));
    let timer;
    try {
      await Promise.race([b.start(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('join timed out')), JOIN_TIMEOUT_MS)))]);
    } catch (err) {
      refused.push(err?.message ?? String(err));
    } finally {
      clearTimeout(timer);
    }
  }),
);
emit({ event: 'joined', joined: count - refused.length, count, refused: [...new Set(refused)] });
// Stays up, sending inputs, until SIGTERM or --max-seconds.
setInterval(() => {}, 60_000);
