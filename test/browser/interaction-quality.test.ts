/**
 * The adaptive interaction quality controller on its own: the pixel ratio and shadow-map
 * updates it sets on a renderer-shaped target as frames of given costs come and go.
 */
import { describe, expect, it } from 'vitest';
import { InteractionQuality, type QualityTarget } from '../../runtime/browser/view/interaction-quality.js';

const target = (ratio: number): QualityTarget & { ratio: number; sets: number[] } => {
  const t = {
    ratio,
    sets: [] as number[],
    getPixelRatio: () => t.ratio,
    setPixelRatio: (r: number) => {
      t.ratio = r;
      t.sets.push(r);
    },
    shadowMap: { autoUpdate: true, needsUpdate: false },
  };
  return t;
};

describe('InteractionQuality', () => {
  it('keeps full quality while frames fit the budget, interacting or not', () => {
    const t = target(2);
    const q = new InteractionQuality(t, { budgetMs: 33 });
    let now = 0;
    for (let i = 0; i < 10; i++, now += 16) {
      expect(q.beforeFrame(now, i > 2)).toBe(false);
      q.afterFrame(20);
    }
    expect(t.sets).toEqual([]);
    expect(t.shadowMap.autoUpdate).toBe(true);
    expect(q.isReduced).toBe(false);
  });

  it('starts an interaction over budget at a lower ratio, halves it while frames run over, and restores full quality once idle', () => {
    const t = target(1);
    const q = new InteractionQuality(t, { budgetMs: 33, minRatio: 0.25, idleMs: 150 });
    q.beforeFrame(0, false);
    q.afterFrame(100); // a full frame: 3x the budget
    expect(q.fullDrawMs).toBe(100);
    q.beforeFrame(16, true);
    // sqrt(33/100) = 0.57 of full, quantised down to the power-of-two step 0.5
    expect(t.ratio).toBe(0.5);
    expect(t.shadowMap.autoUpdate).toBe(false);
    q.afterFrame(60);
    expect(t.ratio).toBe(0.25);
    q.beforeFrame(32, true);
    q.afterFrame(60);
    expect(t.ratio).toBe(0.25); // never below minRatio
    expect(q.lowestRatio).toBe(0.25);
    // Still within idleMs of the last interaction: reduced.
    expect(q.beforeFrame(32 + 149, false)).toBe(false);
    expect(q.isReduced).toBe(true);
    // Idle: one full-quality frame is asked for, shadows drawn anew.
    expect(q.beforeFrame(32 + 150, false)).toBe(true);
    expect(t.ratio).toBe(1);
    expect(t.shadowMap.autoUpdate).toBe(true);
    expect(t.shadowMap.needsUpdate).toBe(true);
    expect(q.isReduced).toBe(false);
    expect(q.beforeFrame(400, false)).toBe(false);
  });

  it('keeps full quality through an interaction whose frames reuse a kept picture, and reduces once one must draw the scene', () => {
    const t = target(1);
    const q = new InteractionQuality(t, { budgetMs: 33, minRatio: 0.25, idleMs: 150 });
    q.beforeFrame(0, false);
    q.afterFrame(400); // the whole scene: far over budget
    // A drag over a kept picture: cheap frames, whatever the scene costs.
    for (let now = 16; now < 500; now += 16) {
      expect(q.beforeFrame(now, true, true)).toBe(false);
      q.afterFrame(45, true); // over budget, but not the scene's cost: not counted
    }
    expect(t.sets).toEqual([]);
    expect(q.isReduced).toBe(false);
    expect(q.fullDrawMs).toBe(400);
    // The camera moves (an orbit): the scene is drawn anew, so the interaction is reduced.
    q.beforeFrame(512, true, false);
    expect(q.isReduced).toBe(true);
    expect(t.ratio).toBe(0.25);
  });
});
