/**
 * The same small scenes on every physics backend, with the same assertions: what the scene
 * format promises holds whichever engine a scene chooses. Each scene runs headless through a
 * real Simulation (scene validation, world, scripts, players) at a fixed dt, without sleeping.
 */
import { describe, expect, it } from 'vitest';
import { Players } from '../../../runtime/core/net/players.js';
import { decodeHeightfield, encodeHeightfield, type HeightfieldData } from '../../../runtime/core/physics/heightfield.js';
import { loadPhysics, PHYSICS_BACKENDS, type PhysicsBackend } from '../../../runtime/core/physics/load-physics.js';
import type { PhysicsFactory } from '../../../runtime/core/physics/physics.js';
import type { ScriptDefinition } from '../../../runtime/core/scripts/script.js';
import { Simulation } from '../../../runtime/core/sim/simulation.js';
import { loadScene, recordingLogger } from '../helpers.js';

const DT = 1 / 60;
const factories = new Map<PhysicsBackend, PhysicsFactory>();
async function factory(backend: PhysicsBackend): Promise<PhysicsFactory> {
  if (!factories.has(backend)) factories.set(backend, await loadPhysics(backend));
  return factories.get(backend)!;
}

interface SimOptions {
  scripts?: Record<string, ScriptDefinition>;
  heightfields?: Record<string, HeightfieldData>;
}

async function makeSim(backend: PhysicsBackend, entities: unknown[], opts: SimOptions = {}) {
  const sim = new Simulation({
    scene: loadScene(entities, { settings: { physics: backend } }),
    mode: 'server',
    logger: recordingLogger(),
    physics: await factory(backend),
    scripts: new Map(Object.entries(opts.scripts ?? {})),
    heightfields: new Map(Object.entries(opts.heightfields ?? {})),
  });
  /** Runs `seconds` of simulated time; `each` sees every tick and may stop early by returning true. */
  const run = (seconds: number, each?: () => boolean | void): number => {
    const ticks = Math.round(seconds / DT);
    for (let i = 0; i < ticks; i++) {
      sim.tick(DT, sim.tickNumber + 1);
      if (each?.()) return i + 1;
    }
    return ticks;
  };
  const pos = (id: string) => sim.world.get(id)!.position;
  return { sim, run, pos };
}

/** Static ground whose top face is y = 0. */
const ground = (o: { size?: number; friction?: number; restitution?: number } = {}) => ({
  id: 'ground',
  components: {
    transform: { position: [0, -0.5, 0] },
    rigidBody: { type: 'static' },
    collider: { shape: 'box', size: [o.size ?? 40, 1, o.size ?? 40], friction: o.friction ?? 0.4, restitution: o.restitution ?? 0.1 },
  },
});
const box = (id: string, position: number[], extra: Record<string, unknown> = {}, collider: Record<string, unknown> = {}) => ({
  id,
  components: {
    transform: { position },
    rigidBody: { type: 'dynamic', mass: 1, ...extra },
    collider: { shape: 'box', size: [1, 1, 1], ...collider },
  },
});
const sphere = (id: string, position: number[], radius = 0.5, collider: Record<string, unknown> = {}) => ({
  id,
  components: {
    transform: { position },
    rigidBody: { type: 'dynamic', mass: 1 },
    collider: { shape: 'sphere', radius, ...collider },
  },
});

/** Analytic references the backends are held to (and so to each other). */
const WALK_SECONDS = 10 / 6; // PLAYER_SPEED = 6 m/s
const JUMP_APEX = 5.5 ** 2 / (2 * 9.81); // JUMP_SPEED = 5.5 m/s

async function walkTenMetres(backend: PhysicsBackend): Promise<number> {
  const { sim, run, pos } = await makeSim(backend, [ground({ size: 100, friction: 0.8 })]);
  const players = new Players(sim);
  const p = players.join('walker');
  run(1); // land and settle
  const x0 = pos(p.entityId)[0];
  let seq = 0;
  const ticks = run(5, () => {
    players.enqueue(p, [{ seq: ++seq, moveX: 1, moveZ: 0, jump: false, yaw: 0 }]);
    return pos(p.entityId)[0] - x0 >= 10;
  });
  expect(pos(p.entityId)[0] - x0).toBeGreaterThanOrEqual(10);
  return ticks * DT;
}

