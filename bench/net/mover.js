/**
 * mover.js: keeps a dynamic body moving around the arena, for the network benchmark.
 *
 * Props:
 *   seed      integer  seeds this body's own random sequence (targets); default 1
 *   speed     number   horizontal cruising speed, m/s; default 3
 *   bounds    number   targets are picked in [-bounds, bounds] on x and z; default 16
 *   retarget  number   seconds before a new target is picked even if this one was not reached; default 4
 *
 * Every update the body's horizontal velocity is steered a fraction of the way toward
 * `speed` in the direction of its target; the vertical velocity is left to physics, so bodies
 * still fall, bounce, collide, tumble and roll. A new target is picked on arrival or after
 * `retarget` seconds (0.5x to 1.5x, so a body pinned against a wall or others moves on). The
 * scene also sets allowSleep: false, so no body ever sleeps: every one of them changes pose
 * every tick.
 *
 * A scene script: plain ES module, no imports, default export of hooks. The random sequence
 * is seeded per body, so every server that runs this scene runs the same script decisions.
 */

/** Fraction of the gap between the current and the wanted velocity closed per update. */
const STEER = 0.15;

/** mulberry32: a small deterministic generator. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function num(v, def) {
  return typeof v === 'number' && Number.isFinite(v) ? v : def;
}

function pickTarget(s, t) {
  s.target = [(s.random() * 2 - 1) * s.bounds, (s.random() * 2 - 1) * s.bounds];
  s.until = t + s.retarget * (0.5 + s.random());
}

export default {
  start(ctx) {
    const s = ctx.state;
    s.random = rng(num(ctx.props.seed, 1));
    s.speed = num(ctx.props.speed, 3);
    s.bounds = num(ctx.props.bounds, 16);
    s.retarget = Math.max(0.1, num(ctx.props.retarget, 4));
    pickTarget(s, ctx.world.time);
  },

  update(ctx) {
    const s = ctx.state;
    const t = ctx.world.time;
    const p = ctx.entity.position;
    let dx = s.target[0] - p[0];
    let dz = s.target[1] - p[2];
    let d = Math.hypot(dx, dz);
    if (d < 1 || t >= s.until) {
      pickTarget(s, t);
      dx = s.target[0] - p[0];
      dz = s.target[1] - p[2];
      d = Math.hypot(dx, dz) || 1;
    }
    const v = ctx.entity.getVelocity();
    const wx = (dx / d) * s.speed;
    const wz = (dz / d) * s.speed;
    ctx.entity.setVelocity([v[0] + (wx - v[0]) * STEER, v[1], v[2] + (wz - v[2]) * STEER]);
  },
};
