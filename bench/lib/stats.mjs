/**
 * Small statistics helpers for the benches.
 *
 * Exports:
 *   percentile(values, p)  nearest-rank percentile (p in 0..100) of an unsorted array; NaN if empty
 *   median(values)         the 50th percentile, averaging the two middle values of an even count
 *   mean(values)           arithmetic mean; NaN if empty
 *   summarize(values)      { n, min, mean, p50, p99, max } of an unsorted array
 *   histogramQuantile(buckets, q)
 *                          estimate of quantile q (0..1) from cumulative Prometheus buckets
 *                          [{ le: number (Infinity for +Inf), count: number }], interpolating
 *                          linearly inside the bucket, as PromQL's histogram_quantile does;
 *                          Infinity when the quantile falls in the +Inf bucket
 *   histogramMaxBound(buckets)
 *                          upper bound of the highest non-empty bucket (the largest sample is at
 *                          most this); Infinity if it is the +Inf bucket, 0 if the histogram is empty
 */

/** @param {number[]} values @param {number} p */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** @param {number[]} values */
export function mean(values) {
  if (values.length === 0) return NaN;
  let total = 0;
  for (const v of values) total += v;
  return total / values.length;
}

/** @param {number[]} values */
export function summarize(values) {
  if (values.length === 0) return { n: 0, min: NaN, mean: NaN, p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return { n: sorted.length, min: sorted[0], mean: mean(values), p50: at(50), p99: at(99), max: sorted[sorted.length - 1] };
}

/**
 * @param {{ le: number, count: number }[]} buckets cumulative, sorted by `le`, last one +Inf
 * @param {number} q 0..1
 */
export function histogramQuantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank && b.count > prevCount) {
      if (!Number.isFinite(b.le)) return Infinity; // beyond the last finite bucket
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** @param {{ le: number, count: number }[]} buckets */
export function histogramMaxBound(buckets) {
  let prevCount = 0;
  let bound = 0;
  for (const b of buckets) {
    if (b.count > prevCount) bound = b.le;
    prevCount = b.count;
  }
  return bound;
}
