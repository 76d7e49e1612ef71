import type { Logger } from '../log.js';
import { Simulation, TICK_PHASES, type SimulationOptions, type System, type TickPhase } from '../sim/simulation.js';

/**
 * A typed key for a shared service of an app (the logger, the players, a network endpoint).
 * Two keys with the same name are still different keys: a resource is found by its key object.
 */
export interface ResourceKey<T> {
  readonly name: string;
  /** Never set: it only carries the resource's type. */
  readonly _type?: T;
}

/** Makes a resource key; `name` is what errors and `describe()` call it. */
export function resourceKey<T>(name: string): ResourceKey<T> {
  return Object.freeze({ name });
}

/** The logger every app holds (the one its simulation was built with). */
export const LOGGER = resourceKey<Logger>('logger');

/**
 * One named part of a run mode: it adds systems to tick phases, resources, and startup and
 * teardown hooks. `build` runs once, when the app is made, in the order the parts are listed.
 */
export interface Plugin {
  readonly name: string;
  build(app: AppBuilder): void;
}

/** A named list of parts (plugins or smaller groups), added in order, as Bevy's DefaultPlugins. */
export interface PluginGroup {
  readonly name: string;
  readonly plugins: readonly AppPart[];
}

export type AppPart = Plugin | PluginGroup;

/** Makes a plugin group. */
export function pluginGroup(name: string, plugins: readonly AppPart[]): PluginGroup {
  return { name, plugins };
}

/** What a plugin sees while it builds: the simulation, the resources so far, and where to add its parts. */
export interface AppBuilder {
  readonly sim: Simulation;
  /**
   * Adds a system at the end of `phase`, or just before the one named `before`. Names are unique
   * in an app; a second one is refused.
   */
  addSystem(phase: TickPhase, name: string, run: System, order?: { before?: string }): void;
  /** Adds a resource; a key already present is refused. */
  insert<T>(key: ResourceKey<T>, value: T): void;
  /** A resource an earlier part (or the app's maker) added; throws naming the key and who asked. */
  get<T>(key: ResourceKey<T>): T;
  has(key: ResourceKey<unknown>): boolean;
  /** Runs when the app starts (`App.start`), in the order added. */
  onStartup(run: () => void): void;
  /** Runs when the app is disposed, in reverse order, before the simulation is. */
  onTeardown(run: () => void): void;
}

/** A system as the app lists it: where it runs and which plugin added it. */
export interface AppSystem {
  readonly phase: TickPhase;
  readonly name: string;
  readonly plugin: string;
}

export interface AppOptions {
  /** Called in `describe()`: "server", "client (local)", "editor (play)". */
  name: string;
  /** The simulation to build; the app adds its systems through plugins, never by default. */
  simulation: Omit<SimulationOptions, 'defaultSystems'>;
  /** The parts, in order. Systems run phase by phase, then in the order their parts added them. */
  plugins: readonly AppPart[];
  /** Resources the maker provides before any plugin builds (a transport, a clock, an input source). */
  resources?: readonly ResourceEntry[];
}

/** A resource given to an app by its maker. */
export type ResourceEntry = readonly [ResourceKey<unknown>, unknown];

/** Pairs a key with its value, type-checked, for `AppOptions.resources`. */
export function withResource<T>(key: ResourceKey<T>, value: T): ResourceEntry {
  return [key, value];
}

/**
 * A run mode as a value: one Simulation and the named parts composed over it. Each mode is a
 * short list (`serverPlugins`, `corePlugins` + `LocalPlayerPlugin`, `editorPlayPlugins`), so what
 * a tick runs reads from the list and from `describe()`, not from constructors that attach
 * themselves. The clock stays outside: the server's loop, the page's FrameStepper or a test
 * calls `tick(dt, n)`.
 */
export class App {
  readonly name: string;
  readonly sim: Simulation;
  private readonly resources = new Map<ResourceKey<unknown>, unknown>();
  private readonly pluginNames: string[] = [];
  private readonly systemOwners = new Map<string, string>();
  private readonly startups: (() => void)[] = [];
  private readonly teardowns: (() => void)[] = [];
  private started = false;
  private disposed = false;

