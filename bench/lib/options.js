// Command-line options shared by the benchmarks: node:util's parseArgs plus
// checked numbers and lists. Every benchmark takes --short (tiny counts, for
// CI, never writes RESULTS.md) and --no-write.

import { parseArgs } from 'node:util';

const COMMON = {
  short: { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
};

/** Parses argv with `options` (parseArgs' format) and the common ones; unknown options throw. */
export function benchOptions(options, argv = process.argv.slice(2)) {
  const { values } = parseArgs({ args: argv, options: { ...COMMON, ...options }, strict: true });
  return { ...values, write: !values.short && !values['no-write'] };
}

/** A positive integer from an option's text, or `fallback` when it was not given. */
export function positiveInt(name, text, fallback) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`--${name} must be a positive integer, got \`${text}\``);
  }
  return n;
}

/** A comma-separated list of positive integers (`4,8`). */
export function intList(name, text, fallback) {
  if (text === undefined) return fallback;
  return text.split(',').map((part) => positiveInt(name, part, undefined));
}

/** The exact command line, for the report: `node bench/x.js --runs 5`. */
export function commandLine() {
  const script = process.argv[1]?.replace(/^.*\/(bench\/)/, '$1') ?? '?';
  return ['node', script, ...process.argv.slice(2)].join(' ');
}
