import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withPipe } from '../../src/compiler/pipe.js';

test('-pipe goes to gcc, g++, clang and cc by any target prefix or version suffix', () => {
  for (const cc of [
    'gcc',
    'g++',
    'cc',
    'c++',
    'clang',
    'clang++-16',
    'x86_64-linux-gnu-gcc',
    'x86_64-pc-linux-gnu-g++',
    'i686-linux-gnu-gcc-12',
    '/usr/bin/gcc-12',
  ]) {
    assert.deepEqual(withPipe([cc, '-c', 'x.i', '-o', 'x.o']), [
      cc,
      '-pipe',
      '-c',
      'x.i',
      '-o',
      'x.o',
    ]);
  }
});

test('-pipe is left out for other compilers, when it is there already, and with -save-temps', () => {
  for (const argv of [
    ['nvcc', '-c', 'x.i'],
    ['probe-cc', '-c', 'x.i'],
    ['gcc', '-pipe', '-c', 'x.i'],
    ['gcc', '-save-temps', '-c', 'x.i'],
    ['gcc', '-save-temps=obj', '-c', 'x.i'],
    ['g++', '--save-temps', '-c', 'x.ii'],
  ]) {
    assert.deepEqual(withPipe(argv), argv);
  }
});
