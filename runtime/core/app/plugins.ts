import { quatFromEulerDeg } from '../math/vec.js';
import type { PlayerInput } from '../protocol/messages.js';
import type { ClientTransport } from '../net/client-transport.js';
import { GameClient, type GameClientOptions } from '../net/game-client.js';
import type { GameSession } from '../net/game-session.js';
import { Players, type Player } from '../net/players.js';
import { pluginGroup, resourceKey, type Plugin, type PluginGroup } from './app.js';

/** The players of an app (`PlayersPlugin`): join, leave, queue inputs. */
export const PLAYERS = resourceKey<Players>('players');

/** The player this app's user controls (`LocalPlayerPlugin`), and the input it applied last. */
export interface LocalPlayer {
  /** Spawned when the app starts; null before. */
  player: Player | null;
  /** The input sampled for the tick that ran last, or null before the first. */
  lastInput: PlayerInput | null;
}
export const LOCAL_PLAYER = resourceKey<LocalPlayer>('local player');

/** The protocol client of an app joined to a server (`ClientNetPlugin`). */
export const CLIENT_NET = resourceKey<GameClient>('client net');

/** Which scene the server app runs, as its welcome and scene changes name it. */
export interface SceneInfo {
  name: string;
  hash: string;
}
export const SCENE_INFO = resourceKey<SceneInfo>('scene info');

/** Where a local player's intent comes from each tick: the page's keyboard and mouse, a test's script. */
export interface InputSampler {
  /** The input for the next tick, numbered `seq`. */
  sample(seq: number): PlayerInput;
}

/** `physics-step` (physics phase): steps the bodies, copies the poses that moved into the world. */
export const PhysicsPlugin: Plugin = {
  name: 'physics',
  build(app) {
    const { sim } = app;
    app.addSystem('physics', 'physics-step', ({ dt }) => sim.stepPhysics(dt));
  },
};

/** `scripts` (scripts phase): the scene's scripts of the simulation's run mode, collisions first. */
export const ScriptsPlugin: Plugin = {
  name: 'scripts',
  build(app) {
    const { sim } = app;
    app.addSystem('scripts', 'scripts', ({ dt }) => sim.runScripts(dt));
  },
};

/**
 * The player controller (`player-input`, networkIn) and spawning: players join as bodies at the
 * scene's spawn points and move by their queued inputs, the same code on server and client.
 */
export const PlayersPlugin: Plugin = {
  name: 'players',
  build(app) {
    const players = new Players(app.sim, { attach: false });
    app.insert(PLAYERS, players);
    app.addSystem('networkIn', 'player-input', () => players.step());
  },
};

/**
 * The user's own player (`local-input`, networkIn, before `player-input`): spawned at startup,
 * and each tick one input sampled from `input` is queued for it.
 */
export function LocalPlayerPlugin(input: InputSampler, name = 'you'): Plugin {
  return {
    name: 'local-player',
    build(app) {
      const players = app.get(PLAYERS);
      const local: LocalPlayer = { player: null, lastInput: null };
      let seq = 0;
      app.insert(LOCAL_PLAYER, local);
      app.onStartup(() => {
        local.player = players.join(name);
      });
      app.addSystem(
        'networkIn',
        'local-input',
        () => {
          if (!local.player) return;
          const sampled = input.sample(++seq);
          local.lastInput = sampled;
          players.enqueue(local.player, [sampled]);
        },
        { before: 'player-input' },
      );
    },
  };
}

/**
 * The server's network side over its `GameSession` (which the transport feeds: handshakes,
 * joins, inputs queued for `player-input`): the session binds to this app's simulation and
 * players when the app starts, and `snapshots` (replicationOut) sends each client its delta at
 * the send rate. Needs `SCENE_INFO` from the app's maker and `PlayersPlugin` before it.
 */
export function ServerNetPlugin(session: GameSession): Plugin {
  return {
    name: 'server-net',
    build(app) {
      const players = app.get(PLAYERS);
      const scene = app.get(SCENE_INFO);
      const { sim } = app;
      app.onStartup(() => session.attach(sim, players, scene));
      app.addSystem('replicationOut', 'snapshots', ({ tick }) => session.replicate(sim, tick));
    },
  };
}

/**
 * A client's network side over a `ClientTransport`: connects at startup; `snapshots-in`
 * (networkIn, first) applies the snapshots received since the last tick to the mirror of the
 * server's world and, on the first one that shows the own player, puts the local player (when
 * there is one) where the server has it; `inputs-out` (replicationOut) sends the tick's input
 * with the ack, or the ack alone. Closes at teardown.
 */
export function ClientNetPlugin(transport: ClientTransport, opts: GameClientOptions): Plugin {
  return {
    name: 'client-net',
    build(app) {
      const client = new GameClient(transport, opts);
      const { sim } = app;
      const local = app.has(LOCAL_PLAYER) ? app.get(LOCAL_PLAYER) : null;
      let placedFor: unknown = null;
      app.insert(CLIENT_NET, client);
      app.onStartup(() => client.connect());
      app.onTeardown(() => client.close());
      const receive = () => {
        if (client.receive() === 0 || !local?.player || !client.welcome || placedFor === client.welcome) return;
        const own = client.mirror.byId(client.welcome.playerEntity);
        if (!own || !sim.physics.hasBody(local.player.entityId)) return;
        // The prediction starts from the server's position (once per welcome).
        placedFor = client.welcome;
        const p: [number, number, number] = [own.position[0], own.position[1], own.position[2]];
        sim.physics.setTransform(local.player.entityId, p, quatFromEulerDeg([0, 0, 0]));
        sim.physics.setLinearVelocity(local.player.entityId, [0, 0, 0]);
        const e = sim.world.get(local.player.entityId);
        if (e) sim.world.setPose(e, p);
      };
      const first = sim.systems().find((s) => s.phase === 'networkIn');
      app.addSystem('networkIn', 'snapshots-in', receive, first ? { before: first.name } : {});
      app.addSystem('replicationOut', 'inputs-out', () => client.send(local?.lastInput ? [local.lastInput] : []));
    },
  };
}

/** Physics and scripts: what every simulating run mode shares. */
export const corePlugins: PluginGroup = pluginGroup('core', [PhysicsPlugin, ScriptsPlugin]);

/** The dedicated server: the core, the player controller, and the network over `session`. */
export function serverPlugins(session: GameSession): PluginGroup {
  return pluginGroup('server', [corePlugins, PlayersPlugin, ServerNetPlugin(session)]);
}

/** A local play-test: the core and the user's own player, no network. */
export function localPlayPlugins(input: InputSampler, name?: string): PluginGroup {
  return pluginGroup('local-play', [corePlugins, PlayersPlugin, LocalPlayerPlugin(input, name)]);
}

/**
 * A client joined to a server over `transport`: the own player predicted through the same
 * physics and controller (scripts are the server's), inputs out, snapshots in.
 */
export function clientPlugins(transport: ClientTransport, input: InputSampler, opts: GameClientOptions): PluginGroup {
  return pluginGroup('client', [PhysicsPlugin, PlayersPlugin, LocalPlayerPlugin(input, opts.name), ClientNetPlugin(transport, opts)]);
}

/** The editor's Play mode: a fresh world from a copy of the document, with physics and scripts. */
export const editorPlayPlugins: PluginGroup = pluginGroup('editor-play', [corePlugins]);
