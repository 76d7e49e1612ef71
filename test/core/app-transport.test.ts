import { describe, expect, it } from 'vitest';
import {
  CLIENT_MALFORMED_CLOSE,
  encodeServer,
  GameClient,
  MemoryTransport,
  MessageType,
  PROTOCOL_VERSION,
  type Connection,
} from '../../runtime/core/index.js';

/** A server end that records what it hears and lets the test answer by hand. */
async function listening(transport: MemoryTransport) {
  const heard: string[] = [];
  const conns: Connection[] = [];
  await transport.listen({
    connect: (c) => void (conns.push(c), heard.push(`connect ${c.address}`)),
    message: (c, d) => void heard.push(`message ${d.byteLength} bytes`),
    disconnect: (c, code, reason) => void heard.push(`disconnect ${code} ${reason}`),
  });
  return { heard, conns };
}

describe('ClientTransport in memory and the GameClient over it', () => {
  it('opens, says hello, carries frames both ways in order, and closes both ends once', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const { heard, conns } = await listening(transport);
    const client = new GameClient(transport.client('probe'), { name: 'ada' });
    client.connect();
    expect(client.state).toBe('connecting');
    transport.flush();
    expect(transport.connections).toBe(1);
    expect(heard[0]).toBe('connect probe');
    expect(heard[1]).toMatch(/^message \d+ bytes$/); // the hello
    const welcome = { type: MessageType.Welcome, protocol: PROTOCOL_VERSION, playerEntity: 'player-7', scene: 's', sceneHash: '00'.repeat(32), tickRate: 30, sendRate: 15, tick: 9 } as const;
    conns[0]!.send(encodeServer(welcome));
    expect(conns[0]!.bufferedAmount).toBeGreaterThan(0);
    transport.flush();
    expect(conns[0]!.bufferedAmount).toBe(0);
    expect(client.state).toBe('connected');
    expect(client.welcome).toMatchObject({ playerEntity: 'player-7', tickRate: 30, tick: 9 });
    client.close('done here');
    transport.flush();
    expect(heard.at(-1)).toBe('disconnect 1000 done here');
    expect(client.state).toBe('closed');
    expect(client.closeCode).toBe(1000);
    expect(transport.connections).toBe(0);
  });

  it('closes with 4003 and says why when the server sends a frame it cannot decode', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const { heard, conns } = await listening(transport);
    const client = new GameClient(transport.client(), { name: 'ada' });
    client.connect();
    transport.flush();
    conns[0]!.send(new Uint8Array([0x7f, 1, 2]));
    transport.flush();
    expect(client.state).toBe('closed');
    expect(client.closeCode).toBe(CLIENT_MALFORMED_CLOSE);
    expect(client.reason).toMatch(/^malformed message from the server: /);
    expect(heard.at(-1)).toBe(`disconnect ${CLIENT_MALFORMED_CLOSE} malformed server message`);
  });

  it('refuses a snapshot before the welcome, and a client of a transport nobody listens on is closed', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const { conns } = await listening(transport);
    const early = new GameClient(transport.client(), { name: 'x' });
    early.connect();
    transport.flush();
    conns[0]!.send(encodeServer({ type: MessageType.Pong, id: 1 }));
    transport.flush();
    expect(early.state).toBe('connecting'); // a pong is harmless
    conns[0]!.send(encodeServer({ type: MessageType.Snapshot, tick: 1, baseTick: 0, inputSeq: 0, playerVelocity: [0, 0, 0], created: [], destroyed: [], changed: [] }));
    transport.flush();
    expect(early.reason).toBe('a snapshot arrived before the welcome');

    const nobody = new MemoryTransport(); // auto flush: delivered on the next microtask
    const lonely = new GameClient(nobody.client(), { name: 'y' });
    lonely.connect();
    await Promise.resolve();
    await Promise.resolve();
    expect(lonely.state).toBe('closed');
    expect(lonely.closeCode).toBe(1006);
    expect(lonely.reason).toBe('connection refused');
  });
});
