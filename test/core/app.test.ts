import { describe, expect, it } from 'vitest';
import {
  App,
  CLIENT_NET,
  clientPlugins,
  corePlugins,
  editorPlayPlugins,
  GameClient,
  GameSession,
  localPlayPlugins,
  LOCAL_PLAYER,
  MemoryTransport,
  PhysicsPlugin,
  PLAYERS,
  predictionScene,
  PlayersPlugin,
  RunMode,
  SCENE_INFO,
  serverPlugins,
  withResource,
  type AppPart,
  type InputSampler,
  type Plugin,
  type SceneDocument,
} from '../../runtime/core/index.js';
import { loadScene, recordingLogger } from './helpers.js';

const DT = 1 / 60;
const HASH = 'ab'.repeat(32);

const ground = { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, collider: { shape: 'box', size: [40, 1, 40] } } };
const crate = { id: 'crate', components: { transform: { position: [3, 4, 0] }, rigidBody: { type: 'dynamic' }, collider: { shape: 'box', size: [1, 1, 1] } } };
const spawn = { id: 'spawn', components: { transform: { position: [0, 1, 0] }, spawnPoint: {} } };
const arena = (): SceneDocument => loadScene([ground, crate, spawn]);

/** Walks along +X at full speed. */
const walkX: InputSampler = { sample: (seq) => ({ seq, moveX: 1, moveZ: 0, jump: false, yaw: 0 }) };

