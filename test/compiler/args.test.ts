import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteArgs, scanArgs } from '../../src/compiler/args.js';

test('a plain compile is distributable with its input and output found', () => {
  const r = scanArgs(['gcc', '-O2', '-c', 'src/a.c', '-o', 'obj/a.o']);
  assert.equal(r.distributable, true);
  if (!r.distributable) return;
  assert.equal(r.input, 'src/a.c');
  assert.equal(r.output, 'obj/a.o');
});

test('the output is implied from the input when -o is absent (.s with -S)', () => {
  const c = scanArgs(['gcc', '-c', 'dir/a.cc']);
  assert.ok(c.distributable && c.output === 'a.o');
  const s = scanArgs(['gcc', '-S', 'a.c']);
  assert.ok(s.distributable && s.output === 'a.s');
  const joined = scanArgs(['gcc', '-c', 'a.c', '-oout.o']);
  assert.ok(joined.distributable && joined.output === 'out.o');
});

const local: [string, string[]][] = [
  ['-E', ['gcc', '-E', 'a.c']],
  ['-M', ['gcc', '-M', '-c', 'a.c']],
  ['-MM', ['gcc', '-MM', '-c', 'a.c']],
  ['no -c (a link)', ['gcc', 'a.c', '-o', 'a']],
  ['two sources', ['gcc', '-c', 'a.c', 'b.c']],
  ['two outputs', ['gcc', '-c', 'a.c', '-o', 'a.o', '-o', 'b.o']],
  ['output to stdout', ['gcc', '-c', 'a.c', '-o', '-']],
  ['-march=native', ['gcc', '-march=native', '-c', 'a.c']],
  ['-fprofile-arcs', ['gcc', '-fprofile-arcs', '-c', 'a.c']],
  ['-fprofile-generate=dir', ['gcc', '-fprofile-generate=dir', '-c', 'a.c']],
  ['--coverage', ['gcc', '--coverage', '-c', 'a.c']],
  ['-frepo', ['gcc', '-frepo', '-c', 'a.cc']],
  ['-Wa,-a listing', ['gcc', '-Wa,-alh=a.lst', '-c', 'a.c']],
  ['-x assembler-with-cpp', ['gcc', '-x', 'assembler-with-cpp', '-c', 'a.c']],
  ['-xc joined (distcc checks the next argument)', ['gcc', '-xc', '-c', 'a.c']],
  ['assembly input', ['gcc', '-c', 'a.S']],
  ['autoconf conftest', ['gcc', '-c', 'conftest.c']],
  ['no input', ['gcc', '-c']],
];

for (const [what, argv] of local) {
  test(`stays local: ${what}`, () => {
    assert.equal(scanArgs(argv).distributable, false);
  });
}

test('-E is flagged as a local preprocessing job', () => {
  const r = scanArgs(['gcc', '-E', 'a.c']);
  assert.ok(!r.distributable && r.localCpp === true);
});

test('-MD -MF deps and -x c with a following c are distributable', () => {
  assert.equal(scanArgs(['gcc', '-MD', '-MF', 'a.d', '-c', 'a.c']).distributable, true);
  assert.equal(scanArgs(['gcc', '-x', 'c', '-c', 'a.c']).distributable, true);
});

test('rewriteArgs swaps in the server paths for input and output', () => {
  const argv = ['gcc', '-c', 'hello.c', '-o', 'hello.o'];
  const scan = scanArgs(argv);
  assert.ok(scan.distributable);
  assert.deepEqual(rewriteArgs(argv, scan, '/j/input.i', '/j/output.o'), [
    'gcc',
    '-c',
    '/j/input.i',
    '-o',
    '/j/output.o',
  ]);
  const implied = ['gcc', '-c', 'hello.c'];
  const s2 = scanArgs(implied);
  assert.ok(s2.distributable);
  assert.deepEqual(rewriteArgs(implied, s2, '/j/input.i', '/j/output.o'), [
    'gcc',
    '-c',
    '/j/input.i',
    '-o',
    '/j/output.o',
  ]);
  const joined = ['gcc', '-c', 'hello.c', '-ohello.o'];
  const s3 = scanArgs(joined);
  assert.ok(s3.distributable);
  assert.deepEqual(rewriteArgs(joined, s3, '/j/input.i', '/j/output.o'), [
    'gcc',
    '-c',
    '/j/input.i',
    '-o/j/output.o',
  ]);
});

test('rewriteArgs names -specs files by their path under --sysroot, in each spelling', () => {
  const argv = ['gcc', '-specs=a.specs', '--specs=b/c.specs', '-specs', 'd', '--specs', 'e'];
  const full = [...argv, '-c', 'x.c', '-o', 'x.o'];
  const scan = scanArgs(full);
  assert.ok(scan.distributable);
  assert.deepEqual(rewriteArgs(full, scan, '/j/input.i', '/j/output.o', '/srv/root'), [
    'gcc',
    '-specs=/srv/root/a.specs',
    '-specs=/srv/root/b/c.specs',
    '-specs',
    '/srv/root/d',
    '--specs',
    '/srv/root/e',
    '-c',
    '/j/input.i',
    '-o',
    '/j/output.o',
  ]);
  assert.deepEqual(rewriteArgs(full, scan, '/j/input.i', '/j/output.o').slice(1, 7), argv.slice(1));
});

test('rewriteArgs compiles a plain job as preprocessed input: -x c becomes -x cpp-output', () => {
  for (const [lang, pre] of [
    ['c', 'cpp-output'],
    ['c++', 'c++-cpp-output'],
    ['objective-c', 'objective-c-cpp-output'],
    ['objective-c++', 'objective-c++-cpp-output'],
    ['cpp-output', 'cpp-output'],
  ]) {
    const argv = ['gcc', '-x', lang!, '-c', 'x.c', '-o', 'x.o'];
    const scan = scanArgs(argv);
    assert.ok(scan.distributable, lang);
    assert.deepEqual(rewriteArgs(argv, scan, '/j/input.i', '/j/output.o'), [
      'gcc',
      '-x',
      pre,
      '-c',
      '/j/input.i',
      '-o',
      '/j/output.o',
    ]);
  }
});
