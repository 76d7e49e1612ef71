/**
 * The admin channel through a real `keel serve --admin-port` and real WebSocket clients: a start
 * without a token exits 2 naming the variable; a wrong token and a foreign Origin are refused and
 * logged; the game port refuses admin messages; the world streams at 10 Hz with velocities and
 * sleep state; pause / step N / resume move the tick counter exactly as asked; a push edit changes
 * the live world (seen by a game client) without touching the file; script errors arrive with
 * entity, file and line.
 */
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_SUBPROTOCOL, adminTokenSubprotocol, type AdminServerMessage } from '../../runtime/core/index.js';
import { Bot } from '../../runtime/node/bot-client.js';
import { startKeel, stopAll, type KeelProcess } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { cleanupTemp, expectOneLineConfigError, HOST, listening, put, scene, tempDir, until, type Entity } from '../cli/util.js';

afterEach(async () => {
  await stopAll();
  await cleanupTemp();
});

const TOKEN = 'admin-token-0123456789abcdef';
const throwsLater = `export default {\n  update(ctx) {\n    if (ctx.world.tick > 30) throw new Error('kaboom from the admin test');\n  },\n};\n`;

const entities: Entity[] = [
  { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [40, 1, 40] } } },
  { id: 'box', components: { transform: { position: [0, 0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [1, 1, 1] } } },
  { id: 'faller', components: { transform: { position: [5, 30, 5] }, rigidBody: { type: 'dynamic', mass: 1 }, collider: { shape: 'sphere', radius: 0.5 } } },
  { id: 'bomb', components: { transform: { position: [0, 0, 9] }, script: { module: 'scripts/bomb.js', props: {}, modes: ['server'] } } },
];

interface AdminClient {
  ws: WebSocket;
  messages: AdminServerMessage[];
  /** Resolves with the first message from index `from` on that matches. */
  next<T extends AdminServerMessage['type']>(type: T, pred?: (m: Extract<AdminServerMessage, { type: T }>) => boolean, from?: number): Promise<Extract<AdminServerMessage, { type: T }>>;
  send(msg: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

function adminClient(url: string, opts: WebSocket.ClientOptions = {}, protocols: string[] = []): AdminClient {
  const ws = new WebSocket(url, protocols, opts);
  const messages: AdminServerMessage[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as AdminServerMessage));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  return {
    ws,
    messages,
    closed,
    next: (type, pred = () => true, from = 0) =>
      until(() => messages.slice(from).find((m) => m.type === type && pred(m as never)) as never, `an admin ${type} message`, 10_000),
    send: (msg) => ws.send(JSON.stringify(msg)),
  };
}

/** The HTTP status an upgrade was refused with. */
function refusedWith(url: string, opts: WebSocket.ClientOptions, protocols: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
  });
}

async function start(): Promise<{ proc: KeelProcess; file: string; port: number; admin: string }> {
  const dir = await tempDir();
  await put(dir, 'scripts/bomb.js', throwsLater);
  const file = await put(dir, 'admin.json', scene('admin', entities));
  const port = await freePort();
  const adminPort = await freePort();
  const proc = startKeel(['serve', file, '--host', HOST, '--port', String(port), '--admin-port', String(adminPort), '--no-watch'], { env: { SERVER_ADMIN_TOKEN: TOKEN } });
  await listening(proc);
  return { proc, file, port, admin: `ws://${HOST}:${adminPort}` };
}

