/**
 * throws.js: a test script whose `update` throws.
 *
 * Props:
 *   afterTicks  number  ticks to run normally after start; default 0 (throw on the first update)
 *
 * Once ctx.world.tick >= (tick at start) + afterTicks, `update` throws
 * `new Error('boom from throws.js')`. The script host should disable this script for its entity
 * only and keep everything else running. Used by tests.
 */
export default {
  start(ctx) {
    const n = ctx.props.afterTicks ?? 0;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw new Error(`throws.js on entity "${ctx.entity.id}": prop "afterTicks" must be a number >= 0 (got ${JSON.stringify(ctx.props.afterTicks)})`);
    }
    ctx.state.throwAt = ctx.world.tick + n;
  },

  update(ctx) {
    if (ctx.world.tick >= ctx.state.throwAt) throw new Error('boom from throws.js');
  },
};
