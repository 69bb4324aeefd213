import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { lzoCompress, lzoDecompress } from '../../src/protocol/lzo.js';

// Reference: Debian's python3-lzo (liblzo2 2.10). Level 1 is lzo1x_1_compress,
// the compressor distcc uses; level 9 is lzo1x_999, whose output also has the
// M1 instructions LZO1X-1 never emits. The system python, not a pyenv one.
const PYTHON = '/usr/bin/python3';

function pythonLzo(data: Uint8Array, level: 1 | 9): Buffer {
  return execFileSync(
    PYTHON,
    [
      '-c',
      'import sys, lzo; ' +
        `sys.stdout.buffer.write(lzo.compress(sys.stdin.buffer.read(), ${level}, False))`,
    ],
    { input: data, maxBuffer: 256 * 1024 * 1024 },
  );
}

/** xorshift32: deterministic data, so any failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/** C-like source lines built from a seeded PRNG: compressible, not trivially. */
function cLikeText(n: number, seed: number): Buffer {
  const next = prng(seed);
  const types = ['int', 'unsigned', 'size_t', 'char *', 'const char *', 'struct dcc_hostdef *'];
  const names = ['len', 'buf', 'fd', 'ret', 'argv', 'host', 'tmp_fd', 'out_len', 'i', 'n_read'];
  const funcs = ['dcc_x_token_int', 'dcc_r_token_string', 'rs_trace', 'malloc', 'strlen', 'free'];
  const pick = (list: string[]): string => list[next() % list.length]!;
  const lines: string[] = [];
  let size = 0;
  while (size < n) {
    let line: string;
    switch (next() % 6) {
      case 0:
        line = `    ${pick(types)} ${pick(names)} = ${next() % 1000};`;
        break;
      case 1:
        line = `    if ((ret = ${pick(funcs)}(${pick(names)}, ${pick(names)})) != 0)`;
        break;
      case 2:
        line = `        return ${pick(names)} + ${next() % 64};`;
        break;
      case 3:
        line = `static int ${pick(funcs)}_${next() % 100}(${pick(types)} ${pick(names)}) {`;
        break;
      case 4:
        line = `    /* ${pick(names)} ${pick(funcs)} ${(next() % 65536).toString(16)} */`;
        break;
      default:
        line = '}';
    }
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n').subarray(0, n);
}

const C_SOURCE = `/* compress.c -- body compression for the distcc protocol */
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "distcc.h"
#include "trace.h"
#include "util.h"
#include "exitcode.h"
#include "minilzo.h"

static lzo_align_t work_mem[LZO1X_1_MEM_COMPRESS / sizeof(lzo_align_t) + 1];

int dcc_compress_lzo1x_alloc(const char *in_buf, size_t in_len,
                             char **out_buf_ret, size_t *out_len_ret)
{
    int lzo_ret;
    char *out_buf = NULL;
    size_t out_size;
    lzo_uint out_len;

    /* NB: "the output block may get somewhat larger than the input block" */
    out_size = in_len + in_len / 64 + 16 + 3;

    out_buf = malloc(out_size);
    if (!out_buf) {
        rs_log_error("failed to allocate compression buffer");
        return EXIT_OUT_OF_MEMORY;
    }

    out_len = out_size;
    lzo_ret = lzo1x_1_compress((lzo_bytep) in_buf, in_len,
                               (lzo_bytep) out_buf, &out_len, work_mem);
    if (lzo_ret != LZO_E_OK) {
        rs_log_error("LZO1X1 compression failed: %d", lzo_ret);
        free(out_buf);
        return EXIT_IO_ERROR;
    }

    *out_buf_ret = out_buf;
    *out_len_ret = (size_t) out_len;

    rs_trace("compressed %ld bytes to %ld bytes: %d%%",
             (long) in_len, (long) out_len,
             (int) (in_len ? 100*out_len / in_len : 0));

    return 0;
}
`;

const C_TEXT_3MB = cLikeText(3 * 1024 * 1024, 7);
const RANDOM_30K = randomBytes(30000, 5);

const INPUTS: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x41])],
  ['short text', Buffer.from('Hello, distcc! Hello, distcc!')],
  // Under 32 bytes LZO1X-1 searches for no match at all; from 32 it does.
  ['31 bytes repeating', Buffer.from('hello '.repeat(6)).subarray(0, 31)],
  ['32 bytes repeating', Buffer.from('hello '.repeat(6)).subarray(0, 32)],
  ['C source', Buffer.from(C_SOURCE)],
  ['repeated "abc"', Buffer.from('abc'.repeat(20000))],
  ['repeated 7-byte pattern', Buffer.from('distcc\n'.repeat(30000))],
  ['all 256 byte values', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
  ['all byte values x4', Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff))],
  ['random 100 KB', randomBytes(100 * 1024, 1)],
  ['random block repeated (far matches)', Buffer.concat([RANDOM_30K, RANDOM_30K, RANDOM_30K])],
  ['C-like text 3 MB', C_TEXT_3MB],
  ['exactly 49152 bytes', C_TEXT_3MB.subarray(0, 49152)],
  ['exactly 49153 bytes', C_TEXT_3MB.subarray(0, 49153)],
  ['two chunks + 20 bytes', C_TEXT_3MB.subarray(0, 2 * 49152 + 20)],
  ['two chunks + 21 bytes', C_TEXT_3MB.subarray(0, 2 * 49152 + 21)],
  ['zeros 1 MB', Buffer.alloc(1024 * 1024)],
  ['zeros 49153', Buffer.alloc(49153)],
  [
    'zero runs between text',
    Buffer.concat([Buffer.from(C_SOURCE), Buffer.alloc(100000), Buffer.from(C_SOURCE)]),
  ],
];