describe('admin channel', () => {
  it('will not start without a token, or with a short one', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'admin.json', scene('admin', entities.slice(0, 2)));
    const port = await freePort();
    const adminPort = String(await freePort());
    const none = startKeel(['serve', file, '--port', String(port), '--admin-port', adminPort], { env: { SERVER_ADMIN_TOKEN: undefined } });
    expectOneLineConfigError(await none.exited(20_000), '--admin-port', 'SERVER_ADMIN_TOKEN');
    const short = startKeel(['serve', file, '--port', String(port), '--admin-port', adminPort], { env: { SERVER_ADMIN_TOKEN: 'short' } });
    expectOneLineConfigError(await short.exited(20_000), 'SERVER_ADMIN_TOKEN', 'at least 16 characters');
  });

  it('refuses a wrong token and a foreign Origin, and the game port refuses admin messages', async () => {
    const { proc, port, admin } = await start();
    expect(await refusedWith(admin, { headers: { Authorization: 'Bearer not-the-token-at-all' } })).toBe(401);
    expect(await refusedWith(`${admin}/?token=wrong-token-wrong-token`, {})).toBe(401);
    expect(await refusedWith(admin, { headers: { Authorization: `Bearer ${TOKEN}`, Origin: 'https://evil.example' } })).toBe(403);
    // A wrong token in a first auth message: closed with 4002.
    const late = adminClient(admin);
    await new Promise((r) => late.ws.once('open', r));
    late.send({ type: 'auth', token: 'wrong-token-wrong-token' });
    expect((await late.closed).code).toBe(4002);
    await until(() => (proc.records().filter((r) => /Admin channel: refused .*wrong admin token/.test(String(r.msg))).length === 3 ? true : undefined), 'three logged token refusals');
    expect(proc.records().some((r) => /Admin channel: refused .*Origin https:\/\/evil\.example is not allowed/.test(String(r.msg)))).toBe(true);
    // The allowed Origin with the right token gets in.
    const ok = adminClient(admin, { headers: { Origin: 'http://localhost:5173' } }, [ADMIN_SUBPROTOCOL, adminTokenSubprotocol(TOKEN)]);
    expect((await ok.next('hello')).world).toBe('admin');
    expect(ok.ws.protocol).toBe(ADMIN_SUBPROTOCOL);
    ok.ws.close();
    // The game port: an admin message is a text frame, which the game protocol refuses.
    const game = adminClient(`ws://${HOST}:${port}`);
    await new Promise((r) => game.ws.once('open', r));
    game.send({ type: 'auth', token: TOKEN });
    game.send({ type: 'pause' });
    expect((await game.closed).code).toBe(4003);
    expect(game.messages).toHaveLength(0);
  });

  it('streams the world, pauses, steps exactly N ticks, resumes, and pushes edits to the live world only', async () => {
    const { proc, file, port, admin } = await start();
    const fileBefore = await readFile(file, 'utf8');
    const c = adminClient(admin, { headers: { Authorization: `Bearer ${TOKEN}` } });
    await c.next('hello');

    // The stream: 10 frames a second by default, with velocity and sleep state for bodies.
    c.send({ type: 'subscribe', components: true });
    await until(() => (c.messages.filter((m) => m.type === 'world').length >= 12 ? true : undefined), '12 world frames');
    const frames = c.messages.filter((m): m is Extract<AdminServerMessage, { type: 'world' }> => m.type === 'world');
    const ticks = frames.map((f) => f.tick);
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!).sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeLessThanOrEqual(7); // median under 7 ticks at 60 Hz: at least ~10 frames a second
    const faller = frames.at(-1)!.entities.find((e) => e.id === 'faller')!;
    expect(faller.velocity).toHaveLength(3);
    expect(typeof faller.sleeping).toBe('boolean');
    // Components: every entity's in the first frame, then only what changed (nothing here).
    expect(frames[0]!.entities.find((e) => e.id === 'box')!.components).toMatchObject({ collider: { shape: 'box' } });
    expect(frames[0]!.entities.every((e) => e.components !== undefined)).toBe(true);
    expect(frames.at(-1)!.entities.find((e) => e.id === 'box')!.components).toBeUndefined();

    // A script error arrives with entity, file and line.
    const err = await c.next('scriptError');
    expect(err).toMatchObject({ entity: 'bomb', script: 'scripts/bomb.js', hook: 'update', message: 'kaboom from the admin test', file: 'scripts/bomb.js', line: 3 });

    // Pause: the tick holds.
    let from = c.messages.length;
    c.send({ type: 'pause' });
    const paused = await c.next('loop', (m) => m.paused, from);
    const t0 = paused.tick;
    from = c.messages.length;
    await until(() => (c.messages.slice(from).filter((m) => m.type === 'world').length >= 3 ? true : undefined), 'frames while paused');
    for (const m of c.messages.slice(from)) if (m.type === 'world') expect(m.tick).toBe(t0);

    // Step 5, then 1: exactly 6 ticks, still paused.
    from = c.messages.length;
    c.send({ type: 'step', ticks: 5 });
    expect((await c.next('loop', () => true, from)).tick).toBe(t0 + 5);
    from = c.messages.length;
    c.send({ type: 'step' });
    expect((await c.next('loop', () => true, from)).tick).toBe(t0 + 6);
    from = c.messages.length;
    await until(() => (c.messages.slice(from).filter((m) => m.type === 'world').length >= 3 ? true : undefined), 'frames after stepping');
    for (const m of c.messages.slice(from)) if (m.type === 'world') expect(m).toMatchObject({ tick: t0 + 6, paused: true });

    // Resume: ticking again.
    c.send({ type: 'resume' });
    await c.next('world', (m) => !m.paused && m.tick > t0 + 20, c.messages.length);

    // Push edit: a game client sees the box move; the file is untouched.
    const bot = new Bot({ url: `ws://${HOST}:${port}`, name: 'watcher', inputRate: 0.001 });
    await bot.start();
    await until(() => (bot.mirror.byId('box') ? true : undefined), 'the box in the mirror');
    from = c.messages.length;
    c.send({ type: 'edit', id: 7, edit: { op: 'set', entity: 'box', path: '/components/transform/position', value: [7, 0.5, 0] } });
    expect(await c.next('editResult', () => true, from)).toMatchObject({ id: 7, ok: true });
    await until(() => (Math.abs(bot.mirror.byId('box')!.position[0] - 7) < 0.01 ? true : undefined), 'the mirror to show the pushed edit');
    // The edited entity's components come again in the stream, once.
    const withBox = c.messages
      .slice(from)
      .filter((m): m is Extract<AdminServerMessage, { type: 'world' }> => m.type === 'world')
      .filter((m) => m.entities.some((e) => e.id === 'box' && e.components !== undefined));
    expect(withBox.length).toBeLessThanOrEqual(1);
    const boxAgain = withBox[0] ?? (await c.next('world', (m) => m.entities.some((e) => e.id === 'box' && e.components !== undefined), from));
    expect(boxAgain.entities.find((e) => e.id === 'box')!.components).toMatchObject({ transform: { position: [7, 0.5, 0] } });
    expect(boxAgain.entities.find((e) => e.id === 'ground')!.components).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe(fileBefore);
    // A bad edit is answered, and changes nothing.
    from = c.messages.length;
    c.send({ type: 'edit', id: 8, edit: { op: 'set', entity: 'nobody', path: '/name', value: 'x' } });
    const bad = await c.next('editResult', () => true, from);
    expect(bad).toMatchObject({ id: 8, ok: false });
    expect(bad.error).toMatch(/nobody/);

    // The physics debug view on request.
    c.send({ type: 'physics' });
    const view = await c.next('physics');
    expect(view.bodies.map((b) => b.id).sort()).toEqual(expect.arrayContaining(['box', 'faller', 'ground']));
    expect(view.bodies.find((b) => b.id === 'ground')!.type).toBe('static');

    await bot.close();
    c.ws.close();
    const exit = await proc.stop('SIGTERM', 15_000);
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
  });
});
