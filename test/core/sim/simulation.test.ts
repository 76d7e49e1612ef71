import { describe, expect, it } from 'vitest';
import { encodeHeightfield, decodeHeightfield } from '../../../runtime/core/physics/heightfield.js';
import type { SceneDocument } from '../../../runtime/core/scene/schema.js';
import { Simulation, TICK_PHASES, type TickContext } from '../../../runtime/core/sim/simulation.js';
import { loadScene, recordingLogger } from '../helpers.js';

const DT = 1 / 60;

function makeSim(scene: SceneDocument, extra: Partial<ConstructorParameters<typeof Simulation>[0]> = {}) {
  const logger = recordingLogger();
  const sim = new Simulation({ scene, mode: 'server', logger, ...extra });
  const run = (n: number) => {
    for (let i = 0; i < n; i++) sim.tick(DT, sim.tickNumber + 1);
  };
  return { sim, logger, run };
}

const ground = { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, collider: { shape: 'box', size: [20, 1, 20] } } };
const ball = (id: string, x: number, y: number) => ({
  id,
  components: { transform: { position: [x, y, 0] }, rigidBody: { type: 'dynamic' }, collider: { shape: 'sphere', radius: 0.5 } },
});
const arena = () => loadScene([ground, ball('b1', 0, 3), ball('b2', 0.3, 5)]);

describe('tick phases', () => {
  it('declares networkIn, physics, scripts, replicationOut in that order', () => {
    expect(TICK_PHASES).toEqual(['networkIn', 'physics', 'scripts', 'replicationOut']);
  });

  it('runs systems phase by phase, whatever order they were added in', () => {
    const { sim, run } = makeSim(arena());
    const seen: string[] = [];
    for (const phase of [...TICK_PHASES].reverse()) sim.addSystem(phase, phase, ({ tick }) => void seen.push(`${tick}:${phase}`));
    sim.addSystem('physics', 'physics-2', ({ tick }) => void seen.push(`${tick}:physics-2`));
    run(2);
    expect(seen).toEqual([
      '1:networkIn', '1:physics', '1:physics-2', '1:scripts', '1:replicationOut',
      '2:networkIn', '2:physics', '2:physics-2', '2:scripts', '2:replicationOut',
    ]);
  });

  it('passes tick, dt, cumulative time and the simulation to systems', () => {
    const { sim } = makeSim(arena());
    const ctxs: TickContext[] = [];
    sim.addSystem('replicationOut', 'rec', (ctx) => void ctxs.push(ctx));
    sim.tick(0.02, 10);
    sim.tick(0.03, 11);
    expect(ctxs.map((c) => [c.tick, c.dt, c.sim === sim])).toEqual([[10, 0.02, true], [11, 0.03, true]]);
    expect(ctxs[1]!.time).toBeCloseTo(0.05, 12);
    expect(sim.tickNumber).toBe(11);
    expect(sim.time).toBeCloseTo(0.05, 12);
  });

  it('steps physics before later physics systems and after networkIn', () => {
    const { sim, run } = makeSim(arena());
    const ys: [string, number][] = [];
    const y = () => sim.world.get('b1')!.position[1];
    sim.addSystem('networkIn', 'before', () => void ys.push(['networkIn', y()]));
    sim.addSystem('physics', 'after', () => void ys.push(['physics', y()]));
    run(1);
    expect(ys[0]).toEqual(['networkIn', 3]);
    expect(ys[1]![0]).toBe('physics');
    expect(ys[1]![1]).toBeLessThan(3);
  });

  it('stops running a system once removed', () => {
    const { sim, run } = makeSim(arena());
    let n = 0;
    const remove = sim.addSystem('scripts', 'count', () => void n++);
    run(2);
    remove();
    remove(); // twice is harmless
    run(2);
    expect(n).toBe(2);
  });
});