function session(): GameSession {
  return new GameSession({
    log: recordingLogger(),
    maxPlayers: 4,
    tickRate: 60,
    sendRate: 30,
    timers: { set: (run, ms) => setTimeout(run, ms), clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
  });
}

function serverApp(s: GameSession, scene = arena()): App {
  return new App({
    name: 'server',
    simulation: { scene, mode: RunMode.Server, logger: recordingLogger() },
    plugins: [serverPlugins(s)],
    resources: [withResource(SCENE_INFO, { name: scene.name, hash: HASH })],
  });
}

describe('App: the three run modes as lists of plugins', () => {
  it('the server composition lists its systems phase by phase in run order', () => {
    const s = session();
    const app = serverApp(s);
    expect(app.plugins).toEqual(['physics', 'scripts', 'players', 'server-net']);
    expect(app.describe()).toBe(
      [
        'app server: physics, scripts, players, server-net',
        '  networkIn: player-input (players)',
        '  physics: physics-step (physics)',
        '  scripts: scripts (scripts)',
        '  replicationOut: snapshots (server-net)',
      ].join('\n'),
    );
    app.dispose();
  });

  it('the local client composition samples its input before the controller applies it', () => {
    const app = new App({ name: 'client (local)', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins: [localPlayPlugins(walkX)] });
    expect(app.describe()).toBe(
      [
        'app client (local): physics, scripts, players, local-player',
        '  networkIn: local-input (local-player), player-input (players)',
        '  physics: physics-step (physics)',
        '  scripts: scripts (scripts)',
        '  replicationOut: -',
      ].join('\n'),
    );
    app.dispose();
  });

  it('the connected client and the editor compositions list their systems', () => {
    const transport = new MemoryTransport();
    const client = new App({ name: 'client (connected)', simulation: { scene: predictionScene(arena()), mode: RunMode.Client, logger: recordingLogger() }, plugins: [clientPlugins(new GameClient(transport.client(), { name: 'c' }), walkX)] });
    expect(client.describe()).toBe(
      [
        'app client (connected): physics, players, client-net, prediction',
        '  networkIn: snapshots-in (client-net), local-input (prediction), player-input (players)',
        '  physics: physics-step (physics)',
        '  scripts: -',
        '  replicationOut: inputs-out (prediction), acks-out (client-net)',
      ].join('\n'),
    );
    client.dispose();
    const editor = new App({ name: 'editor (play)', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins: [editorPlayPlugins] });
    expect(editor.describe()).toBe(['app editor (play): physics, scripts', '  networkIn: -', '  physics: physics-step (physics)', '  scripts: scripts (scripts)', '  replicationOut: -'].join('\n'));
    editor.dispose();
  });

  it('a simulation without plugins does not move: physics is a part, not a given', () => {
    const bare = new App({ name: 'bare', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins: [] });
    const withPhysics = new App({ name: 'core', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins: [corePlugins] });
    for (let n = 1; n <= 30; n++) {
      bare.tick(DT, n);
      withPhysics.tick(DT, n);
    }
    expect(bare.sim.world.get('crate')!.position[1]).toBe(4);
    expect(withPhysics.sim.world.get('crate')!.position[1]).toBeLessThan(3.5);
    bare.dispose();
    withPhysics.dispose();
  });

  it("a custom plugin's system runs in its phase, with its resources and hooks", () => {
    const seen: string[] = [];
    const probe: Plugin = {
      name: 'probe',
      build(app) {
        const players = app.get(PLAYERS);
        app.onStartup(() => void seen.push('startup'));
        app.onTeardown(() => void seen.push('teardown'));
        // Between the physics step and the scripts: the crate has moved this tick.
        app.addSystem('scripts', 'probe', ({ tick, sim }) => void seen.push(`${tick}:probe players=${players.count} y<4=${sim.world.get('crate')!.position[1] < 4}`), { before: 'scripts' });
      },
    };
    const app = new App({ name: 'custom', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins: [localPlayPlugins(walkX), probe] });
    expect(app.systems().filter((x) => x.phase === 'scripts')).toEqual([
      { phase: 'scripts', name: 'probe', plugin: 'probe' },
      { phase: 'scripts', name: 'scripts', plugin: 'scripts' },
    ]);
    app.tick(DT, 1);
    app.tick(DT, 2);
    app.dispose();
    expect(seen).toEqual(['startup', '1:probe players=1 y<4=true', '2:probe players=1 y<4=true', 'teardown']);
    // The local player walked along +X through the shared controller.
    expect(app.get(LOCAL_PLAYER).lastInput?.seq).toBe(2);
  });

  it('refuses a plugin listed twice, a system name taken, and a missing resource, naming them', () => {
    const make = (plugins: readonly AppPart[]) =>
      new App({ name: 'bad', simulation: { scene: arena(), mode: RunMode.Client, logger: recordingLogger() }, plugins });
    expect(() => make([corePlugins, PhysicsPlugin])).toThrow('app "bad": plugin "physics" is listed twice (physics, scripts, physics); each plugin may appear once');
    const thief: Plugin = { name: 'thief', build: (app) => app.addSystem('physics', 'physics-step', () => {}) };
    expect(() => make([corePlugins, thief])).toThrow('plugin "thief" adds system "physics-step", which plugin "physics" already added');
    expect(() => make([PhysicsPlugin, { name: 'needy', build: (app) => void app.get(PLAYERS) }])).toThrow('plugin "needy" needs resource "players"; add the plugin that provides it earlier in the list (so far: physics)');
    expect(() => make([{ name: 'early', build: (app) => app.addSystem('networkIn', 'x', () => {}, { before: 'player-input' }) }, PlayersPlugin])).toThrow(
      'system "x" is to run before "player-input", which is not in phase networkIn (empty)',
    );
  });

  it('a client app and a server app joined by the in-memory transport exchange welcome and snapshots', async () => {
    const transport = new MemoryTransport({ autoFlush: false });
    const s = session();
    await transport.listen({ connect: (c) => s.connect(c), message: (c, d, b) => s.message(c, d, b), disconnect: (c, code, r) => s.disconnect(c, code, r) });
    const server = serverApp(s);
    server.start();
    const net = new GameClient(transport.client(), { name: 'ada' });
    const client = new App({ name: 'client (connected)', simulation: { scene: predictionScene(arena()), mode: RunMode.Client, logger: recordingLogger() }, plugins: [clientPlugins(net, walkX)] });
    client.start();
    expect(client.get(CLIENT_NET)).toBe(net);
    transport.flush();
    expect(net.reason).toBeNull();
    expect(net.state).toBe('connected');
    expect(net.welcome).toMatchObject({ playerEntity: 'player-1', scene: server.sim.scene.name, sceneHash: HASH, tickRate: 60, sendRate: 30 });
    expect(server.get(PLAYERS).count).toBe(1);

    // Both sides tick in step; frames cross between ticks.
    for (let n = 1; n <= 60; n++) {
      client.tick(DT, n);
      transport.flush();
      server.tick(DT, n);
      transport.flush();
    }
    expect(net.snapshots).toBeGreaterThan(20);
    // The server moved the client's player by the inputs it sent, and the client sees it in its mirror.
    const onServer = server.sim.world.get('player-1')!.position;
    expect(onServer[0]).toBeGreaterThan(2);
    const mirrored = net.mirror.byId('player-1')!;
    expect(mirrored.position[0]).toBeGreaterThan(2);
    expect(Math.abs(mirrored.position[0] - onServer[0])).toBeLessThan(0.5);
    expect(net.mirror.byId('crate')).toBeDefined();
    // The client predicted its own player locally through the same controller.
    const predicted = client.sim.world.get(client.get(LOCAL_PLAYER).player!.entityId)!.position;
    expect(Math.abs(predicted[0] - onServer[0])).toBeLessThan(0.5);

    // A scene change goes out on the tick that applies it, not at the next send tick: at 30 Hz
    // of 60, right after a send the next tick would send nothing.
    let n = 61;
    // Server first, so the client counts what the server sent in the same step.
    const step = () => {
      server.tick(DT, n);
      transport.flush();
      client.tick(DT, n++);
      transport.flush();
    };
    step(); // takes in what the earlier loop's last server tick sent
    for (let before = net.snapshots, i = 0; net.snapshots === before && i < 4; i++) step();
    const sent = net.snapshots;
    step();
    expect(net.snapshots).toBe(sent); // the regular schedule: every other tick
    step();
    expect(net.snapshots).toBe(sent + 1);
    s.sceneChanged({ name: server.sim.scene.name, hash: HASH });
    step();
    expect(net.snapshots).toBe(sent + 2);

    client.dispose();
    transport.flush();
    // The app does not own its connection: a new scene version gets a new app over the same one.
    expect(net.state).toBe('connected');
    expect(server.get(PLAYERS).count).toBe(1);
    net.close();
    transport.flush();
    expect(server.get(PLAYERS).count).toBe(0);
    expect(net.state).toBe('closed');
    server.dispose();
  });
});