async function jumpApex(backend: PhysicsBackend): Promise<number> {
  const { sim, run, pos } = await makeSim(backend, [ground({ size: 100, friction: 0.8 })]);
  const players = new Players(sim);
  const p = players.join('jumper');
  run(1.5);
  const y0 = pos(p.entityId)[1];
  players.enqueue(p, [{ seq: 1, moveX: 0, moveZ: 0, jump: true, yaw: 0 }]);
  let top = y0;
  run(1.5, () => void (top = Math.max(top, pos(p.entityId)[1])));
  return top - y0;
}

describe.each(PHYSICS_BACKENDS)('physics conformance: %s', (backend) => {
  it('a box dropped from 5 m comes to rest on the ground at its half height and sleeps', async () => {
    const { sim, run, pos } = await makeSim(backend, [ground(), box('box', [0, 5, 0])]);
    const ticks = run(10, () => sim.physics.stats().awake === 0);
    expect(ticks * DT).toBeLessThan(10); // fell asleep
    expect(pos('box')[1]).toBeGreaterThan(0.5 - 0.02);
    expect(pos('box')[1]).toBeLessThan(0.5 + 0.02);
    // Asleep means no more pose updates: the entity's version stands still.
    const v = sim.world.get('box')!.version;
    run(1);
    expect(sim.world.get('box')!.version).toBe(v);
  });

  it('a stack of 10 boxes stays standing for 10 s', async () => {
    const stack = Array.from({ length: 10 }, (_, i) => box(`b${i}`, [0, 0.5 + i, 0]));
    const { run, pos } = await makeSim(backend, [ground(), ...stack]);
    run(10);
    for (let i = 0; i < 10; i++) {
      const [x, y, z] = pos(`b${i}`);
      // Standing: every box at its stacked height and still a quarter box or less off-centre
      // (cannon's stack creeps by up to ~15 cm over 10 s).
      expect(Math.hypot(x, z), `box ${i} drifted sideways`).toBeLessThan(0.25);
      expect(y, `box ${i} height`).toBeGreaterThan(0.5 + i - 0.1);
    }
  });

  it('a sphere on a 20° slope rolls down', async () => {
    const a = (20 * Math.PI) / 180;
    const up = [Math.cos(a), Math.sin(a), 0]; // up the slope
    const n = [-Math.sin(a), Math.cos(a), 0]; // slope normal
    const start = [0, 1, 2].map((k) => up[k]! * 8 + n[k]! * 1.0); // on the top face (half thickness 0.5 + radius 0.5)
    const slope = {
      id: 'slope',
      components: { transform: { rotation: [0, 0, 20] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [40, 1, 4] } },
    };
    const { sim, run, pos } = await makeSim(backend, [slope, sphere('ball', start)]);
    run(2);
    const p = pos('ball');
    const along = [0, 1, 2].reduce((s, k) => s + (p[k]! - start[k]!) * up[k]!, 0);
    // Rolling without slipping: a = 5/7 g sin 20° = 2.40 m/s², 4.8 m in 2 s (sliding would be 6.7 m).
    expect(along).toBeLessThan(-3.5);
    expect(along).toBeGreaterThan(-6);
    const off = [0, 1, 2].reduce((s, k) => s + (p[k]! - start[k]!) * n[k]!, 0);
    expect(Math.abs(off)).toBeLessThan(0.05); // stays on the surface
    expect(Math.abs(sim.world.get('ball')!.rotation[3])).toBeLessThan(0.9); // it turned: rolled, not slid
  });

  it('restitution 0.8 bounces higher than 0.1', async () => {
    const apex = async (restitution: number) => {
      const { run, pos } = await makeSim(backend, [ground({ restitution }), sphere('ball', [0, 3.5, 0], 0.5, { restitution })]);
      let prev = pos('ball')[1];
      let bounced = false;
      let top = -Infinity;
      run(2.5, () => {
        const y = pos('ball')[1];
        if (!bounced && y > prev) bounced = true;
        if (bounced) top = Math.max(top, y);
        prev = y;
      });
      return top - 0.5; // height of the ball's bottom over the ground
    };
    const high = await apex(0.8);
    const low = await apex(0.1);
    // Dropped from 3 m: 0.8² × 3 = 1.9 m and 0.1² × 3 = 0.03 m in theory.
    expect(high).toBeGreaterThan(1.2);
    expect(high).toBeLessThan(3);
    expect(low).toBeLessThan(0.3);
  });

  it('a body passing through a trigger fires exactly one enter and one exit to its script', async () => {
    const seen: string[] = [];
    const zone: ScriptDefinition = {
      collision: (_ctx, e) => void seen.push(`enter ${e.other.id} ${e.trigger}`),
      collisionEnd: (_ctx, e) => void seen.push(`exit ${e.other.id} ${e.trigger}`),
    };
    const trigger = {
      id: 'zone',
      components: {
        transform: { position: [0, 3, 0] },
        collider: { shape: 'box', size: [2, 2, 2], trigger: true },
        script: { module: 'zone.js' },
      },
    };
    const { run, pos } = await makeSim(backend, [ground(), trigger, sphere('ball', [0, 7, 0], 0.25)], { scripts: { 'zone.js': zone } });
    run(4);
    expect(seen).toEqual(['enter ball true', 'exit ball true']);
    expect(pos('ball')[1]).toBeLessThan(0.3); // passed through and landed
  });

  it('a kinematic platform moved by its script carries a dynamic crate', async () => {
    const mover: ScriptDefinition = { update: (ctx) => ctx.entity.setVelocity([1, 0, 0]) };
    const platform = {
      id: 'platform',
      components: {
        transform: { position: [0, 1, 0] },
        rigidBody: { type: 'kinematic', allowSleep: false },
        collider: { shape: 'box', size: [4, 0.5, 4], friction: 1 },
        script: { module: 'mover.js' },
      },
    };
    const { run, pos } = await makeSim(backend, [platform, box('crate', [0, 1.75, 0], { mass: 10 }, { friction: 0.6 })], { scripts: { 'mover.js': mover } });
    run(3);
    expect(pos('platform')[0]).toBeCloseTo(3, 1);
    const [x, y] = pos('crate');
    expect(x).toBeGreaterThan(2.7); // carried along, at most a few centimetres behind
    expect(x).toBeLessThan(3.1);
    expect(y).toBeGreaterThan(1.7);
    expect(y).toBeLessThan(1.8);
  });

  it('a heightfield holds bodies at the sampled height, in the .khf layout (sample (0,0) at −X, +Z)', async () => {
    // 9×9 samples 1 m apart, centred: x and z from −4 to 4. Samples i ≤ 3, j ≤ 3 (x ≤ −1, z ≥ 1) are a 3 m
    // plateau; the rest lies at 1 m. Row i runs along +X, column j along −Z.
    const n = 9;
    const heights = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) heights[i * n + j] = i <= 3 && j <= 3 ? 3 : 1;
    const terrain = {
      id: 'terrain',
      components: { rigidBody: { type: 'static' }, collider: { shape: 'heightfield', asset: 'hf.khf', elementSize: 1 } },
    };
    const hf = decodeHeightfield(encodeHeightfield(n, n, heights).buffer);
    const { run, pos } = await makeSim(backend, [terrain, sphere('high', [-2.5, 6, 2.5]), sphere('low', [2.5, 6, -2.5])], {
      heightfields: { 'hf.khf': hf },
    });
    run(4);
    expect(pos('high')[1]).toBeGreaterThan(3.5 - 0.05);
    expect(pos('high')[1]).toBeLessThan(3.5 + 0.05);
    expect(pos('low')[1]).toBeGreaterThan(1.5 - 0.05);
    expect(pos('low')[1]).toBeLessThan(1.5 + 0.05);
  });

  it('the player controller walks 10 m in the reference time (±5 %)', async () => {
    const t = await walkTenMetres(backend);
    expect(t).toBeGreaterThan(WALK_SECONDS * 0.95);
    expect(t).toBeLessThan(WALK_SECONDS * 1.05);
  });

  it('the player controller jumps to the reference apex (±10 %)', async () => {
    const h = await jumpApex(backend);
    expect(h).toBeGreaterThan(JUMP_APEX * 0.9);
    expect(h).toBeLessThan(JUMP_APEX * 1.1);
  });
});

describe('physics conformance: cannon against rapier', () => {
  it('the player walks 10 m in the same time (±5 %) and jumps to the same apex (±10 %) on both', async () => {
    const [walkC, walkR] = [await walkTenMetres('cannon'), await walkTenMetres('rapier')];
    expect(Math.abs(walkR - walkC) / walkC).toBeLessThan(0.05);
    const [jumpC, jumpR] = [await jumpApex('cannon'), await jumpApex('rapier')];
    expect(Math.abs(jumpR - jumpC) / jumpC).toBeLessThan(0.1);
  });
});
