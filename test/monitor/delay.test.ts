// DELAY as distccmon-text reads it: strtod over the whole argument, a float,
// usleep(delay * 1000000). Expected values are worked out from C's rules and
// the cases checked against Debian's distccmon-text by hand (see also
// monitor-cli.test.ts, which runs both).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDelay, strtodWhole } from '../../src/monitor/delay.js';

test('strtod reads decimal, hexadecimal, infinite and NaN numbers, whole or not at all', () => {
  const cases: [string, number | undefined][] = [
    ['', 0],
    ['1', 1],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+1', 1],
    ['-1', -1],
    ['  1', 1],
    ['\t\n1', 1],
    ['1e-1', 0.1],
    ['1E2', 100],
    ['0x1', 1],
    ['0X1p-1', 0.5],
    ['0x.8', 0.5],
    ['0x1.8p1', 3],
    ['-0x10', -16],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['1e400', Infinity],
    ['1e-400', 0],
    ['1 ', undefined],
    [' ', undefined],
    ['-', undefined],
    ['--', undefined],
    ['e', undefined],
    ['1e', undefined],
    ['1x', undefined],
    ['0x', undefined],
    ['0x1p', undefined],
    ['infinit', undefined],
    ['abc', undefined],
    ['1,5', undefined],
  ];
  for (const [text, want] of cases) {
    assert.equal(strtodWhole(text), want, JSON.stringify(text));
  }
  assert.ok(Number.isNaN(strtodWhole('nan')));
  assert.ok(Number.isNaN(strtodWhole('-NaN(0x1)')));
  assert.equal(strtodWhole('nan('), undefined);
  assert.equal(strtodWhole('nan(a.b)'), undefined);
});

test('the pause is a float product, truncated and cut to 32 bits as usleep gets it', () => {
  const pause = (t: string) => parseDelay(t)?.pauseMs;
  assert.equal(pause('1'), 1000);
  assert.equal(pause('0.1'), 100); // (float)0.1 * 1e6 rounds back to 100000
  assert.equal(pause('0.000001'), 0.001);
  assert.equal(pause('1e-7'), 0); // under a microsecond: usleep(0)
  // -1 s is (unsigned)-1000000 µs: distccmon-text sleeps 71 minutes.
  assert.equal(pause('-1'), (2 ** 32 - 1_000_000) / 1000);
  // 5000 s is 5e9 µs, past 2^32: it wraps.
  assert.equal(pause('5000'), (5e9 - 2 ** 32) / 1000);
  assert.equal(pause('nan'), 0);
  assert.equal(pause('inf'), 0);
  assert.equal(pause('1e30'), 0); // past a 64-bit integer: cvttss2si's 0x8000000000000000
});

test('it repeats unless the float is zero', () => {
  const repeats = (t: string) => parseDelay(t)?.repeat;
  for (const once of ['', '0', '-0', '0x0', '1e-400', '1e-50']) {
    assert.equal(repeats(once), false, once);
  }
  for (const again of ['1', '-1', 'nan', 'inf', '1e-7', '0.5']) {
    assert.equal(repeats(again), true, again);
  }
  assert.equal(parseDelay('1 '), undefined);
  assert.equal(parseDelay('1e-50')?.seconds, 0); // a double, but zero as a float
});
