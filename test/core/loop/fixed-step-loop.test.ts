import { describe, expect, it, vi } from 'vitest';
import { FixedStepLoop, type FixedStepLoopOptions } from '../../../runtime/core/loop/fixed-step-loop.js';
import { ManualClock } from '../../../runtime/core/loop/manual-clock.js';
import { RollingStats } from '../../../runtime/core/loop/rolling-stats.js';

interface TickRecord {
  n: number;
  dt: number;
  at: number;
}

/**
 * Runs a loop on a manual clock for exactly `ticks` ticks: the loop is stopped from inside its
 * own tick callback (a manual clock never waits, so nothing else would stop it). `during`
 * runs inside each tick, e.g. to make a tick take time.
 */
async function runLoop(
  ticks: number,
  opts: Partial<FixedStepLoopOptions> & { clock: ManualClock; tickRate: number },
  during: (n: number, clock: ManualClock) => void = () => {},
) {
  const records: TickRecord[] = [];
  const loop: FixedStepLoop = new FixedStepLoop({
    ...opts,
    tick(dt, n) {
      records.push({ n, dt, at: opts.clock.now() });
      during(n, opts.clock);
      if (records.length >= ticks) void loop.stop();
      if (records.length > ticks) throw new Error('loop did not stop');
    },
  });
  await loop.start();
  return { loop, records };
}

describe('ManualClock', () => {
  it('jumps forward on sleepUntil, never backward, and advances on demand', async () => {
    const clock = new ManualClock(100);
    await clock.sleepUntil(150);
    expect(clock.now()).toBe(150);
    await clock.sleepUntil(120);
    expect(clock.now()).toBe(150);
    clock.advance(5);
    expect(clock.now()).toBe(155);
  });
});

