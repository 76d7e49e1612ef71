/** FixedStepLoop pause / step / resume on a manual clock: exact tick counts, no catch-up burst after a pause. */
import { describe, expect, it } from 'vitest';
import { FixedStepLoop, ManualClock } from '../../../runtime/core/index.js';

const flush = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('FixedStepLoop pause and step', () => {
  it('holds while paused, runs exactly the stepped ticks, and resumes on a fresh schedule', async () => {
    const clock = new ManualClock();
    const ticks: number[] = [];
    let loop!: FixedStepLoop;
    loop = new FixedStepLoop({
      tickRate: 60,
      clock,
      tick: (_dt, n) => {
        ticks.push(n);
        if (n === 9) loop.pause();
        // The manual clock never waits: end the run from inside a tick once resumed.
        if (n === 24) void loop.stop();
      },
    });
    const done = loop.start();
    await flush();
    expect(loop.isPaused).toBe(true);
    expect(loop.nextTick).toBe(10);
    clock.advance(10_000); // a long pause: nothing runs, and nothing is owed
    await flush();
    expect(loop.nextTick).toBe(10);

    loop.step(3);
    await flush();
    expect(loop.nextTick).toBe(13);
    loop.step();
    await flush();
    expect(loop.nextTick).toBe(14);
    expect(loop.isPaused).toBe(true);
    expect(() => loop.step(0)).toThrow(/whole number/);

    const overrunsBefore = loop.stats.overruns;
    loop.resume();
    await done;
    expect(loop.nextTick).toBe(25);
    expect(loop.stats.resyncs).toBe(0); // the paused time was not treated as lateness
    expect(loop.stats.overruns).toBe(overrunsBefore);
    expect(ticks).toEqual([...Array(25).keys()]);
  });

  it('refuses to step a running loop, and stops while paused', async () => {
    const loop = new FixedStepLoop({ tickRate: 60, clock: new ManualClock(), tick: () => {} });
    expect(() => loop.step()).toThrow(/paused/);
    const done = loop.start();
    loop.pause();
    await flush();
    await loop.stop();
    await expect(done).resolves.toBeUndefined();
  });
});
