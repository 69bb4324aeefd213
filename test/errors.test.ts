import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode, exitCodeMeaning } from '../src/errors.js';

test("exit codes are distcc's 100..120, unique, each with a meaning", () => {
  const codes = Object.values(ExitCode);
  assert.equal(new Set(codes).size, codes.length);
  assert.deepEqual(
    [...codes].sort((a, b) => a - b),
    Array.from({ length: 21 }, (_, i) => 100 + i),
  );
  for (const name of Object.keys(ExitCode)) {
    assert.ok(exitCodeMeaning[name as keyof typeof ExitCode], name);
  }
});