void describe('lzoCompress matches python3-lzo (liblzo2 lzo1x_1_compress) byte for byte', () => {
  for (const [name, data] of INPUTS) {
    void it(`${name} (${data.length} bytes)`, () => {
      const ours = lzoCompress(data);
      const ref = pythonLzo(data, 1);
      assert.equal(ours.length, ref.length, 'compressed length');
      assert.ok(ours.equals(ref), 'compressed bytes differ');
    });
  }

  void it('empty input is the bare end marker', () => {
    assert.deepEqual([...lzoCompress(new Uint8Array(0))], [0x11, 0x00, 0x00]);
  });

  void it('compresses repetitive input and expands random input by at most the LZO bound', () => {
    assert.ok(lzoCompress(C_TEXT_3MB).length < C_TEXT_3MB.length / 2);
    const random = randomBytes(100 * 1024, 1);
    assert.ok(lzoCompress(random).length <= random.length + random.length / 16 + 67);
  });
});

void describe('lzoDecompress', () => {
  for (const [name, data] of INPUTS) {
    void it(`round-trips ${name}`, () => {
      const back = lzoDecompress(lzoCompress(data), data.length);
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data), 'round trip differs');
    });
  }

  for (const [name, data] of INPUTS) {
    void it(`decodes python3-lzo's level 1 and level 9 output of ${name}`, () => {
      assert.ok(lzoDecompress(pythonLzo(data, 1), data.length).equals(data), 'level 1');
      assert.ok(lzoDecompress(pythonLzo(data, 9), data.length).equals(data), 'level 9');
    });
  }

  void it('decodes both kinds of M1 match', () => {
    // 2400 literals (0 = extended run: 15 + 3 + 9 * 255 + 87), then an M1 right
    // after a literal run: 3 bytes from distance 0x801; then the end marker.
    const lit = randomBytes(2400, 3);
    const after = Buffer.concat([
      Buffer.from([0x00, ...Array<number>(9).fill(0), 87]),
      lit,
      Buffer.from([0x00, 0x00, 0x11, 0x00, 0x00]),
    ]);
    const expected = Buffer.concat([lit, lit.subarray(2400 - 0x801, 2400 - 0x801 + 3)]);
    assert.ok(lzoDecompress(after, 10000).equals(expected));

    // "abcd", M2 (3 bytes, distance 4, 1 trailing literal) "x", then an M1
    // after a match: 2 bytes from distance 2.
    const stream = Buffer.from([
      17 + 4,
      ...Buffer.from('abcd'),
      (2 << 5) | (3 << 2) | 1,
      0x00,
      0x78,
      1 << 2,
      0x00,
      0x11,
      0x00,
      0x00,
    ]);
    assert.equal(lzoDecompress(stream, 100).toString(), 'abcdabcxcx');
  });

  void it('throws on every truncation of a real stream', () => {
    const data = Buffer.concat([Buffer.from(C_SOURCE), cLikeText(6000, 11), Buffer.alloc(3000)]);
    const full = lzoCompress(data);
    assert.ok(lzoDecompress(full, data.length).equals(data));
    for (let n = 0; n < full.length; n++) {
      assert.throws(
        () => lzoDecompress(full.subarray(0, n), data.length),
        /lzo: input overrun/,
        `prefix of ${n} of ${full.length} bytes`,
      );
    }
  });

  void it('throws on a stream without its end marker or with bytes after it', () => {
    const full = lzoCompress(Buffer.from(C_SOURCE));
    assert.throws(() => lzoDecompress(full.subarray(0, full.length - 3), 1 << 20), /input overrun/);
    assert.throws(
      () => lzoDecompress(Buffer.concat([full, Buffer.from([0])]), 1 << 20),
      /after the end marker/,
    );
    assert.throws(() => lzoDecompress(new Uint8Array(0), 1 << 20), /input overrun/);
  });

  void it('throws on a look-behind before the start of the output', () => {
    const lit = [17 + 4, ...Buffer.from('abcd')];
    const end = [0x11, 0x00, 0x00];
    // Control: M2, 3 bytes from distance 4 is fine.
    assert.equal(
      lzoDecompress(Buffer.from([...lit, (2 << 5) | (3 << 2), 0x00, ...end]), 100).toString(),
      'abcdabc',
    );
    // M2 from distance 12, M3 from distance 16384, M4 from 0x4001.. 4 bytes in.
    for (const match of [
      [(2 << 5) | (3 << 2), 0x01],
      [0x21, 0xfc, 0xff],
      [0x11, 0x04, 0x00],
    ]) {
      assert.throws(
        () => lzoDecompress(Buffer.from([...lit, ...match, ...end]), 100),
        /lzo: look-behind overrun/,
        `match ${match.join(',')}`,
      );
    }
  });

  void it('throws when the output would exceed maxOutput', () => {
    const data = cLikeText(200000, 13);
    const stream = lzoCompress(data);
    assert.ok(lzoDecompress(stream, data.length).equals(data));
    assert.throws(() => lzoDecompress(stream, data.length - 1), /maxOutput/);
    assert.throws(() => lzoDecompress(stream, 1000), /maxOutput/);
    assert.equal(lzoDecompress(lzoCompress(new Uint8Array(0)), 0).length, 0);
    assert.throws(() => lzoDecompress(lzoCompress(Buffer.from('x')), 0), /maxOutput/);

    // A small malicious stream claiming a 2.5 MB match (M3, length extended
    // by 10000 zero bytes) against a 1 MB limit.
    const bomb = Buffer.from([
      17 + 4,
      ...Buffer.from('abcd'),
      0x20,
      ...Array<number>(10000).fill(0),
      0xff,
      0x00,
      0x00,
      0x11,
      0x00,
      0x00,
    ]);
    assert.throws(() => lzoDecompress(bomb, 1024 * 1024), /maxOutput/);
    assert.equal(lzoDecompress(bomb, 4 * 1024 * 1024).length, 4 + 31 + 255 * 10000 + 255 + 2);
  });

  void it('rejects an invalid maxOutput', () => {
    const stream = lzoCompress(Buffer.from('x'));
    assert.throws(() => lzoDecompress(stream, -1), RangeError);
    assert.throws(() => lzoDecompress(stream, Number.NaN), RangeError);
  });
});