describe('bodies and poses', () => {
  it('copies moving bodies back into the world and bumps their versions', () => {
    const { sim, run } = makeSim(arena());
    const b1 = sim.world.get('b1')!;
    const g = sim.world.get('ground')!;
    run(10);
    expect(b1.position[1]).toBeLessThan(3);
    expect(b1.version).toBe(11);
    expect(g.version).toBe(1); // static: never touched
  });

  it('lets bodies come to rest and stops bumping versions once they sleep', () => {
    const crate = { id: 'crate', components: { transform: { position: [0, 3, 0] }, rigidBody: { type: 'dynamic' }, collider: { shape: 'box' } } };
    const { sim, run } = makeSim(loadScene([ground, crate]));
    run(600);
    expect(sim.physics.stats().awake).toBe(0);
    const b1 = sim.world.get('crate')!;
    expect(b1.position[1]).toBeCloseTo(0.5, 1);
    const v = b1.version;
    run(60);
    expect(b1.version).toBe(v);
  });

  it('gives a body to entities with a collider or a rigid body, and a static one to a lone collider', () => {
    const { sim, run } = makeSim(
      loadScene([
        { id: 'wall', components: { transform: { position: [0, 3, 0] }, collider: { shape: 'box' } } },
        { id: 'loose', components: { transform: { position: [5, 3, 0] }, rigidBody: { type: 'dynamic' } } },
        { id: 'decor', components: { mesh: { shape: 'box' } } },
      ]),
    );
    expect(['wall', 'loose', 'decor'].map((id) => sim.physics.hasBody(id))).toEqual([true, true, false]);
    run(30);
    expect(sim.world.get('wall')!.position).toEqual([0, 3, 0]);
    expect(sim.world.get('loose')!.position[1]).toBeLessThan(3);
  });

  it('builds a heightfield collider from the assets map by normalised path', () => {
    const hf = decodeHeightfield(encodeHeightfield(3, 3, new Float32Array(9).fill(2)).buffer);
    const terrain = { id: 'terrain', components: { collider: { shape: 'heightfield', asset: './assets/t.khf' } } };
    const { sim, run, logger } = makeSim(loadScene([terrain, ball('b', 0, 6)]), { heightfields: new Map([['assets/t.khf', hf]]) });
    expect(sim.physics.hasBody('terrain')).toBe(true);
    run(180);
    expect(sim.world.get('b')!.position[1]).toBeCloseTo(2.5, 1);
    expect(logger.calls.filter((c) => c.level === 'error')).toEqual([]);
  });

  it('logs a heightfield that is not loaded and builds no collider', () => {
    const terrain = { id: 'terrain', components: { collider: { shape: 'heightfield', asset: 'assets/none.khf' } } };
    const { sim, logger } = makeSim(loadScene([terrain]));
    expect(sim.physics.hasBody('terrain')).toBe(false);
    const errors = logger.calls.filter((c) => c.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ entity: 'terrain', asset: 'assets/none.khf' });
  });

  it('removes the body with its entity', () => {
    const { sim } = makeSim(arena());
    sim.world.remove('b1');
    expect(sim.physics.hasBody('b1')).toBe(false);
    expect(sim.physics.stats().bodies).toBe(2);
  });
});

describe('independence and determinism', () => {
  it('keeps two simulations of the same scene independent', () => {
    const scene = arena();
    const sceneBefore = structuredClone(scene);
    const a = makeSim(scene);
    const b = makeSim(scene);
    a.run(60);
    expect(a.sim.world.get('b1')!.position[1]).toBeLessThan(2);
    expect(b.sim.world.get('b1')!.position).toEqual([0, 3, 0]);
    expect(b.sim.world.get('b1')!.version).toBe(1);
    expect(b.sim.tickNumber).toBe(0);
    b.run(1);
    expect(b.sim.world.get('b1')!.position[1]).toBeGreaterThan(2.9);
    expect(scene).toEqual(sceneBefore);
  });

  it('does not leak a component change from one simulation into another', () => {
    const scene = loadScene([{ id: 'lamp', components: { material: { color: '#00ff00' } } }]);
    const a = makeSim(scene);
    const b = makeSim(scene);
    const lamp = a.sim.world.get('lamp')!;
    a.sim.world.setComponent(lamp, 'material', { ...lamp.components.material!, color: '#ff0000' });
    expect(b.sim.world.get('lamp')!.components.material!.color).toBe('#00ff00');
    expect(scene.entities[0]!.components.material!.color).toBe('#00ff00');
  });

  it('gives identical poses for two simulations stepped identically', () => {
    const scene = loadScene([ground, ball('b1', 0, 3), ball('b2', 0.3, 5), ball('b3', -0.2, 7)]);
    const a = makeSim(scene);
    const b = makeSim(scene);
    for (let i = 1; i <= 240; i++) {
      a.sim.tick(DT, i);
      b.sim.tick(DT, i);
    }
    for (const id of ['b1', 'b2', 'b3']) {
      const ea = a.sim.world.get(id)!;
      const eb = b.sim.world.get(id)!;
      expect(eb.position).toEqual(ea.position);
      expect(eb.rotation).toEqual(ea.rotation);
    }
    expect(a.sim.world.get('b3')!.position).not.toEqual([-0.2, 7, 0]);
  });
});
