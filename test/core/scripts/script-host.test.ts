import { describe, expect, it } from 'vitest';
import type { RunMode } from '../../../runtime/core/run-mode.js';
import { SceneError } from '../../../runtime/core/scene/validate.js';
import { defineScript, type ScriptDefinition, type WorldApi } from '../../../runtime/core/scripts/script.js';
import { Simulation } from '../../../runtime/core/sim/simulation.js';
import { loadScene, recordingLogger } from '../helpers.js';

const DT = 1 / 60;

function makeSim(entities: unknown[], scripts: Record<string, ScriptDefinition>, mode: RunMode = 'server') {
  const logger = recordingLogger();
  const sim = new Simulation({ scene: loadScene(entities), mode, logger, scripts: new Map(Object.entries(scripts)) });
  const run = (n: number) => {
    for (let i = 0; i < n; i++) sim.tick(DT, sim.tickNumber + 1);
  };
  const errors = () => logger.calls.filter((c) => c.level === 'error');
  return { sim, logger, run, errors };
}

const withScript = (id: string, module: string, extra: Record<string, unknown> = {}, components: Record<string, unknown> = {}) => ({
  id,
  components: { ...components, script: { module, ...extra } },
});

describe('script lifecycle', () => {
  it('runs start once, then update every tick with dt, props and persistent state', () => {
    const calls: string[] = [];
    const spin = defineScript<{ speed: number }>({
      start(ctx) {
        calls.push(`start ${ctx.entity.id} speed=${ctx.props.speed} mode=${ctx.mode}`);
        ctx.state.n = 0;
      },
      update(ctx, dt) {
        ctx.state.n = (ctx.state.n as number) + 1;
        calls.push(`update ${dt} n=${ctx.state.n}`);
      },
    }) as ScriptDefinition;
    // The entity names the module with a leading './'; the map is keyed by the normalised path.
    const { sim, run, errors } = makeSim([withScript('spinner', './scripts/spin.js', { props: { speed: 3 } })], { 'scripts/spin.js': spin });
    expect(sim.scripts.count).toBe(1);
    expect(calls).toEqual([]); // nothing runs before the first tick
    run(3);
    expect(calls).toEqual([`start spinner speed=3 mode=server`, `update ${DT} n=1`, `update ${DT} n=2`, `update ${DT} n=3`]);
    expect(errors()).toEqual([]);
  });

  it('gives each entity its own state and a logger bound to the entity and script', () => {
    const logger = defineScript({
      update(ctx) {
        ctx.state.count = ((ctx.state.count as number | undefined) ?? 0) + 1;
        if (ctx.state.count === 2) ctx.log.info({ count: ctx.state.count }, 'second');
      },
    });
    const { logger: log, run } = makeSim([withScript('a', 'scripts/l.js'), withScript('b', 'scripts/l.js')], { 'scripts/l.js': logger });
    run(2);
    const infos = log.calls.filter((c) => c.level === 'info');
    expect(infos.map((c) => c.bindings)).toEqual([
      { entity: 'a', script: 'scripts/l.js' },
      { entity: 'b', script: 'scripts/l.js' },
    ]);
    expect(infos.map((c) => c.msg)).toEqual(['second', 'second']);
  });

  it('disables a script that throws in update for that entity only, and logs it once', () => {
    const updates: Record<string, number> = {};
    const flaky = defineScript<{ explode?: boolean }>({
      update(ctx) {
        updates[ctx.entity.id] = (updates[ctx.entity.id] ?? 0) + 1;
        if (ctx.props.explode) throw new Error('boom');
      },
    }) as ScriptDefinition;
    const { sim, run, errors } = makeSim(
      [withScript('bad', 'scripts/flaky.js', { props: { explode: true } }), withScript('good', 'scripts/flaky.js')],
      { 'scripts/flaky.js': flaky },
    );
    run(5);
    expect(updates).toEqual({ bad: 1, good: 5 });
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.obj).toMatchObject({ entity: 'bad', script: 'scripts/flaky.js', hook: 'update' });
    expect(errors()[0]!.msg).toContain('boom');
    expect(sim.scripts.failed).toBe(1);
    expect(sim.world.get('bad')).toBeDefined(); // the entity lives on without its script
  });

  it('never updates a script whose start threw', () => {
    let updates = 0;
    const broken = defineScript({
      start() {
        throw new Error('bad start');
      },
      update() {
        updates++;
      },
    });
    const { run, errors } = makeSim([withScript('x', 'scripts/broken.js')], { 'scripts/broken.js': broken });
    run(3);
    expect(updates).toBe(0);
    expect(errors().map((e) => (e.obj as { hook: string }).hook)).toEqual(['start']);
  });

  it('runs a script only in the run modes it lists', () => {
    const ran: string[] = [];
    const rec = defineScript({ update: (ctx) => void ran.push(ctx.entity.id) });
    const entities = [
      withScript('default', 'scripts/r.js'), // client + server
      withScript('clientOnly', 'scripts/r.js', { modes: ['client'] }),
      withScript('editorOnly', 'scripts/r.js', { modes: ['editor'] }),
    ];
    const server = makeSim(entities, { 'scripts/r.js': rec }, 'server');
    server.run(1);
    expect(ran).toEqual(['default']);
    expect(server.sim.scripts.count).toBe(1);
    ran.length = 0;
    makeSim(entities, { 'scripts/r.js': rec }, 'editor').run(1);
    expect(ran).toEqual(['editorOnly']);
  });

  it('logs a script that is not loaded and keeps the entity', () => {
    const { sim, run, errors } = makeSim([withScript('lonely', 'scripts/missing.js')], {});
    run(1);
    expect(sim.scripts.count).toBe(0);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.obj).toMatchObject({ entity: 'lonely', script: 'scripts/missing.js' });
    expect(sim.world.get('lonely')).toBeDefined();
  });
});

