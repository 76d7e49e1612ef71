/**
 * TCP connections to the game port that never become WebSockets (silent, or a partial HTTP
 * request trickled in) are dropped after the upgrade timeout (5 s) instead of holding a file
 * descriptor for minutes; real clients connect as before and plain HTTP gets 426.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { encodeClient, MessageType, PROTOCOL_VERSION } from '../../runtime/core/index.js';
import { stopAll } from '../helpers/keel-process.js';
import { HOST, raw, serve, within } from './util.js';

const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stopAll();
});

/** A TCP connection to `port`; resolves once connected, with a promise of when the server closes it. */
function tcp(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    sockets.push(socket);
    const t0 = Date.now();
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - t0)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('connections that never upgrade', () => {
  it('a silent socket and a partial request are dropped within seconds; a real client still joins', async () => {
    const { url, port } = await serve('scenes/arena.json', ['--no-watch']);
    const silent = await tcp(port);
    const partial = await tcp(port);
    partial.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    // The limit is 5 s; 20 s leaves room for a loaded machine and is far below the 300 s they used to stay.
    const [silentMs, partialMs] = await within(Promise.all([silent.closed, partial.closed]), 20_000, 'the server to drop both sockets');
    expect(silentMs).toBeGreaterThanOrEqual(4000);
    expect(partialMs).toBeGreaterThanOrEqual(4000);
    // Plain HTTP is answered, not held.
    const res = await fetch(`http://${HOST}:${port}/`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(426);
    // And a WebSocket client is unaffected.
    const client = await raw(url);
    client.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: 'after' }));
    await within(
      new Promise<void>((r) => {
        const poll = setInterval(() => client.frames.length > 0 && (clearInterval(poll), r()), 20);
      }),
      10_000,
      'a welcome',
    );
    expect(client.frames[0]![0]).toBe(MessageType.Welcome);
    client.ws.close();
  }, 40_000);
});