  constructor(opts: AppOptions) {
    this.name = opts.name;
    // Refused before anything is built: a misnamed list should cost nothing.
    const names = flatten(opts.plugins).map((p) => p.name);
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw new Error(`app "${opts.name}": plugin "${n}" is listed twice (${names.join(', ')}); each plugin may appear once`);
      seen.add(n);
    }
    this.sim = new Simulation({ ...opts.simulation, defaultSystems: false });
    this.resources.set(LOGGER, opts.simulation.logger);
    for (const [key, value] of opts.resources ?? []) this.resources.set(key, value);
    try {
      for (const plugin of flatten(opts.plugins)) {
        plugin.build(this.builderFor(plugin.name));
        this.pluginNames.push(plugin.name);
      }
    } catch (err) {
      this.sim.dispose();
      throw err;
    }
  }

  /** The plugins, in the order they were built. */
  get plugins(): readonly string[] {
    return this.pluginNames;
  }

  /** A resource of this app; throws naming the key when it is missing. */
  get<T>(key: ResourceKey<T>): T {
    if (!this.resources.has(key)) throw new Error(`app "${this.name}" has no resource "${key.name}" (plugins: ${this.pluginNames.join(', ') || 'none'})`);
    return this.resources.get(key) as T;
  }

  has(key: ResourceKey<unknown>): boolean {
    return this.resources.has(key);
  }

  /** Every system in the order a tick runs them, with the plugin that added it. */
  systems(): AppSystem[] {
    return this.sim.systems().map((s) => ({ ...s, plugin: this.systemOwners.get(s.name) ?? '(outside the app)' }));
  }

  /** Runs the startup hooks, once. The first `tick` starts the app if nobody did. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const run of this.startups) run();
  }

  /** One fixed step of the simulation: every phase's systems in order. */
  tick(dt: number, tickNumber: number): void {
    if (!this.started) this.start();
    this.sim.tick(dt, tickNumber);
  }

  /** Runs the teardown hooks (last added first), then disposes the simulation. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let i = this.teardowns.length - 1; i >= 0; i--) this.teardowns[i]!();
    this.sim.dispose();
  }

  /**
   * The composition in words: the plugins, then each phase with its systems in run order and
   * the plugin that added each, e.g.
   * ```
   * app server: physics, scripts, players, server-net
   *   networkIn: player-input (players)
   *   physics: physics-step (physics)
   *   scripts: scripts (scripts)
   *   replicationOut: snapshots (server-net)
   * ```
   */
  describe(): string {
    const systems = this.systems();
    const lines = [`app ${this.name}: ${this.pluginNames.join(', ') || '(no plugins)'}`];
    for (const phase of TICK_PHASES) {
      const here = systems.filter((s) => s.phase === phase).map((s) => `${s.name} (${s.plugin})`);
      lines.push(`  ${phase}: ${here.length ? here.join(', ') : '-'}`);
    }
    return lines.join('\n');
  }

  private builderFor(plugin: string): AppBuilder {
    const app = this;
    return {
      sim: this.sim,
      addSystem: (phase, name, run, order) => {
        const owner = this.systemOwners.get(name);
        if (owner !== undefined) throw new Error(`app "${this.name}": plugin "${plugin}" adds system "${name}", which plugin "${owner}" already added`);
        this.sim.addSystem(phase, name, run, order);
        this.systemOwners.set(name, plugin);
      },
      insert: (key, value) => {
        if (this.resources.has(key)) throw new Error(`app "${this.name}": plugin "${plugin}" inserts resource "${key.name}", which is already present`);
        this.resources.set(key, value);
      },
      get<T>(key: ResourceKey<T>): T {
        if (!app.resources.has(key)) throw new Error(`app "${app.name}": plugin "${plugin}" needs resource "${key.name}"; add the plugin that provides it earlier in the list (so far: ${app.pluginNames.join(', ') || 'none'})`);
        return app.resources.get(key) as T;
      },
      has: (key) => this.resources.has(key),
      onStartup: (run) => void this.startups.push(run),
      onTeardown: (run) => void this.teardowns.push(run),
    };
  }
}

function isGroup(part: AppPart): part is PluginGroup {
  return Array.isArray((part as PluginGroup).plugins);
}

/** The plugins of a list of parts, groups opened in place, in order. */
export function flatten(parts: readonly AppPart[]): Plugin[] {
  const out: Plugin[] = [];
  const walk = (list: readonly AppPart[], depth: number) => {
    // Groups are plain data: a group that contains itself would recurse forever.
    if (depth > 16) throw new Error('plugin groups nested more than 16 deep (does a group contain itself?)');
    for (const p of list) {
      if (isGroup(p)) walk(p.plugins, depth + 1);
      else out.push(p);
    }
  };
  walk(parts, 0);
  return out;
}