describe('script hooks driven by the world', () => {
  it('calls collision on both scripts when two bodies touch', () => {
    const hits: string[] = [];
    const hit = defineScript({ collision: (ctx, ev) => void hits.push(`${ctx.entity.id}<-${ev.other.id}:${ev.trigger}`) });
    const { run } = makeSim(
      [
        withScript('ground', 'scripts/hit.js', {}, { transform: { position: [0, -0.5, 0] }, collider: { shape: 'box', size: [10, 1, 10] } }),
        withScript('ball', 'scripts/hit.js', {}, {
          transform: { position: [0, 2, 0] },
          rigidBody: { type: 'dynamic' },
          collider: { shape: 'sphere', radius: 0.5 },
        }),
      ],
      { 'scripts/hit.js': hit },
    );
    run(30);
    expect(hits).toEqual([]);
    run(90);
    expect(hits.slice(0, 2).sort()).toEqual(['ball<-ground:false', 'ground<-ball:false']);
  });

  it('runs destroy when the entity is removed, and only for started scripts', () => {
    const log: string[] = [];
    const life = defineScript({
      update: (ctx) => void log.push(`update ${ctx.entity.id}`),
      destroy: (ctx) => void log.push(`destroy ${ctx.entity.id} alive=${ctx.entity.alive}`),
    });
    const { sim, run } = makeSim([withScript('p', 'scripts/life.js'), { ...withScript('c', 'scripts/life.js'), parent: 'p' }, withScript('early', 'scripts/life.js')], {
      'scripts/life.js': life,
    });
    sim.world.remove('early'); // never started: no destroy
    run(1);
    log.length = 0;
    sim.world.remove('p'); // cascades to the child
    expect(log).toEqual(['destroy c alive=false', 'destroy p alive=false']);
    run(2);
    expect(log).toHaveLength(2);
    expect(sim.scripts.count).toBe(0);
  });

  it('does not update an entity removed earlier in the same tick', () => {
    const log: string[] = [];
    const killer = defineScript({ update: (ctx) => void (ctx.world.remove('victim'), log.push('killer')) });
    const victim = defineScript({ update: () => void log.push('victim update'), destroy: () => void log.push('victim destroy') });
    const { run } = makeSim([withScript('killer', 'scripts/k.js'), withScript('victim', 'scripts/v.js')], {
      'scripts/k.js': killer,
      'scripts/v.js': victim,
    });
    run(2);
    expect(log).toEqual(['victim destroy', 'killer', 'killer']);
  });

  it('calls destroy for every started script on dispose', () => {
    let destroyed = 0;
    const { sim, run } = makeSim([withScript('a', 'scripts/d.js'), withScript('b', 'scripts/d.js')], {
      'scripts/d.js': { destroy: () => void destroyed++ },
    });
    run(1);
    sim.dispose();
    expect(destroyed).toBe(2);
  });
});

describe('the world API of scripts', () => {
  function captureWorld() {
    let api: WorldApi | undefined;
    const grab = defineScript({ start: (ctx) => void (api = ctx.world) });
    const ctx = makeSim([withScript('host', 'scripts/grab.js', {}, { transform: { position: [0, 10, 0] } })], {
      'scripts/grab.js': grab,
    });
    ctx.run(1);
    return { ...ctx, api: api! };
  }

  it('validates spawned entities and throws SceneError for bad ones', () => {
    const { sim, api } = captureWorld();
    let err: unknown;
    try {
      api.spawn({ id: 'bad', components: { rigidBody: { mass: -1 } } } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SceneError);
    expect((err as SceneError).problems).toEqual([
      { file: 'spawned entity "bad"', pointer: '/components/rigidBody/mass', rule: 'minimum', message: 'must be >= 0' },
    ]);
    expect(sim.world.get('bad')).toBeUndefined();
  });

  it('spawns a valid entity with a physics body that then falls', () => {
    const { sim, api, run } = captureWorld();
    const e = api.spawn({ id: 'crate', components: { transform: { position: [0, 5, 0] }, rigidBody: { type: 'dynamic' } } } as never);
    expect(sim.physics.hasBody('crate')).toBe(true);
    expect(e.alive).toBe(true);
    expect(e.position).toEqual([0, 5, 0]);
    run(30);
    expect(api.find('crate')!.position[1]).toBeLessThan(4.5);
    expect(api.remove('crate')).toBe(true);
    expect(e.alive).toBe(false);
    expect(sim.physics.hasBody('crate')).toBe(false);
  });

  it('spawns under a parent in the running world', () => {
    const { api } = captureWorld();
    const child = api.spawn({ id: 'child', parent: 'host', components: { transform: { position: [1, 0, 0] } } } as never);
    expect(child.position).toEqual([1, 10, 0]);
    expect(() => api.spawn({ id: 'orphan', parent: 'nobody', components: {} } as never)).toThrow(/does not exist/);
  });

  it('finds entities by id and tag, and exposes tick and time', () => {
    const { api, run } = captureWorld();
    api.spawn({ id: 't1', tags: ['prop'], components: {} } as never);
    api.spawn({ id: 't2', tags: ['prop', 'red'], components: {} } as never);
    expect(api.findByTag('prop').map((e) => e.id)).toEqual(['t1', 't2']);
    expect(api.find('nope')).toBeUndefined();
    run(2);
    expect(api.tick).toBe(3);
    expect(api.time).toBeCloseTo(3 * DT, 12);
  });
});
