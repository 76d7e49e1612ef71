import { describe, expect, it } from 'vitest';
import {
  CLIENT_MALFORMED_CLOSE,
  CloseCode,
  decodeClient,
  encodeServer,
  GameClient,
  MemoryTransport,
  MessageType,
  PROTOCOL_VERSION,
  RECONNECT_BACKOFF_MS,
  type ClientMessage,
  type Connection,
  type SessionTimers,
} from '../../runtime/core/index.js';

/** A server end that records what it hears and lets the test answer by hand. */
async function listening(transport: MemoryTransport) {
  const heard: string[] = [];
  const conns: Connection[] = [];
  const messages: ClientMessage[] = [];
  await transport.listen({
    connect: (c) => void (conns.push(c), heard.push(`connect ${c.address}`)),
    message: (c, d) => void (heard.push(`message ${d.byteLength} bytes`), messages.push(decodeClient(d))),
    disconnect: (c, code, reason) => void heard.push(`disconnect ${code} ${reason}`),
  });
  return { heard, conns, messages };
}

const welcomeFor = (playerEntity: string) =>
  encodeServer({ type: MessageType.Welcome, protocol: PROTOCOL_VERSION, playerEntity, scene: 's', sceneHash: '00'.repeat(32), tickRate: 30, sendRate: 15, tick: 1 });

/** Timers the test fires by hand, and a clock it sets. */
function manualTimers() {
  const due: { at: number; run: () => void; id: number }[] = [];
  let id = 0;
  const clock = { now: 0 };
  const timers: SessionTimers = {
    set: (run, ms) => (due.push({ at: clock.now + ms, run, id: ++id }), id),
    clear: (h) => {
      const i = due.findIndex((d) => d.id === h);
      if (i >= 0) due.splice(i, 1);
    },
  };
  /** Moves the clock to `t`, running what falls due on the way, in order. */
  const advance = (t: number) => {
    for (;;) {
      due.sort((a, b) => a.at - b.at);
      const next = due[0];
      if (!next || next.at > t) break;
      due.shift();
      clock.now = next.at;
      next.run();
    }
    clock.now = t;
  };
  return { timers, clock, advance, pending: () => due.map((d) => d.at - clock.now) };
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

  it('reconnects with growing delays after a drop, numbers inputs on across the rejoin, and stays down when refused for good', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const { conns, messages } = await listening(transport);
    const { timers, clock, advance, pending } = manualTimers();
    const states: string[] = [];
    const client = new GameClient(() => transport.client(), { name: 'ada', timers, now: () => clock.now, onState: (s, r) => void states.push(`${s}${r ? ` (${r})` : ''}`) });
    client.connect();
    transport.flush();
    conns[0]!.send(welcomeFor('player-1'));
    transport.flush();
    expect(client.state).toBe('connected');
    expect(client.joins).toBe(1);
    // The first ping went out with the welcome; its pong 40 ms later gives the round trip.
    const ping = messages.find((m) => m.type === MessageType.Ping);
    expect(ping).toBeDefined();
    advance(40);
    conns[0]!.send(encodeServer({ type: MessageType.Pong, id: (ping as { id: number }).id }));
    transport.flush();
    expect(client.pingMs).toBe(40);
    // Inputs carry the two before them, so one lost message loses no input.
    for (let i = 0; i < 4; i++) client.sendInput({ seq: client.nextInputSeq(), moveX: 1, moveZ: 0, jump: false, yaw: 0 });
    transport.flush();
    const inputs = messages.filter((m) => m.type === MessageType.Input);
    expect(inputs.map((m) => m.inputs.map((i) => i.seq))).toEqual([[1], [1, 2], [1, 2, 3], [2, 3, 4]]);

    // The server goes away: the client waits about RECONNECT_BACKOFF_MS.first, then tries again,
    // and waits twice as long after a second failure.
    conns[0]!.close(1006, '');
    transport.flush();
    expect(client.state).toBe('reconnecting');
    expect(client.reason).toBe('connection lost');
    // Pings stopped with the connection: the one timer left is the retry.
    expect(pending()).toHaveLength(1);
    const first = pending()[0]!;
    expect(first).toBeGreaterThanOrEqual(RECONNECT_BACKOFF_MS.first * 0.8);
    expect(first).toBeLessThanOrEqual(RECONNECT_BACKOFF_MS.first * 1.2);
    advance(clock.now + first);
    transport.flush();
    expect(conns).toHaveLength(2);
    conns[1]!.close(1006, '');
    transport.flush();
    expect(pending()).toHaveLength(1);
    const second = pending()[0]!;
    expect(second).toBeGreaterThanOrEqual(RECONNECT_BACKOFF_MS.first * 2 * 0.8);
    expect(second).toBeLessThanOrEqual(RECONNECT_BACKOFF_MS.first * 2 * 1.2);
    advance(clock.now + second);
    transport.flush();
    expect(conns).toHaveLength(3);
    conns[2]!.send(welcomeFor('player-2'));
    transport.flush();
    expect(client.state).toBe('connected');
    expect(client.joins).toBe(2);
    expect(client.welcome?.playerEntity).toBe('player-2');
    // Numbers go on from where they were; the redundant inputs of the old connection are not resent.
    client.sendInput({ seq: client.nextInputSeq(), moveX: 0, moveZ: 1, jump: false, yaw: 0 });
    transport.flush();
    expect(messages.filter((m) => m.type === MessageType.Input).at(-1)!.inputs.map((i) => i.seq)).toEqual([5]);

    // Full: trying again would be refused the same way.
    conns[2]!.close(CloseCode.ServerFull, 'server full (2/2)');
    transport.flush();
    expect(client.state).toBe('refused');
    expect(client.reason).toBe('server full (2/2)');
    expect(pending()).toEqual([]);
    advance(clock.now + 60_000);
    transport.flush();
    expect(conns).toHaveLength(3);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting (connection lost)', 'connected', 'refused (server full (2/2))']);
  });

  it('without timers or a transport maker it makes one connection: a drop closes it', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const { conns } = await listening(transport);
    const client = new GameClient(transport.client(), { name: 'ada' });
    client.connect();
    transport.flush();
    conns[0]!.send(welcomeFor('player-1'));
    transport.flush();
    conns[0]!.close(1006, '');
    transport.flush();
    expect(client.state).toBe('closed');
    expect(client.reason).toBe('connection lost');
    client.connect();
    transport.flush();
    expect(conns).toHaveLength(1);
  });
});
