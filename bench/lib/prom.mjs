/**
 * Prometheus text-format helpers for the benches: read keel's /metrics and take differences
 * between two scrapes.
 *
 * Exports:
 *   parseProm(text)            [{ name, labels: { [k]: string }, value }] of every sample line.
 *   scrapeMetrics(port, timeoutMs)
 *                              GET /metrics on 127.0.0.1:port, parsed; rejects on a non-200.
 *   sampleValue(samples, name) the value of the first sample with that name, or undefined.
 *   histogramBuckets(samples, name)
 *                              cumulative buckets of histogram `name` ([{ le, count }], sorted,
 *                              +Inf as Infinity), as lib/stats.mjs histogramQuantile takes them.
 *   bucketDelta(before, after) buckets of the observations between two scrapes; null when the
 *                              bucket layouts differ or a count went down (the process restarted).
 *   histogramWindow(before, after, name)
 *                              { n, p50, p99, maxBound, over1ms, sumS } in ms (sumS in s) of the
 *                              observations of histogram `name` between two scrapes; p50 and p99
 *                              interpolated linearly inside the buckets (as PromQL's
 *                              histogram_quantile), maxBound the upper bound of the highest
 *                              non-empty bucket; null when bucketDelta is.
 *   counterDelta(before, after, name)
 *                              after − before of a counter; null when missing or negative.
 */
import { httpGet } from './net.mjs';
import { histogramMaxBound, histogramQuantile } from './stats.mjs';

/** @param {string} text */
export function parseProm(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    for (const lm of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

/** @param {number} port @param {number} [timeoutMs] */
export async function scrapeMetrics(port, timeoutMs = 5000) {
  const res = await httpGet(port, '/metrics', timeoutMs);
  if (res.status !== 200) throw new Error(`GET :${port}/metrics answered ${res.status}`);
  return parseProm(res.body);
}

/** @param {ReturnType<typeof parseProm>} samples @param {string} name */
export const sampleValue = (samples, name) => samples.find((x) => x.name === name)?.value;

/** @param {ReturnType<typeof parseProm>} samples @param {string} name */
export function histogramBuckets(samples, name) {
  return samples
    .filter((x) => x.name === `${name}_bucket` && x.labels.le !== undefined)
    .map((x) => ({ le: x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), count: x.value }))
    .sort((a, b) => a.le - b.le);
}

/** @param {{ le: number, count: number }[]} before @param {{ le: number, count: number }[]} after */
export function bucketDelta(before, after) {
  if (!after.length || after.length !== before.length) return null;
  const d = after.map((x, i) => ({ le: x.le, count: x.count - before[i].count }));
  if (d.some((x, i) => x.le !== before[i].le || x.count < 0)) return null;
  return d;
}

/**
 * @param {ReturnType<typeof parseProm>} before
 * @param {ReturnType<typeof parseProm>} after
 * @param {string} name
 */
export function histogramWindow(before, after, name) {
  const d = bucketDelta(histogramBuckets(before, name), histogramBuckets(after, name));
  if (!d) return null;
  const n = d[d.length - 1].count;
  const upTo1ms = d.filter((x) => x.le <= 0.001).pop()?.count ?? 0;
  const sumA = sampleValue(before, `${name}_sum`);
  const sumB = sampleValue(after, `${name}_sum`);
  return {
    n,
    p50: n > 0 ? histogramQuantile(d, 0.5) * 1000 : NaN,
    p99: n > 0 ? histogramQuantile(d, 0.99) * 1000 : NaN,
    maxBound: n > 0 ? histogramMaxBound(d) * 1000 : NaN,
    over1ms: n - upTo1ms,
    sumS: sumA !== undefined && sumB !== undefined ? sumB - sumA : NaN,
  };
}

/**
 * @param {ReturnType<typeof parseProm>} before
 * @param {ReturnType<typeof parseProm>} after
 * @param {string} name
 */
export function counterDelta(before, after, name) {
  const a = sampleValue(before, name);
  const b = sampleValue(after, name);
  if (a === undefined || b === undefined || b < a) return null;
  return b - a;
}
