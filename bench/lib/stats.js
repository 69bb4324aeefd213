// Small statistics for benchmark tables.

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mean(xs) {
  return xs.length === 0 ? NaN : xs.reduce((n, x) => n + x, 0) / xs.length;
}

/** The p-th percentile (0–100), nearest rank. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** a / b with `digits` decimals, or `n/a` when b is not a positive number. */
export function ratio(a, b, digits = 2) {
  return b > 0 && Number.isFinite(a) ? (a / b).toFixed(digits) : 'n/a';
}

export const fixed = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Student's t, two-sided 95 %, by degrees of freedom (1–30; 1.96 beyond). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

/**
 * Paired ratios (each a/b of two builds run one after the other): their
 * geometric mean and its 95 % confidence interval (a t interval on the
 * logarithms). The machine's drift from one pair to the next cancels out of
 * each ratio; what is left scatters around the true ratio, and the interval
 * says how far the mean can be trusted. `low` and `high` are NaN for fewer
 * than two pairs.
 */
export function pairedRatio(ratios) {
  const logs = ratios.filter((r) => r > 0 && Number.isFinite(r)).map(Math.log);
  const n = logs.length;
  if (n === 0) return { n, geomean: NaN, low: NaN, high: NaN };
  const m = mean(logs);
  if (n < 2) return { n, geomean: Math.exp(m), low: NaN, high: NaN };
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { n, geomean: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half) };
}