describe('FixedStepLoop on a manual clock', () => {
  it('rejects a tick rate that is zero, negative, NaN or infinite', () => {
    const clock = new ManualClock();
    for (const tickRate of [0, -60, NaN, Infinity]) {
      expect(() => new FixedStepLoop({ tickRate, clock, tick: () => {} }), String(tickRate)).toThrow(/tick rate must be > 0/);
    }
  });

  it('runs ticks at start + n * step, with dt = 1 / tickRate and no lateness', async () => {
    const clock = new ManualClock(1000);
    const { loop, records } = await runLoop(5, { tickRate: 50, clock });
    expect(loop.stepMs).toBe(20);
    expect(records).toEqual([0, 1, 2, 3, 4].map((n) => ({ n, dt: 0.02, at: 1000 + n * 20 })));
    expect(loop.stats.ticks).toBe(5);
    expect(loop.stats.lateness.max).toBe(0);
    expect(loop.stats.duration.max).toBe(0);
    expect(loop.stats.overruns).toBe(0);
    expect(loop.nextTick).toBe(5);
    expect(loop.isRunning).toBe(false);
  });

  it('does not drift over 600 ticks at 60 Hz', async () => {
    const clock = new ManualClock();
    const { loop, records } = await runLoop(601, { tickRate: 60, clock });
    const step = 1000 / 60;
    expect(records.every((r) => r.dt === 1 / 60)).toBe(true);
    records.forEach((r, n) => expect(r.at).toBeCloseTo(n * step, 9));
    expect(clock.now()).toBeCloseTo(600 * step, 9); // tick 600 starts exactly 10 s in
    expect(loop.stats.lateness.max).toBe(0);
    expect(loop.stats.overruns).toBe(0);
  });

  it('catches up at once after a tick that takes 1.5 steps, without resync', async () => {
    const clock = new ManualClock();
    const onResync = vi.fn();
    const { loop, records } = await runLoop(6, { tickRate: 50, clock, onResync }, (n, c) => {
      if (n === 2) c.advance(30); // 1.5 steps of 20 ms
    });
    // Tick 3 was due at 60 but tick 2 ended at 70: it runs straight away; tick 4 is back on schedule.
    expect(records.map((r) => r.at)).toEqual([0, 20, 40, 70, 80, 100]);
    expect(loop.stats.overruns).toBe(1);
    expect(loop.stats.resyncs).toBe(0);
    expect(loop.stats.droppedTicks).toBe(0);
    expect(onResync).not.toHaveBeenCalled();
    expect(loop.stats.lateness.max).toBe(10);
    expect(loop.stats.duration.max).toBe(30);
  });

  it('reports each tick\'s lateness and duration to onTick', async () => {
    const clock = new ManualClock();
    const onTick = vi.fn();
    await runLoop(5, { tickRate: 50, clock, onTick }, (n, c) => {
      if (n === 2) c.advance(30);
    });
    // Tick 3 starts 10 ms late, after tick 2 ran for 30 ms; the rest are on time and take no time.
    expect(onTick.mock.calls).toEqual([
      [0, 0],
      [0, 0],
      [0, 30],
      [10, 0],
      [0, 0],
    ]);
  });

  it('runs missed ticks back to back while within maxCatchUp', async () => {
    const clock = new ManualClock();
    const { loop, records } = await runLoop(8, { tickRate: 50, clock, maxCatchUp: 4 }, (n, c) => {
      if (n === 1) c.advance(100); // ends 4 steps behind: exactly at the limit, still caught up
    });
    // Ticks 2-5 (due at 40..100) run back to back at 120; tick 6 is due at 120 and on time.
    expect(records.map((r) => r.at)).toEqual([0, 20, 120, 120, 120, 120, 120, 140]);
    expect(loop.stats).toMatchObject({ overruns: 4, resyncs: 0, droppedTicks: 0 });
  });

  it('resynchronises after a tick that takes 10 steps, reporting the dropped ticks', async () => {
    const clock = new ManualClock();
    const onResync = vi.fn();
    const { loop, records } = await runLoop(5, { tickRate: 50, clock, onResync }, (n, c) => {
      if (n === 1) c.advance(200); // 10 steps
    });
    // Tick 1 ran at 20 and ended at 220, when tick 2 was 180 ms (9 steps) late.
    expect(onResync).toHaveBeenCalledTimes(1);
    expect(onResync).toHaveBeenCalledWith(9, 180);
    expect(loop.stats).toMatchObject({ overruns: 1, resyncs: 1, droppedTicks: 9 });
    // The schedule restarts from the end of the slow tick; tick numbers carry on.
    expect(records.map((r) => [r.n, r.at])).toEqual([[0, 0], [1, 20], [2, 220], [3, 240], [4, 260]]);
    expect(loop.stats.lateness.max).toBe(0);
  });

  it('start returns the running promise; stop settles it after the current tick', async () => {
    const clock = new ManualClock();
    let ticks = 0;
    let second: Promise<void> | undefined;
    const loop: FixedStepLoop = new FixedStepLoop({
      tickRate: 100,
      clock,
      tick: () => {
        ticks++;
        if (ticks === 1) {
          expect(loop.isRunning).toBe(true);
          second = loop.start();
        }
        if (ticks === 3) void loop.stop();
      },
    });
    const first = loop.start();
    await first;
    expect(second).toBe(first);
    expect(ticks).toBe(3);
    await expect(loop.stop()).resolves.toBeUndefined();
  });
});

describe('RollingStats', () => {
  it('is all zeros when empty', () => {
    const s = new RollingStats(10);
    expect([s.n, s.mean, s.max, s.percentile(50), s.percentile(99)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('gives nearest-rank percentiles over the window, sorted numerically', () => {
    const s = new RollingStats(100);
    for (const v of [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 100]) s.push(v); // 100 would sort before 2 as text
    expect(s.percentile(0)).toBe(1);
    expect(s.percentile(50)).toBe(6);
    expect(s.percentile(90)).toBe(10);
    expect(s.percentile(100)).toBe(100);
    expect(s.mean).toBeCloseTo(155 / 11, 12);
    expect(s.max).toBe(100);
    expect(s.n).toBe(11);
  });

  it('keeps percentiles to the last `capacity` samples but mean, max and n over all', () => {
    const s = new RollingStats(3);
    for (const v of [50, 1, 2, 3, 4, 5]) s.push(v);
    expect(s.percentile(0)).toBe(3);
    expect(s.percentile(50)).toBe(4);
    expect(s.percentile(100)).toBe(5);
    expect(s.n).toBe(6);
    expect(s.mean).toBeCloseTo(65 / 6, 12);
    expect(s.max).toBe(50);
  });

  it('treats a capacity below 1 as 1', () => {
    const s = new RollingStats(0);
    s.push(3);
    s.push(7);
    expect(s.percentile(50)).toBe(7);
  });

  it('reports the largest sample as max even when every sample is negative', () => {
    const s = new RollingStats(4);
    s.push(-5);
    s.push(-2);
    expect(s.max).toBe(-2);
  });
});
