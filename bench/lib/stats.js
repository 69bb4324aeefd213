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
