// The benchmarks keep working: each JS benchmark in bench/ runs in its
// --short mode (tiny counts) against real distccd and tsdistccd, exits 0,
// prints its `Ratio tsdistccd / distccd, ...: **x**` lines, and leaves
// bench/RESULTS.md alone. No timing is checked: a benchmark is not a test.
// Needs Debian's distcc and distccd, gcc and make; big-unit.js also needs
// the better-sqlite3 tarball in bench/.cache/, which .ci/run fetches as an
// install step: the tests themselves talk to loopback only
// (TSDISTCC_BENCH_OFFLINE=1 makes the script fail rather than fetch).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/paths.js';

const execFileP = promisify(execFile);
const RESULTS = `${ROOT}bench/RESULTS.md`;
const missing = ['/usr/bin/distcc', '/usr/bin/distccd', '/usr/bin/gcc', '/usr/bin/make'].find(
  (p) => !existsSync(p),
);
const skip = missing ? `${missing} is not installed (apt-get install distcc gcc make)` : false;

const RATIO = /^Ratio tsdistccd \/ distccd, ([^:]+): \*\*(-?\d+\.\d+|n\/a)\*\*$/gm;

/** Runs `bench/NAME --short` and returns the names of the ratio lines it printed. */
async function runShort(name: string, timeoutMs: number): Promise<string[]> {
  const before = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : undefined;
  const { stdout } = await execFileP(process.execPath, [`${ROOT}bench/${name}`, '--short'], {
    cwd: ROOT,
    env: { ...process.env, TSDISTCC_BENCH_OFFLINE: '1' },
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  const after = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : undefined;
  assert.equal(after, before, `${name} --short must not write bench/RESULTS.md`);
  return [...stdout.matchAll(RATIO)].map((m) => m[1]!);
}

test('hello-overhead.js --short prints the overhead, CPU and RSS ratios', { skip }, async () => {
  const ratios = await runShort('hello-overhead.js', 60_000);
  assert.deepEqual(ratios, [
    'per-job overhead',
    'whole job',
    'daemon CPU per job',
    'daemon RSS peak',
  ]);
});

test(
  'throughput.js --short prints wall time (median and paired) and CPU ratios at -j4 and -j8',
  { skip },
  async () => {
    const ratios = await runShort('throughput.js', 90_000);
    assert.deepEqual(ratios, [
      'make -j4 wall time',
      'make -j4 daemon CPU',
      'make -j8 wall time',
      'make -j8 daemon CPU',
      'make -j4 wall time, paired',
      'make -j8 wall time, paired',
    ]);
  },
);

const CACHE = `${ROOT}bench/.cache`;
const noSqlite = (existsSync(CACHE) ? readdirSync(CACHE) : []).some((f) =>
  /^better-sqlite3-12\.[\d.]+\.tgz$/.test(f),
)
  ? false
  : 'no better-sqlite3 tarball in bench/.cache (fetch it: npm pack better-sqlite3@12 --pack-destination bench/.cache)';

test(
  'big-unit.js --short compiles sqlite3.c plain and lzo through both',
  { skip: skip || noSqlite },
  async () => {
    const ratios = await runShort('big-unit.js', 120_000);
    assert.deepEqual(ratios, [
      '-O0 plain wall time',
      '-O0 plain daemon CPU',
      '-O0 plain daemon RSS peak',
      '-O0 lzo wall time',
      '-O0 lzo daemon CPU',
      '-O0 lzo daemon RSS peak',
    ]);
  },
);
