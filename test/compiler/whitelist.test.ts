import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCompiler,
  checkOptions,
  COMPILER_NAME,
  stripSystemBinDir,
} from '../../src/compiler/whitelist.js';
import { FIXTURE_BIN, ROOT } from '../helpers/paths.js';

const dirs = [`${ROOT}test/fixtures/whitelist`];
const opts = { dirs, names: new Set(['gcc']), insecure: false };

test('a leading /bin/ or /usr/bin/ is stripped, case-insensitively (distcc issue #279)', () => {
  assert.equal(stripSystemBinDir('/usr/bin/gcc'), 'gcc');
  assert.equal(stripSystemBinDir('/USR/BIN/gcc'), 'gcc');
  assert.equal(stripSystemBinDir('/bin/cc'), 'cc');
  assert.equal(stripSystemBinDir('/usr/local/bin/gcc'), '/usr/local/bin/gcc');
});

test('names in a whitelist directory or the name set pass; others are refused', () => {
  assert.deepEqual(checkCompiler('hang-cc', opts), { ok: true });
  assert.deepEqual(checkCompiler('/usr/bin/gcc', opts), { ok: true });
  const sh = checkCompiler('sh', opts);
  assert.ok(!sh.ok && /sh not in .* whitelist/.test(sh.reason));
});

test('any other path is refused, even to a whitelisted name', () => {
  const r = checkCompiler(`${FIXTURE_BIN}/hang-cc`, opts);
  assert.ok(!r.ok && /cannot be an absolute path/.test(r.reason));
  const rel = checkCompiler('../whitelist/hang-cc', opts);
  assert.ok(!rel.ok);
});

test('--enable-tcp-insecure lets anything through', () => {
  assert.deepEqual(checkCompiler('sh', { ...opts, insecure: true }), { ok: true });
});

test('-fplugin= is refused; -specs= only when the file is under --sysroot', async () => {
  assert.equal((await checkOptions(['gcc', '-fplugin=/tmp/evil.so', '-c', 'a.c'])).ok, false);
  assert.equal((await checkOptions(['gcc', '-specs=x.specs', '-c', 'a.c'])).ok, false);
  assert.equal(
    (await checkOptions(['gcc', '-specs=fixtures/whitelist/hang-cc', '-c', 'a.c'], `${ROOT}test`))
      .ok,
    true,
  );
  assert.equal(
    (await checkOptions(['gcc', '-specs=nothing-here', '-c', 'a.c'], `${ROOT}test`)).ok,
    false,
  );
  assert.equal((await checkOptions(['gcc', '-O2', '-c', 'a.c'])).ok, true);
});

test('compiler names found on PATH follow update-distcc-symlinks', () => {
  for (const n of [
    'cc',
    'c++',
    'gcc',
    'g++',
    'gcc-12',
    'x86_64-linux-gnu-gcc',
    'x86_64-linux-gnu-g++-12',
    'clang',
    'clang++-14',
    'i686-linux-gnu-gcc',
  ]) {
    assert.match(n, COMPILER_NAME);
  }
  for (const n of [
    'sh',
    'gcc-ar',
    'gcc-ar-12',
    'c++filt',
    'clang-format',
    'x86_64-linux-gnu-gcc-nm-12',
    'python3',
  ]) {
    assert.doesNotMatch(n, COMPILER_NAME);
  }
});
