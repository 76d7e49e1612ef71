/**
 * The player controller's input queue: one input per tick in sequence order, a tick without input
 * holding the player still on the ground plane, and a needless backlog worked off two to a tick.
 */
import { describe, expect, it } from 'vitest';
import { INPUT_WINDOW, MAX_INPUT_BACKLOG, PLAYER_SPEED, Players } from '../../../runtime/core/net/players.js';
import type { PlayerInput } from '../../../runtime/core/protocol/messages.js';
import { RunMode } from '../../../runtime/core/run-mode.js';
import { silentLogger } from '../../../runtime/core/log.js';
import { Simulation } from '../../../runtime/core/sim/simulation.js';
import { loadScene } from '../helpers.js';

const ground = { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, collider: { shape: 'box', size: [200, 1, 200] } } };

function setup() {
  const sim = new Simulation({ scene: loadScene([ground]), mode: RunMode.Server, logger: silentLogger() });
  const players = new Players(sim);
  const player = players.join('p');
  let tick = 0;
  const step = (n = 1) => {
    for (let i = 0; i < n; i++) sim.tick(1 / 60, ++tick);
  };
  step(60); // land
  const body = () => sim.world.get(player.entityId)!;
  const vy = () => sim.physics.getLinearVelocity(player.entityId)[1];
  return { sim, players, player, step, body, vy };
}

const input = (seq: number, more: Partial<PlayerInput> = {}): PlayerInput => ({ seq, moveX: 1, moveZ: 0, jump: false, yaw: 0, ...more });

describe('Players input queue', () => {
  it('applies one input per tick in sequence order, however many arrive at once', () => {
    const { players, player, step, sim } = setup();
    expect(players.enqueue(player, [input(1), input(2), input(3), input(4)])).toBe(4);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      step();
      seen.push(player.lastSeq);
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    // Redundant copies of applied inputs are stale.
    expect(players.enqueue(player, [input(3), input(4)])).toBe(0);
    sim.dispose();
  });

  it('holds the player still on the ground plane through ticks without input: the inputs cover the same ground however they arrive', () => {
    const steady = setup();
    const gappy = setup();
    const x0 = gappy.body().position[0];
    let seq = 0;
    for (let t = 0; t < 40; t++) {
      steady.players.enqueue(steady.player, [input(++seq)]);
      steady.step();
    }
    // The same 40 inputs with gaps: none for 5 ticks, then 5 at once, and so on.
    for (let s = 1; s <= 40; s += 5) {
      gappy.step(5);
      gappy.players.enqueue(gappy.player, [1, 2, 3, 4, 5].map((k) => input(s + k - 1)));
      gappy.step(5);
    }
    expect(gappy.player.lastSeq).toBe(40);
    expect(gappy.body().position[0]).toBeCloseTo(steady.body().position[0], 4);
    expect(gappy.body().position[0] - x0).toBeGreaterThan(0.9 * ((40 * PLAYER_SPEED) / 60)); // it ran, 4 m
    // Without input it stands, and still falls when in the air.
    gappy.step(3);
    expect(gappy.sim.physics.getLinearVelocity(gappy.player.entityId)[0]).toBe(0);
    gappy.players.enqueue(gappy.player, [input(41, { jump: true })]);
    gappy.step();
    const rising = gappy.vy();
    gappy.step(2);
    expect(gappy.vy()).toBeLessThan(rising);
    expect(gappy.sim.physics.getLinearVelocity(gappy.player.entityId)[0]).toBe(0);
    steady.sim.dispose();
    gappy.sim.dispose();
  });

  it(`works off a backlog that stayed above MAX_INPUT_BACKLOG for a whole window (${INPUT_WINDOW} ticks), two inputs to a tick, covering their ground`, () => {
    const { players, player, step, body, sim } = setup();
    const x0 = body().position[0];
    let seq = 0;
    // A burst of 10 after a stall, then one per tick: a steady, needless backlog.
    players.enqueue(player, Array.from({ length: 10 }, () => input(++seq)));
    const backlog: number[] = [];
    for (let t = 0; t < INPUT_WINDOW * 2; t++) {
      players.enqueue(player, [input(++seq)]);
      step();
      backlog.push(player.queue.length);
    }
    expect(backlog[0]).toBe(10);
    expect(backlog[INPUT_WINDOW - 2]).toBe(10); // a whole window first
    expect(backlog[backlog.length - 1]).toBe(MAX_INPUT_BACKLOG);
    expect(player.lastSeq).toBe(seq - MAX_INPUT_BACKLOG);
    // Every applied input moved the player its tick's worth: 0.1 m each at 6 m/s.
    expect(body().position[0] - x0).toBeCloseTo((player.lastSeq * PLAYER_SPEED) / 60, 1);
    sim.dispose();
  });
});
