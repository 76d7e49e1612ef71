import type { PlayerInput } from '../protocol/messages.js';
import type { GameClient } from '../net/game-client.js';
import type { GameSession } from '../net/game-session.js';
import { Predictor } from '../net/predictor.js';
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

/** The prediction of the own player of an app joined to a server (`PredictionPlugin`). */
export const PREDICTION = resourceKey<Predictor>('prediction');

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
 * A client's network side over its `GameClient`: connects at startup (when nobody did);
 * `snapshots-in` (networkIn, first) applies the snapshots received since the last tick to the
 * mirror of the server's world; `acks-out` (replicationOut, last) acknowledges them when no
 * input did. The app does not own the client: one connection may outlive several apps (a
 * client builds a new one when the server's scene changes), so whoever made it closes it.
 */
export function ClientNetPlugin(client: GameClient): Plugin {
  return {
    name: 'client-net',
    build(app) {
      app.insert(CLIENT_NET, client);
      app.onStartup(() => client.connect());
      const first = app.sim.systems().find((s) => s.phase === 'networkIn');
      app.addSystem('networkIn', 'snapshots-in', () => client.receive(), first ? { before: first.name } : {});
      app.addSystem('replicationOut', 'acks-out', () => client.sendInput(null));
    },
  };
}

/**
 * The own player of a client joined to a server, predicted and reconciled (`Predictor`): it
 * spawns in this app's simulation at startup and is put where the server has it once a
 * snapshot shows it; from then on `local-input` (networkIn, before `player-input`) samples one
 * numbered input per tick from `input` for the shared controller, and `inputs-out`
 * (replicationOut, before `acks-out`) remembers where the tick left the player and sends the
 * input with the ack. Each snapshot applied reconciles the prediction with the server's
 * position and velocity after the input it applied last. Needs `PlayersPlugin` and
 * `ClientNetPlugin` before it; the simulation should hold only what never moves
 * (`predictionScene`), since every body in it is the player's to push.
 */
export function PredictionPlugin(input: InputSampler, name = 'you'): Plugin {
  return {
    name: 'prediction',
    build(app) {
      const players = app.get(PLAYERS);
      const client = app.get(CLIENT_NET);
      const local: LocalPlayer = { player: null, lastInput: null };
      app.insert(LOCAL_PLAYER, local);
      let predictor: Predictor | null = null;
      let unsubscribe = () => {};
      app.onStartup(() => {
        local.player = players.join(name);
        const p = new Predictor(app.sim, players, local.player);
        predictor = p;
        app.insert(PREDICTION, p);
        unsubscribe = client.onApplied((s) => {
          const own = client.welcome ? client.mirror.byId(client.welcome.playerEntity) : undefined;
          if (!own) return;
          if (!p.ready) p.place(own.position);
          else if (s.inputSeq !== 0) p.reconcile(s.inputSeq, own.position, s.playerVelocity);
        });
      });
      app.onTeardown(() => unsubscribe());
      app.addSystem(
        'networkIn',
        'local-input',
        () => {
          local.lastInput = null;
          if (!predictor?.ready || !client.open) return;
          const sampled = input.sample(client.nextInputSeq());
          local.lastInput = sampled;
          predictor.enqueue(sampled);
        },
        { before: 'player-input' },
      );
      app.addSystem(
        'replicationOut',
        'inputs-out',
        ({ dt }) => {
          if (!local.lastInput) return;
          predictor!.record(local.lastInput, dt);
          client.sendInput(local.lastInput);
        },
        { before: 'acks-out' },
      );
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
 * A client joined to a server through `client`: snapshots in, the own player predicted through
 * the same physics and controller and reconciled with the server's state, inputs out (scripts
 * are the server's). Run it over `predictionScene(scene)`.
 */
export function clientPlugins(client: GameClient, input: InputSampler, name?: string): PluginGroup {
  return pluginGroup('client', [PhysicsPlugin, PlayersPlugin, ClientNetPlugin(client), PredictionPlugin(input, name)]);
}

/** The editor's Play mode: a fresh world from a copy of the document, with physics and scripts. */
export const editorPlayPlugins: PluginGroup = pluginGroup('editor-play', [corePlugins]);
