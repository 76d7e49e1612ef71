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

  it('afterNextTick resolves right after the next scheduled tick, before the one after it; at once when paused or stopped', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    let loop!: FixedStepLoop;
    loop = new FixedStepLoop({
      tickRate: 60,
      clock,
      tick: (_dt, n) => {
        log.push(`tick ${n}`);
        if (n === 2) void loop.afterNextTick().then(() => log.push('after'));
        if (n === 5) loop.pause();
      },
    });
    void loop.afterNextTick().then(() => log.push('before start: at once'));
    await flush();
    const done = loop.start();
    await flush();
    // The work waited for runs as the loop goes to sleep: after tick 2, before tick 3.
    expect(log).toEqual(['before start: at once', 'tick 0', 'tick 1', 'tick 2', 'after', 'tick 3', 'tick 4', 'tick 5']);
    let paused = false;
    void loop.afterNextTick().then(() => (paused = true));
    await flush(2);
    expect(paused).toBe(true); // no scheduled tick is coming
    loop.resume();
    let pending = false;
    loop.pause();
    void loop.afterNextTick().then(() => (pending = true));
    await loop.stop();
    await done;
    await flush(2);
    expect(pending).toBe(true);
  });

  it('msToNextTick: the time left until the next scheduled tick, Infinity when none is coming', async () => {
    // A timer may fire early (it counts whole milliseconds): sleep again until the time has come.
    const clock = {
      now: () => performance.now(),
      sleepUntil: async (t: number) => {
        while (performance.now() < t) await new Promise((r) => setTimeout(r, Math.ceil(t - performance.now())));
      },
    };
    const loop = new FixedStepLoop({ tickRate: 60, clock, tick: () => {} });
    expect(loop.msToNextTick).toBe(Infinity);
    const done = loop.start();
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 3));
      seen.push(loop.msToNextTick);
    }
    expect(seen.every((ms) => ms >= 0 && ms <= 1000 / 60 + 0.001)).toBe(true);
    expect(new Set(seen.map((ms) => Math.round(ms))).size).toBeGreaterThan(1); // it counts down
    loop.pause();
    await flush(2);
    expect(loop.msToNextTick).toBe(Infinity);
    await loop.stop();
    await done;
    expect(loop.msToNextTick).toBe(Infinity);
  });
});
