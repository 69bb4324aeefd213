// Option value parsers that say what was expected and what was found.

export type Problems = string[];

function last(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function integerOption(
  problems: Problems,
  name: string,
  value: string | string[] | undefined,
  fallback: number,
  { min, max }: { min: number; max: number },
): number {
  const text = last(value);
  if (text === undefined) return fallback;
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min} to ${max}`;
    problems.push(`--${name} must be an integer ${range}, got \`${text}\``);
    return fallback;
  }
  return n;
}

const SIZE = /^(\d+)\s*([kmg]i?b?)?$/i;

/** Bytes with an optional K, M or G suffix (powers of 1024). */
export function sizeOption(
  problems: Problems,
  name: string,
  value: string | string[] | undefined,
  fallback: number,
): number {
  const text = last(value);
  if (text === undefined) return fallback;
  const m = SIZE.exec(text.trim());
  if (!m) {
    problems.push(
      `--${name} must be a size in bytes with an optional K, M or G suffix, got \`${text}\``,
    );
    return fallback;
  }
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = Number(m[1]) * factor;
  if (n < 1) {
    problems.push(`--${name} must be at least 1 byte, got \`${text}\``);
    return fallback;
  }
  return n;
}

export function lastString(value: string | string[] | undefined): string | undefined {
  return last(value);
}
