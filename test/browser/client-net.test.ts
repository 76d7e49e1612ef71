/**
 * The client's network pieces that need no browser: snapshot interpolation timing, prediction
 * with reconciliation against a server simulation, and the frame-to-tick stepper.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSceneText, Players, Predictor, RunMode, silentLogger, Simulation, SNAP_DISTANCE, type MirroredEntity, type PlayerInput, type Quat, type Vec3 } from '../../runtime/core/index.js';
import { FrameStepper } from '../../runtime/browser/loop/frame-stepper.js';
import { INTERPOLATION_DELAY_MS, slerp, SnapshotBuffer } from '../../runtime/browser/net/snapshot-buffer.js';
import { REPO } from '../helpers/keel-process.js';

const at = (id: string, p: Vec3, q: Quat = [0, 0, 0, 1]): MirroredEntity => ({ netId: 1, id, name: id, components: {}, pose: { x: 0, y: 0, z: 0, ri: 3, ra: 0, rb: 0, rc: 0 }, position: p, rotation: q });
const state = (e: MirroredEntity) => new Map([[e.netId, e]]);

describe('SnapshotBuffer', () => {
  it('draws INTERPOLATION_DELAY_MS behind the newest snapshot, between the two around that time', () => {
    const b = new SnapshotBuffer(1000 / 60);
    // Ticks 60 and 63 (1000 ms and 1050 ms of server time), received on time at local 5000 and 5050.
    b.push(60, state(at('a', [0, 0, 0])), 5000);
    b.push(63, state(at('a', [10, 0, 0])), 5050);
    // At local 5125 the render time is server 1075 - 100 = 1025 ms: halfway.
    const t = b.renderTime(5125);
    expect(t).toBeCloseTo(1050 + 75 - INTERPOLATION_DELAY_MS, 6);
    const p: Vec3 = [0, 0, 0];
    const q: Quat = [0, 0, 0, 1];
    expect(b.sample(1, t, p, q)).toBe(true);
    expect(p[0]).toBeCloseTo(5, 6);
    // Past the newest snapshot it holds the newest pose instead of extrapolating.
    b.sample(1, 5000, p, q);
    expect(p[0]).toBe(10);
    // Before the oldest, the oldest.
    b.sample(1, 0, p, q);
    expect(p[0]).toBe(0);
    expect(b.sample(2, t, p, q)).toBe(false);
  });

  it('does not interpolate an entity across a change of its components (a scene edit): it is drawn as changed at once', () => {
    const b = new SnapshotBuffer(1000 / 60);
    const crate = (x: number, components: Record<string, unknown>): MirroredEntity => ({ ...at('crate', [x, 0, 0]), components });
    const look = { mesh: { shape: 'box' } };
    b.push(60, state(crate(0, look)), 5000);
    // A full snapshot re-describes it with equal components: still interpolated.
    b.push(63, state(crate(1, { mesh: { shape: 'box' } })), 5050);
    const p: Vec3 = [0, 0, 0];
    const q: Quat = [0, 0, 0, 1];
    b.sample(1, 1025, p, q);
    expect(p[0]).toBeCloseTo(0.5, 6);
    // An edit moved it and changed its components: drawn at the new pose even while the render
    // time is still before the change, then interpolated onwards from there.
    const moved = { mesh: { shape: 'box' }, transform: { position: [8, 0, 0] } };
    b.push(66, state(crate(8, moved)), 5100);
    b.push(69, state(crate(9, moved)), 5150);
    b.sample(1, 1060, p, q);
    expect(p[0]).toBe(8);
    b.sample(1, 1125, p, q);
    expect(p[0]).toBeCloseTo(8.5, 6);
  });

  it('follows the least delayed snapshot: a late one does not pull the clock back', () => {
    const b = new SnapshotBuffer(1000 / 60);
    b.push(60, state(at('a', [0, 0, 0])), 5000);
    b.push(63, state(at('a', [1, 0, 0])), 5300); // 250 ms late
    expect(b.renderTime(5300)).toBeGreaterThan(b.renderTime(5000) + 290);
    expect(b.renderTime(5300) - 5300).toBeCloseTo(1000 - 5000 - INTERPOLATION_DELAY_MS + (1050 - 5300 - (1000 - 5000)) * 0.02, 6);
  });

  it('slerp takes the short way and stays unit length', () => {
    const half = Math.SQRT1_2;
    const out: Quat = [0, 0, 0, 1];
    slerp([0, 0, 0, 1], [0, -half, 0, -half], 0.5, out); // the same 90° turn written with a negative w
    expect(Math.hypot(...out)).toBeCloseTo(1, 9);
    expect(Math.abs(out[1])).toBeCloseTo(Math.sin(Math.PI / 8), 6);
  });
});

describe('Predictor', () => {
  const scene = (() => {
    const r = parseSceneText(readFileSync(join(REPO, 'scenes/arena.json'), 'utf8'), 'arena');
    if (!r.ok) throw new Error('arena invalid');
    return r.scene;
  })();
  const run = (input: Omit<PlayerInput, 'seq'>, seq: number): PlayerInput => ({ ...input, seq });
  /** A server with one player who has landed at its spawn point, and a predictor placed where it stands. */
  const landed = () => {
    const server = new Simulation({ scene, mode: RunMode.Server, logger: silentLogger() });
    const players = new Players(server);
    const player = players.join('p');
    for (let t = 1; t <= 40; t++) server.tick(1 / 60, t);
    const predictor = Predictor.forScene(scene, new Map());
    predictor.place(server.world.get(player.entityId)!.position);
    return { server, players, player, predictor };
  };

  it('matches a server running the same inputs: no correction, error under a millimetre', () => {
    const { server, players, player, predictor } = landed();
    let tick = 40;
    const errors: number[] = [];
    for (let seq = 1; seq <= 120; seq++) {
      const input = run({ moveX: 0.6, moveZ: -0.8, jump: seq === 50, yaw: 1 }, seq);
      predictor.step(input, 1 / 60);
      players.enqueue(player, [input]);
      server.tick(1 / 60, ++tick);
      if (seq % 3 === 0) errors.push(predictor.reconcile(seq, server.world.get(player.entityId)!.position)!);
    }
    expect(errors).toHaveLength(40);
    expect(Math.max(...errors)).toBeLessThan(0.001);
    const p = predictor.position;
    expect(Math.hypot(p[0] + 15, p[2] - 15)).toBeGreaterThan(10); // it ran
  });

  /**
   * The client's path and the server's path for one input stream, on one clock: each tick the
   * client predicts its newest input and sends it (with the two before it, as ConnectedPlay
   * does); messages reach the server `arrival(seq)` ticks later, in order (one socket); the
   * server applies what it has queued and ticks; every third tick a snapshot goes back and is
   * reconciled `back` ticks later. Returns every reconciliation's error and the arrival counts
   * per server tick.
   */
  const stream = (inputs: (seq: number) => Omit<PlayerInput, 'seq'>, count: number, arrival: (seq: number) => number, back = 6) => {
    const { server, players, player, predictor } = landed();
    const sent: { at: number; inputs: PlayerInput[] }[] = [];
    const snapshots: { at: number; seq: number; position: Vec3 }[] = [];
    const history: PlayerInput[] = [];
    const errors: number[] = [];
    const perTick: number[] = [];
    let due = 0;
    for (let t = 1; t <= count + 30; t++) {
      if (t <= count) {
        const input = { ...inputs(t), seq: t };
        history.push(input);
        predictor.step(input, 1 / 60);
        due = Math.max(due, t + arrival(t)); // in order: never before the message sent earlier
        sent.push({ at: due, inputs: history.slice(-3) });
      }
      let arrived = 0;
      while (sent.length && sent[0]!.at <= t) {
        arrived++;
        players.enqueue(player, sent.shift()!.inputs);
      }
      perTick.push(arrived);
      server.tick(1 / 60, 40 + t);
      // Snapshots while the stream runs: once it ends the server has nothing to apply.
      if (t % 3 === 0 && t <= count) snapshots.push({ at: t + back, seq: player.lastSeq, position: [...server.world.get(player.entityId)!.position] as Vec3 });
      while (snapshots.length && snapshots[0]!.at <= t) {
        const snap = snapshots.shift()!;
        if (snap.seq === 0) continue;
        const e = predictor.reconcile(snap.seq, snap.position);
        if (e !== null) errors.push(e);
      }
    }
    const ran = Math.hypot(predictor.position[0] + 15, predictor.position[2] - 15);
    predictor.dispose();
    server.dispose();
    return { errors, perTick, ran };
  };
  /** A fixed pseudo-random sequence in [0, 1) (a test must not depend on Math.random). */
  const noise = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

  it('predicts a straight run to the millimetre when inputs reach the server in bursts and gaps', () => {
    const r = noise(7);
    const jitter = Array.from({ length: 400 }, () => Math.floor(r() * 4)); // 0..3 ticks late, varying
    const { errors, perTick, ran } = stream(() => ({ moveX: 0.6, moveZ: -0.8, jump: false, yaw: 1 }), 180, (seq) => 2 + jitter[seq]!);
    // The schedule is what the test claims: ticks with 2+ messages and ticks with none while running.
    expect(perTick.slice(5, 180).filter((n) => n >= 2).length).toBeGreaterThan(10);
    expect(perTick.slice(5, 180).filter((n) => n === 0).length).toBeGreaterThan(10);
    expect(errors.length).toBeGreaterThan(50);
    expect(Math.max(...errors)).toBeLessThan(0.001);
    expect(ran).toBeGreaterThan(15);
  });

  it('applies inputs sent in batches one per tick: a zig-zag run with jumps matches to the millimetre', () => {
    // Three inputs per message, sent every third tick (a client at 20 Hz): the server receives
    // them together and must still take one per tick, as the prediction did.
    const zigzag = (seq: number) => ({ moveX: Math.floor(seq / 20) % 2 ? 1 : -0.2, moveZ: -1, jump: seq % 45 === 0, yaw: (seq % 30) / 10 });
    const { errors, perTick } = stream(zigzag, 150, (seq) => 3 - ((seq - 1) % 3) + 1);
    expect(perTick.filter((n) => n >= 3).length).toBeGreaterThan(20);
    expect(errors.length).toBeGreaterThan(40);
    expect(Math.max(...errors)).toBeLessThan(0.001);
  });

  it('replays from the server velocity: a push the client never saw is caught up in one reconciliation', () => {
    // The server's player is thrown upwards after input 30 (a bounce pad, a hit): the position
    // at that snapshot still agrees, the velocity does not. Snapshots come back 6 ticks late.
    const runWith = (velocity: boolean) => {
      const { server, players, player, predictor } = landed();
      const states = new Map<number, { p: Vec3; v: Vec3 }>();
      const errors: number[] = [];
      for (let seq = 1; seq <= 90; seq++) {
        const input = run({ moveX: 0.6, moveZ: -0.8, jump: false, yaw: 1 }, seq);
        predictor.step(input, 1 / 60);
        players.enqueue(player, [input]);
        server.tick(1 / 60, 40 + seq);
        if (seq === 30) server.physics.setLinearVelocity(player.entityId, [3.6, 4, -4.8]);
        states.set(seq, { p: [...server.world.get(player.entityId)!.position] as Vec3, v: players.velocityOf(player)! });
        const acked = seq - 6;
        if (acked > 0 && acked % 3 === 0) errors.push(predictor.reconcile(acked, states.get(acked)!.p, velocity ? states.get(acked)!.v : undefined)!);
      }
      predictor.dispose();
      server.dispose();
      return errors; // errors[k] is for input 3(k + 1)
    };
    const withVelocity = runWith(true);
    const positionOnly = runWith(false);
    expect(withVelocity).toHaveLength(28);
    // Input 30's snapshot agrees in position; with its velocity, every later one agrees too.
    expect(Math.max(...withVelocity)).toBeLessThan(0.001);
    // From the position alone the rise shows up a snapshot later and keeps being corrected.
    expect(Math.max(...positionOnly.slice(10))).toBeGreaterThan(0.05);
  });

  it('replays unacknowledged inputs from the server position and eases the visible correction', () => {
    const predictor = Predictor.forScene(scene, new Map());
    predictor.place([-15, 0.5, 15]);
    for (let t = 1; t <= 30; t++) predictor.step(run({ moveX: 0, moveZ: 0, jump: false, yaw: 0 }, t), 1 / 60);
    for (let seq = 31; seq <= 60; seq++) predictor.step(run({ moveX: 1, moveZ: 0, jump: false, yaw: 0 }, seq), 1 / 60);
    const before = [...predictor.position] as Vec3;
    // The server had the player 0.3 m further along in z after input 40: the 20 later inputs are replayed from there.
    const server40: Vec3 = [-15 + (10 * 6) / 60, 0.5, 15.3];
    const error = predictor.reconcile(40, server40)!;
    expect(error).toBeGreaterThan(0.25);
    expect(error).toBeLessThan(SNAP_DISTANCE);
    expect(predictor.position[2]).toBeCloseTo(15.3, 2);
    expect(predictor.position[0]).toBeCloseTo(before[0], 1);
    // Drawn where it was, then eased towards the new prediction.
    expect(predictor.drawnPosition(0)[2]).toBeCloseTo(before[2], 6);
    expect(Math.abs(predictor.drawnPosition(0.5)[2] - 15.3)).toBeLessThan(0.01);
    // An input no longer remembered cannot be reconciled.
    expect(predictor.reconcile(10, server40)).toBeNull();
  });
});

describe('FrameStepper', () => {
  it('runs one tick per step of frame time, keeps the remainder, and drops a backlog past its clamp', () => {
    const s = new FrameStepper(60, 5);
    const ticks: number[] = [];
    const step = (_dt: number, tick: number) => ticks.push(tick);
    expect(s.advance(1000, step)).toBe(0);
    expect(s.advance(1000 + 50, step)).toBe(3); // exactly three steps, despite rounding
    expect(s.advance(1000 + 60, step)).toBe(0);
    expect(s.alpha).toBeCloseTo(0.6, 6);
    expect(s.advance(1000 + 60 + 10_000, step)).toBe(5);
    expect(s.advance(1000 + 60 + 10_000 + 1, step)).toBe(0);
    expect(ticks).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
