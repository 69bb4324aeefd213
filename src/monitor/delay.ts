// DELAY as distccmon-text reads it (distcc src/mon-text.c): `float delay =
// strtod(argv[1], &end)`, a usage error if anything is left after the number,
// then `usleep(delay * 1000000)` after each poll, `while (delay)`. The quirks
// that follow are kept: an empty argument is 0 (print once), `-0` and values
// too small for a float are 0, NaN and infinities poll without pause, and the
// pause wraps at 2^32 µs (usleep takes an unsigned int).

export type Delay = Readonly<{
  /** The float distccmon-text holds: 0 means print once. */
  seconds: number;
  /** The pause after each poll, as usleep() gets it, in milliseconds. */
  pauseMs: number;
  /** Whether it polls again after the pause (`while (delay)`: NaN counts). */
  repeat: boolean;
}>;

const SPACE = '[ \\t\\n\\v\\f\\r]*';
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;
const NAN = /^[+-]?nan(?:\([0-9A-Za-z_]*\))?$/i;

/** A hexadecimal float (C99 `0x1.8p3`), which JavaScript cannot parse. */
function hexValue(m: RegExpMatchArray): number | undefined {
  const whole = m[2] ?? '';
  const frac = m[3] ?? '';
  if (whole === '' && frac === '') return undefined; // "0x" or "0x.": strtod takes only the 0
  const mantissa = Number(BigInt(`0x${whole}${frac}`));
  const value = mantissa * 2 ** (Number(m[4] ?? '0') - 4 * frac.length);
  return m[1] === '-' ? -value : value;
}

/**
 * strtod(3) over the whole text in the C locale: the number, or undefined if
 * strtod would leave anything unread. strtod reads nothing from an empty
 * string and returns 0, and distccmon-text accepts that.
 */
export function strtodWhole(text: string): number | undefined {
  if (text === '') return 0;
  const body = text.replace(new RegExp(`^${SPACE}`), '');
  if (DECIMAL.test(body)) return Number(body);
  const hex = body.match(HEX);
  if (hex) return hexValue(hex);
  const inf = body.match(INFINITY);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (NAN.test(body)) return NaN;
  return undefined;
}

/**
 * `usleep(delay * 1000000)` on x86-64: a float product, truncated to a 64-bit
 * integer (cvttss2si; NaN and out-of-range give 0x8000000000000000), then cut
 * to the unsigned 32 bits of useconds_t.
 */
function usleepMicros(delay: number): number {
  const product = Math.fround(delay * 1_000_000);
  if (!Number.isFinite(product) || Math.abs(product) >= 2 ** 63) return 0;
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(product))));
}

/** The DELAY argument, or undefined for a usage error. */
export function parseDelay(text: string): Delay | undefined {
  const value = strtodWhole(text);
  if (value === undefined) return undefined;
  const seconds = Math.fround(value);
  return {
    seconds,
    pauseMs: usleepMicros(seconds) / 1000,
    repeat: seconds !== 0, // NaN !== 0
  };
}

/** No DELAY: print once. */
export const ONCE: Delay = Object.freeze({ seconds: 0, pauseMs: 0, repeat: false });
