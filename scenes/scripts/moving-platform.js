/**
 * moving-platform.js: moves a kinematic body back and forth along an axis.
 *
 * Props:
 *   axis       [x, y, z]  direction of travel, used as given (not normalised); default [1, 0, 0]
 *   amplitude  number     metres from the start position to either end; default 2
 *   period     number     seconds for one full back-and-forth, > 0; default 4
 *
 * The platform follows position(t) = start + axis * amplitude * sin(2π t / period), with t the
 * simulated time (ctx.world.time). It is driven by velocity, the derivative of that curve, not
 * by teleporting, so bodies resting on it are carried along by friction; every ~2 s any drift
 * from the curve is removed by a small extra velocity over the next half second.
 *
 * A scene script: plain ES module, no imports, default export of hooks.
 */

const TWO_PI = 2 * Math.PI;
/** Seconds between drift checks. */
const CORRECTION_INTERVAL = 2;
/** Seconds over which a measured drift is removed. */
const CORRECTION_TIME = 0.5;

function isNumber(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

function readProps(props, entityId) {
  const where = `moving-platform on entity "${entityId}"`;
  const axis = props.axis ?? [1, 0, 0];
  if (!Array.isArray(axis) || axis.length !== 3 || !axis.every(isNumber)) {
    throw new Error(`${where}: prop "axis" must be an array of 3 finite numbers (got ${JSON.stringify(props.axis)})`);
  }
  const amplitude = props.amplitude ?? 2;
  if (!isNumber(amplitude)) {
    throw new Error(`${where}: prop "amplitude" must be a finite number (got ${JSON.stringify(props.amplitude)})`);
  }
  const period = props.period ?? 4;
  if (!isNumber(period) || period <= 0) {
    throw new Error(`${where}: prop "period" must be a number > 0 (got ${JSON.stringify(props.period)})`);
  }
  return { axis: [axis[0], axis[1], axis[2]], amplitude, period };
}

/** Offset along the axis from the start position at time t (scalar, multiply by axis). */
function offsetAt(p, t) {
  return p.amplitude * Math.sin((TWO_PI * t) / p.period);
}

/** Speed along the axis at time t: the derivative of offsetAt. */
function speedAt(p, t) {
  const w = TWO_PI / p.period;
  return p.amplitude * w * Math.cos(w * t);
}

export default {
  start(ctx) {
    const p = readProps(ctx.props, ctx.entity.id);
    const s = ctx.state;
    s.params = p;
    s.base = [ctx.entity.position[0], ctx.entity.position[1], ctx.entity.position[2]];
    s.correction = [0, 0, 0];
    s.correctionUntil = -Infinity;
    s.nextCheck = -Infinity; // check on the first update: world.time may not start at 0
  },

  update(ctx, dt) {
    const s = ctx.state;
    const p = s.params;
    const t = ctx.world.time;

    if (t >= s.nextCheck) {
      s.nextCheck = t + CORRECTION_INTERVAL;
      const off = offsetAt(p, t);
      const pos = ctx.entity.position;
      for (let k = 0; k < 3; k++) s.correction[k] = (s.base[k] + p.axis[k] * off - pos[k]) / CORRECTION_TIME;
      s.correctionUntil = t + CORRECTION_TIME;
    }
    const correcting = t < s.correctionUntil;

    // The velocity set now is used during the next step, from t to t + dt: take the derivative at
    // the middle of that step, which tracks the curve far better than the derivative at t.
    const v = speedAt(p, t + dt / 2);
    ctx.entity.setVelocity([
      p.axis[0] * v + (correcting ? s.correction[0] : 0),
      p.axis[1] * v + (correcting ? s.correction[1] : 0),
      p.axis[2] * v + (correcting ? s.correction[2] : 0),
    ]);
  },
};
