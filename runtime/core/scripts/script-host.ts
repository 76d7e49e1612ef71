import type { Logger } from '../log.js';
import type { RunMode } from '../run-mode.js';
import type { Entity } from '../world/world.js';
import type { EntityApi, ScriptContext, ScriptDefinition, ScriptHook, WorldApi } from './script.js';

interface ScriptInstance {
  entityId: string;
  module: string;
  def: ScriptDefinition;
  ctx: ScriptContext;
  started: boolean;
  disabled: boolean;
}

export interface ScriptHostOptions {
  mode: RunMode;
  /** Loaded modules keyed by their normalised asset path. */
  definitions: ReadonlyMap<string, ScriptDefinition>;
  logger: Logger;
  world: WorldApi;
  entityApi(entity: Entity): EntityApi;
  normalise(path: string): string | null;
  /** Told of each script instance disabled after throwing (after it is logged). */
  onError?(error: { entity: string; script: string; hook: ScriptHook; error: Error }): void;
}

/**
 * Runs the scripts of one simulation. Every hook call is fenced: a script that throws is
 * disabled for that entity, logged once with the entity id and the stack, and everything
 * else keeps running. (A script that never returns cannot be fenced here; the server's
 * watchdog handles that.)
 */
export class ScriptHost {
  private readonly instances = new Map<string, ScriptInstance>();
  /**
   * The instances as `update` runs them, made again after an attach or detach rather than on
   * every tick. Never changed in place: scripts may spawn or remove entities while it is iterated.
   */
  private order: ScriptInstance[] | null = null;
  private failures = 0;
  private definitions: ReadonlyMap<string, ScriptDefinition>;

  constructor(private readonly opts: ScriptHostOptions) {
    this.definitions = opts.definitions;
  }

  /**
   * Swaps the loaded modules (a hot reload re-imported them) and returns the previous set. Running
   * instances keep their old module until restarted: see {@link staleInstances}.
   */
  setDefinitions(definitions: ReadonlyMap<string, ScriptDefinition>): ReadonlyMap<string, ScriptDefinition> {
    const previous = this.definitions;
    this.definitions = definitions;
    return previous;
  }

  /** Ids of the entities whose running instance uses a module other than the one now loaded for it. */
  staleInstances(): string[] {
    const out: string[] = [];
    for (const inst of this.instances.values()) if (this.definitions.get(inst.module) !== inst.def) out.push(inst.entityId);
    return out;
  }

  /** Number of script instances disabled after throwing. */
  get failed(): number {
    return this.failures;
  }

  get count(): number {
    return this.instances.size;
  }

  attach(entity: Entity): void {
    const spec = entity.components.script;
    if (!spec || !spec.modes.includes(this.opts.mode)) return;
    const module = this.opts.normalise(spec.module) ?? spec.module;
    const def = this.definitions.get(module);
    if (!def) {
      this.opts.logger.error({ entity: entity.id, script: module }, `script ${module} for entity ${entity.id} is not loaded; entity runs without it`);
      return;
    }
    const ctx: ScriptContext = {
      entity: this.opts.entityApi(entity),
      props: spec.props,
      state: {},
      world: this.opts.world,
      log: this.opts.logger.child({ entity: entity.id, script: module }),
      mode: this.opts.mode,
    };
    this.instances.set(entity.id, { entityId: entity.id, module, def, ctx, started: false, disabled: false });
    this.order = null;
  }

  detach(entityId: string): void {
    const inst = this.instances.get(entityId);
    if (!inst) return;
    this.instances.delete(entityId);
    this.order = null;
    if (inst.started && inst.def.destroy) this.call(inst, 'destroy', () => inst.def.destroy!(inst.ctx));
  }

  /** Sets the order `update` runs scripts in to the order of `ids` (the world's order); others follow. */
  reorder(ids: readonly string[]): void {
    const next = new Map<string, ScriptInstance>();
    for (const id of ids) {
      const inst = this.instances.get(id);
      if (inst) next.set(id, inst);
    }
    for (const [id, inst] of this.instances) if (!next.has(id)) next.set(id, inst);
    this.instances.clear();
    for (const [id, inst] of next) this.instances.set(id, inst);
    this.order = null;
  }

  /** Runs pending `start` hooks, then `update` for every started script. */
  update(dt: number): void {
    const list = (this.order ??= [...this.instances.values()]);
    // Indexed loops and a direct call (not through `call`): no iterator or closure per tick.
    for (let i = 0; i < list.length; i++) {
      const inst = list[i]!;
      if (inst.started || inst.disabled) continue;
      inst.started = true;
      if (inst.def.start) this.call(inst, 'start', () => inst.def.start!(inst.ctx));
    }
    for (let i = 0; i < list.length; i++) {
      const inst = list[i]!;
      if (inst.disabled || !inst.def.update || !this.instances.has(inst.entityId)) continue;
      try {
        inst.def.update(inst.ctx, dt);
      } catch (err) {
        this.fail(inst, 'update', err);
      }
    }
  }

  /** Tells the scripts of both entities that they touched (`collision`) or stopped touching (`collisionEnd`). */
  collision(a: Entity, b: Entity, trigger: boolean, hook: 'collision' | 'collisionEnd' = 'collision'): void {
    for (const [self, other] of [[a, b], [b, a]] as const) {
      const inst = this.instances.get(self.id);
      const fn = inst?.def[hook];
      if (!inst || inst.disabled || !inst.started || !fn) continue;
      this.call(inst, hook, () => fn.call(inst.def, inst.ctx, { other: this.opts.entityApi(other), trigger }));
    }
  }

  dispose(): void {
    for (const id of [...this.instances.keys()]) this.detach(id);
  }

  private call(inst: ScriptInstance, hook: ScriptHook, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(inst, hook, err);
    }
  }

  private fail(inst: ScriptInstance, hook: ScriptHook, err: unknown): void {
    inst.disabled = true;
    this.failures++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.opts.logger.error(
      { entity: inst.entityId, script: inst.module, hook, err: e },
      `script ${inst.module} on entity ${inst.entityId} threw in ${hook}: ${e.message}; disabled for this entity`,
    );
    this.opts.onError?.({ entity: inst.entityId, script: inst.module, hook, error: e });
  }
}
