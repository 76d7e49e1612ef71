/**
 * freeze.js: a test script that hangs the game loop on purpose.
 *
 * Props:
 *   freezeAfterTicks  number  ticks to run normally after start; default 0
 *
 * Once ctx.world.tick >= (tick at start) + freezeAfterTicks, `update` never returns, like a
 * game loop stuck in an endless loop. Script hooks are synchronous, so only something outside
 * the simulation (the server's watchdog) can notice and recover. Used by tests; never put it
 * in a real scene.
 */
export default {
  start(ctx) {
    const n = ctx.props.freezeAfterTicks ?? 0;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw new Error(`freeze.js on entity "${ctx.entity.id}": prop "freezeAfterTicks" must be a number >= 0 (got ${JSON.stringify(ctx.props.freezeAfterTicks)})`);
    }
    ctx.state.freezeAt = ctx.world.tick + n;
  },

  update(ctx) {
    if (ctx.world.tick < ctx.state.freezeAt) return;
    ctx.log.warn({ tick: ctx.world.tick }, `freeze.js on entity ${ctx.entity.id}: freezing the loop now`);
    for (;;) {
      // spin forever
    }
  },
};
