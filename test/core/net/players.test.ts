/**
 * The player controller's input queue: one input per tick in sequence order, a repeat standing in
 * for a missing input, a late input's jump kept, and a needless backlog folded away.
 */
import { describe, expect, it } from 'vitest';
import { INPUT_WINDOW, MAX_GUESSED_INPUTS, MAX_INPUT_BACKLOG, Players } from '../../../runtime/core/net/players.js';
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

  it('stands in for a missing input by repeating the last one, at most MAX_GUESSED_INPUTS ticks in a row', () => {
    const { players, player, step, body, sim } = setup();
    players.enqueue(player, [input(1)]);
    step();
    const x1 = body().position[0];
    step(MAX_GUESSED_INPUTS + 5);
    expect(player.lastSeq).toBe(1 + MAX_GUESSED_INPUTS);
    expect(body().position[0]).toBeGreaterThan(x1 + 0.09 * MAX_GUESSED_INPUTS); // kept running at 6 m/s
    // The client's own inputs for the stood-in numbers are late: not applied again.
    expect(players.enqueue(player, [input(2), input(3), input(MAX_GUESSED_INPUTS + 2)])).toBe(1);
    step();
    expect(player.lastSeq).toBe(MAX_GUESSED_INPUTS + 2);
    sim.dispose();
  });

  it('keeps the jump of an input that arrives after the server stood in for it', () => {
    const { players, player, step, vy, sim } = setup();
    players.enqueue(player, [input(1)]);
    step(3); // 1 applied, 2 and 3 stood in for
    expect(player.lastSeq).toBe(3);
    expect(Math.abs(vy())).toBeLessThan(0.05);
    players.enqueue(player, [input(2, { jump: true }), input(3), input(4)]);
    step();
    expect(player.lastSeq).toBe(4);
    expect(vy()).toBeGreaterThan(4);
    sim.dispose();
  });

  it('makes the buffer deeper after a late input unlike its stand-in: the next empty tick waits', () => {
    const { players, player, step, sim } = setup();
    players.enqueue(player, [input(1)]);
    step(2); // 2 stood in for
    expect(player.lastSeq).toBe(2);
    players.enqueue(player, [input(2, { moveX: -1 })]); // the real 2 turned: the stand-in was wrong
    step(); // nothing queued: waits instead of standing in for 3
    expect(player.lastSeq).toBe(2);
    step(); // and stands in again from then on
    expect(player.lastSeq).toBe(3);
    sim.dispose();
  });

  it(`folds away a backlog that stayed above MAX_INPUT_BACKLOG for a whole window (${INPUT_WINDOW} ticks)`, () => {
    const { players, player, step, sim } = setup();
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
    expect(backlog[backlog.length - 1]).toBeLessThanOrEqual(MAX_INPUT_BACKLOG);
    expect(player.lastSeq).toBe(seq - player.queue.length);
    sim.dispose();
  });
});
