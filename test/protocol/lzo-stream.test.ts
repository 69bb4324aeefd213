import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { lzoCompress, lzoDecompress } from '../../src/protocol/lzo.js';
import { LzoStreamDecoder } from '../../src/protocol/lzo-stream.js';
import { drive, prng, randomChunks, splitAt } from '../helpers/lzo-stream.js';

// Reference compressor: Debian's python3-lzo (liblzo2 2.10). Level 1 is
// lzo1x_1_compress, distcc's; level 9 is lzo1x_999, whose output also has the
// M1 instructions and long literal runs LZO1X-1 never emits.
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

function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/** Text from a small vocabulary: compressible, with matches near and far. */
function wordText(n: number, seed: number): Buffer {
  const next = prng(seed);
  const words = ['int', 'return', 'dcc_x_token_int', '(fd,', 'len);', '\n', '{', '}', 'if', '0'];
  const parts: string[] = [];
  let size = 0;
  while (size < n) {
    const w = words[next() % words.length]!;
    parts.push(w, ' ');
    size += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** The system's C headers, concatenated: real C source, a few MB of it. */
function systemHeaders(): Buffer {
  const dir = '/usr/include';
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.h'))
    .sort();
  return Buffer.concat(names.map((f) => readFileSync(`${dir}/${f}`)));
}

const HEADERS = systemHeaders();
const STDIO = readFileSync('/usr/include/stdio.h');
const RANDOM_30K = randomBytes(30000, 5);

const INPUTS: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x41])],
  ['3 bytes', Buffer.from('abc')],
  ['short text', Buffer.from('Hello, distcc! Hello, distcc!')],
  ['32 bytes repeating', Buffer.from('hello '.repeat(6)).subarray(0, 32)],
  ['stdio.h', STDIO],
  ['word text 20 KB', wordText(20000, 3)],
  ['repeated "abc"', Buffer.from('abc'.repeat(20000))],
  ['all byte values x4', Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff))],
  ['random 5 KB', randomBytes(5000, 2)],
  ['random 300 KB', randomBytes(300 * 1024, 1)],
  ['random block repeated (far matches)', Buffer.concat([RANDOM_30K, RANDOM_30K, RANDOM_30K])],
  ['zeros 49153', Buffer.alloc(49153)],
  ['zeros 3 MB', Buffer.alloc(3 * 1024 * 1024)],
  ['zero runs between text', Buffer.concat([STDIO, Buffer.alloc(100000), STDIO])],
  ['/usr/include/*.h', HEADERS],
];

/** Streams to decode: each input by lzoCompress and by python3-lzo at levels 1 and 9. */
const STREAMS: { name: string; data: Buffer; stream: Buffer }[] = INPUTS.flatMap(([name, data]) => [
  { name: `${name}, lzoCompress`, data, stream: lzoCompress(data) },
  { name: `${name}, python3-lzo level 1`, data, stream: pythonLzo(data, 1) },
  { name: `${name}, python3-lzo level 9`, data, stream: pythonLzo(data, 9) },
]);

/** Small enough to decode once per split offset. */
function small(stream: Buffer, data: Buffer): boolean {
  return stream.length <= 3000 && data.length <= 64 * 1024;
}

void describe('LzoStreamDecoder decodes what lzoDecompress decodes', { timeout: 300_000 }, () => {
  for (const { name, data, stream } of STREAMS) {
    void it(`${name} (${data.length} bytes, ${stream.length} compressed)`, () => {
      // The oracle first: the one-shot decoder agrees with the input.
      assert.ok(lzoDecompress(stream, data.length).equals(data), 'lzoDecompress');
      const next = prng(data.length + stream.length);
      const check = (chunks: Uint8Array[], what: string, pieceSize?: number): void => {
        const { output } = drive(chunks, { maxOutput: data.length, pieceSize });
        assert.ok(output.equals(data), what);
      };

      check([stream], 'one chunk');
      check(randomChunks(stream, 64 * 1024, next), '64 KiB chunks');
      if (small(stream, data)) {
        check(randomChunks(stream, 1, next), 'byte at a time', 1000);
        for (let cut = 0; cut <= stream.length; cut++) {
          check(splitAt(stream, [cut]), `split at ${cut}`);
          check(splitAt(stream, [cut, cut + 1 + (next() % 64)]), `split at ${cut} and after`, 777);
        }
      } else {
        for (let i = 0; i < 12; i++) {
          const pieceSize = [1000, 4096, 65536, 256 * 1024][i % 4]!;
          check(
            randomChunks(stream, 1 + (next() % 100_000), next),
            `random chunks ${i}`,
            pieceSize,
          );
        }
      }
    });
  }

  void it('with a sink that pauses at random and small budgets per call', () => {
    const next = prng(99);
    for (const { name, data, stream } of STREAMS) {
      if (data.length > 4 * 1024 * 1024) continue;
      for (const [pieceSize, outputPerCall] of [
        [1, 1],
        [500, 3000],
        [70000, 100000],
        [256 * 1024, 1024 * 1024],
      ] as const) {
        // Each piece copies up to 48 KiB of history into a new window: keep it cheap.
        if (data.length > 1000 * pieceSize) continue;
        const { output } = drive(randomChunks(stream, 1 + (next() % 20000), next), {
          maxOutput: data.length,
          pieceSize,
          outputPerCall,
          keepGoing: () => next() % 3 !== 0,
        });
        assert.ok(output.equals(data), `${name}, pieces of ${pieceSize}`);
      }
    }
  });

  void it('hands over pieces of pieceSize, the last shorter, none for empty output', () => {
    const data = wordText(1_000_000, 8);
    const { pieces, output } = drive([lzoCompress(data)], {
      maxOutput: data.length,
      pieceSize: 100_000,
    });
    assert.equal(pieces, 10);
    assert.ok(output.equals(data));
    assert.equal(drive([lzoCompress(Buffer.alloc(0))], { maxOutput: 0 }).pieces, 0);
  });

  void it('decodes both kinds of M1 match, split anywhere', () => {
    // 2400 literals (0 = extended run: 15 + 3 + 9 * 255 + 87), then an M1 right
    // after a literal run: 3 bytes from distance 0x801; then the end marker.
    const lit = randomBytes(2400, 3);
    const far = Buffer.concat([
      Buffer.from([0x00, ...Array<number>(9).fill(0), 87]),
      lit,
      Buffer.from([0x00, 0x00, 0x11, 0x00, 0x00]),
    ]);
    const farOut = Buffer.concat([lit, lit.subarray(2400 - 0x801, 2400 - 0x801 + 3)]);
    // "abcd", M2 (3 bytes, distance 4, 1 trailing literal) "x", then an M1
    // after a match: 2 bytes from distance 2.
    const near = Buffer.from([
      21,
      ...Buffer.from('abcd'),
      0x4d,
      0x00,
      0x78,
      0x04,
      0x00,
      0x11,
      0,
      0,
    ]);
    for (const [stream, expected] of [
      [far, farOut],
      [near, Buffer.from('abcdabcxcx')],
    ] as const) {
      for (let cut = 0; cut <= stream.length; cut++) {
        const pieceSize = cut % 16 === 0 ? 7 : undefined;
        const { output } = drive(splitAt(stream, [cut]), { maxOutput: 10000, pieceSize });
        assert.ok(output.equals(expected), `split at ${cut}`);
      }
      assert.ok(
        drive(splitAt(stream, [...stream.keys()]), { maxOutput: 10000 }).output.equals(expected),
      );
    }
  });

  void it('reaches back the farthest distance, 0xbfff, right after a window ends', () => {
    // A literal run of 60000 bytes (0, 235 zeros, 57: 15 + 3 + 235 * 255 + 57),
    // then M4 with distance 0xbfff and length 100 (0x18, 91: 7 + 2 + 91;
    // 0xfc, 0xff: 0x4000 + 0x3fff + 0x4000), then the end marker.
    const lit = randomBytes(60000, 17);
    const stream = Buffer.concat([
      Buffer.from([0x00, ...Array<number>(235).fill(0), 57]),
      lit,
      Buffer.from([0x18, 91, 0xfc, 0xff, 0x11, 0x00, 0x00]),
    ]);
    const expected = Buffer.concat([lit, lit.subarray(60000 - 0xbfff, 60000 - 0xbfff + 100)]);
    assert.ok(lzoDecompress(stream, 70000).equals(expected));
    for (const pieceSize of [60000, 59999, 30000, 20000, 12345, 1000]) {
      for (const chunks of [[stream], splitAt(stream, [60237, 60238, 60239, 60240])]) {
        const { output } = drive(chunks, { maxOutput: 70000, pieceSize });
        assert.ok(output.equals(expected), `pieces of ${pieceSize}`);
      }
    }
  });
});

/** "abcd", then one M3 match of about 255 * zeros bytes at distance 4, then the end. */
function bomb(zeros: number): { stream: Buffer; size: number } {
  const stream = Buffer.alloc(5 + 1 + zeros + 3 + 3);
  stream.set([17 + 4, ...Buffer.from('abcd'), 0x20], 0);
  stream.set([0xff, 3 << 2, 0x00, 0x11, 0x00, 0x00], 6 + zeros);
  return { stream, size: 4 + 31 + 255 * zeros + 255 + 2 };
}

void describe('LzoStreamDecoder on a bomb', { timeout: 300_000 }, () => {
  // 2.1 MB that expand to 511 MiB.
  const { stream, size } = bomb(2_101_300);

  void it('fails as soon as the zero run says the output is over maxOutput', () => {
    const maxOutput = 8 * 1024 * 1024;
    const d = new LzoStreamDecoder({ maxOutput, sink: () => true });
    const chunks = randomChunks(stream, 64 * 1024, prng(1));
    let i = 0;
    assert.throws(
      () => {
        for (; i < chunks.length; i++) {
          let ok = d.push(chunks[i]!);
          while (!ok) ok = d.resume();
        }
      },
      { message: `lzo: output overrun: stream decodes to more than maxOutput (${maxOutput})` },
    );
    // 8 MiB / 255 is under 33 KB of zeros: the first chunk or two.
    assert.ok(d.inputBytes < 200 * 1024, `read ${d.inputBytes} bytes first`);
    assert.ok(d.outputBytes <= maxOutput);
    // The one-shot decoder says the same.
    assert.throws(() => lzoDecompress(stream, maxOutput), {
      message: `lzo: output overrun: stream decodes to more than maxOutput (${maxOutput})`,
    });
  });

  void it('decodes it whole in bounded memory and in bounded steps', () => {
    const pattern = Buffer.from('abcd'.repeat((256 * 1024) / 4 + 1));
    const start = process.memoryUsage();
    let peak = 0;
    let offset = 0;
    let pieces = 0;
    const d = new LzoStreamDecoder({
      maxOutput: 600 * 1024 * 1024,
      sink: (piece) => {
        const at = offset % 4;
        assert.ok(piece.equals(pattern.subarray(at, at + piece.length)), `piece at ${offset}`);
        offset += piece.length;
        if (++pieces % 64 === 0) {
          const now = process.memoryUsage();
          peak = Math.max(
            peak,
            now.arrayBuffers - start.arrayBuffers + now.heapUsed - start.heapUsed,
          );
        }
        return true;
      },
    });
    let calls = 0;
    let maxCall = 0;
    const call = (f: () => boolean): boolean => {
      const before = d.outputBytes;
      const ok = f();
      calls++;
      maxCall = Math.max(maxCall, d.outputBytes - before);
      return ok;
    };
    for (let i = 0; i < stream.length; i += 64 * 1024) {
      const chunk = stream.subarray(i, i + 64 * 1024);
      let ok = call(() => d.push(chunk));
      while (!ok) ok = call(() => d.resume());
    }
    d.end();
    assert.equal(d.outputBytes, size);
    assert.equal(offset, size);
    assert.ok(size > 511 * 1024 * 1024);
    assert.equal(maxCall, 1024 * 1024, 'at most 1 MiB of output per call');
    assert.ok(calls >= size / (1024 * 1024), `${calls} calls`);
    // The decoder's own window is 304 KiB; the rest is garbage not yet collected.
    assert.ok(peak < 64 * 1024 * 1024, `memory grew by ${peak} bytes for ${size} of output`);
  });

  void it('decodes an lzoCompress bomb (64 MiB of zeros) with 1 KiB per call', () => {
    const data = Buffer.alloc(64 * 1024 * 1024);
    const z = lzoCompress(data);
    const { output, maxCallOutput } = drive(randomChunks(z, 64 * 1024, prng(4)), {
      maxOutput: data.length,
      outputPerCall: 1024,
    });
    assert.equal(maxCallOutput, 1024);
    assert.ok(output.equals(data));
  });
});

void describe('LzoStreamDecoder on corrupt streams', { timeout: 300_000 }, () => {
  const data = Buffer.concat([STDIO, wordText(6000, 11), Buffer.alloc(3000)]);
  const full = lzoCompress(data);

  void it('throws at end() on every truncation of a real stream, never before', () => {
    for (const stream of [full, pythonLzo(data, 9)]) {
      for (let n = 0; n < stream.length; n++) {
        const cut = n >> 1;
        assert.throws(
          () => drive(splitAt(stream.subarray(0, n), [cut]), { maxOutput: data.length }),
          { message: `lzo: input overrun at byte ${n} of ${n} (truncated or corrupt stream)` },
          `prefix of ${n} of ${stream.length} bytes`,
        );
      }
    }
  });

  void it('throws on bytes after the end marker, in the same chunk or a later one', () => {
    const after = Buffer.concat([full, Buffer.from([0, 1, 2])]);
    const message = 'lzo: 3 byte(s) of input after the end marker (corrupt stream)';
    assert.throws(() => lzoDecompress(after, data.length), { message });
    for (const cut of [0, 1, full.length - 1, full.length]) {
      assert.throws(() => drive(splitAt(after, [cut]), { maxOutput: data.length }), { message });
    }
    const d = new LzoStreamDecoder({ maxOutput: data.length, sink: () => true });
    assert.equal(d.push(full), true);
    assert.equal(d.push(Buffer.alloc(0)), true);
    assert.throws(() => d.push(Buffer.from([7])), /1 byte\(s\) of input after the end marker/);
  });

  void it('throws on a look-behind before the start of the output, as lzoDecompress does', () => {
    const lit = [17 + 4, ...Buffer.from('abcd')];
    const end = [0x11, 0x00, 0x00];
    // M2 from distance 12, M3 from 16384, M4 from 0x4001, M1 from 0x801+.
    for (const match of [
      [0x4c, 0x01],
      [0x21, 0xfc, 0xff],
      [0x11, 0x04, 0x00],
      [0x00, 0x00],
    ]) {
      const stream = Buffer.from([...lit, ...match, ...end]);
      let message = '';
      assert.throws(
        () => lzoDecompress(stream, 100),
        (err: Error) => ((message = err.message), true),
      );
      assert.match(message, /^lzo: look-behind overrun/);
      for (let cut = 0; cut <= stream.length; cut++) {
        assert.throws(() => drive(splitAt(stream, [cut]), { maxOutput: 100 }), { message });
      }
    }
  });

  void it('throws when the output would exceed maxOutput, with the one-shot text', () => {
    const words = wordText(200000, 13);
    const stream = lzoCompress(words);
    for (const maxOutput of [0, 1000, words.length - 1]) {
      const message = `lzo: output overrun: stream decodes to more than maxOutput (${maxOutput})`;
      assert.throws(() => lzoDecompress(stream, maxOutput), { message });
      assert.throws(() => drive(randomChunks(stream, 5000, prng(maxOutput)), { maxOutput }), {
        message,
      });
    }
    assert.ok(drive([stream], { maxOutput: words.length }).output.equals(words));
  });

  void it('agrees with lzoDecompress on random bytes and on damaged streams', () => {
    const next = prng(12345);
    const streams = [full, pythonLzo(data, 9), lzoCompress(Buffer.alloc(20000))];
    for (let i = 0; i < 3000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = randomBytes(next() % 400, next());
        // Often start like a literal run, to get past the first instruction.
        if (i % 4 === 0 && input.length > 0) input[0] = 17 + (next() % 40);
      } else {
        input = Buffer.from(streams[i % streams.length]!);
        for (let k = 1 + (next() % 3); k > 0; k--) input[next() % input.length] = next() & 0xff;
      }
      const maxOutput = 100_000;
      let want: Buffer | undefined;
      try {
        want = lzoDecompress(input, maxOutput);
      } catch {
        want = undefined;
      }
      let got: Buffer | undefined;
      try {
        got = drive(randomChunks(input, 1 + (next() % 300), next), {
          maxOutput,
          pieceSize: 1 + (next() % 5000),
          outputPerCall: 1 + (next() % 20000),
        }).output;
      } catch (err) {
        assert.match((err as Error).message, /^lzo: /);
        got = undefined;
      }
      assert.equal(got === undefined, want === undefined, `input ${i}: ${input.toString('hex')}`);
      if (got && want) assert.ok(got.equals(want), `input ${i}`);
    }
  });
});

void describe('LzoStreamDecoder API', () => {
  const stream = lzoCompress(wordText(3_000_000, 21));

  void it('an empty input is a truncated stream', () => {
    const d = new LzoStreamDecoder({ maxOutput: 10, sink: () => true });
    assert.throws(() => d.end(), {
      message: 'lzo: input overrun at byte 0 of 0 (truncated or corrupt stream)',
    });
  });

  void it('refuses push() and end() while paused, and calls made from the sink', () => {
    const d = new LzoStreamDecoder({ maxOutput: 1 << 30, sink: () => false });
    assert.equal(d.push(stream), false);
    assert.ok(d.paused);
    assert.throws(() => d.push(Buffer.alloc(1)), /push\(\) while paused/);
    assert.throws(() => d.end(), /end\(\) while paused/);
    while (!d.resume());
    d.end();
    assert.throws(() => d.push(Buffer.alloc(0)), /push\(\) after end\(\)/);

    const inner: LzoStreamDecoder = new LzoStreamDecoder({
      maxOutput: 1 << 30,
      sink: (): boolean => inner.push(Buffer.alloc(0)),
    });
    assert.throws(() => inner.push(stream), /push\(\) called from the sink/);
  });

  void it('is dead after an error: every call throws it again', () => {
    const boom = new Error('sink failed');
    const d = new LzoStreamDecoder({
      maxOutput: 1 << 30,
      sink: () => {
        throw boom;
      },
    });
    assert.throws(() => d.push(stream), boom);
    assert.throws(() => d.resume(), boom);
    assert.throws(() => d.push(stream), boom);
    assert.throws(() => d.end(), boom);
  });

  void it('validates its options', () => {
    const sink = (): boolean => true;
    assert.throws(() => new LzoStreamDecoder({ maxOutput: -1, sink }), RangeError);
    assert.throws(() => new LzoStreamDecoder({ maxOutput: Number.NaN, sink }), RangeError);
    assert.throws(() => new LzoStreamDecoder({ maxOutput: 1, sink, pieceSize: 0 }), RangeError);
    assert.throws(() => new LzoStreamDecoder({ maxOutput: 1, sink, outputPerCall: 1.5 }), {
      message: 'lzo: outputPerCall must be an integer >= 1, got 1.5',
    });
    assert.throws(
      () => new LzoStreamDecoder({ maxOutput: 1, sink: undefined as unknown as () => boolean }),
      TypeError,
    );
  });

  void it('counts its input and output', () => {
    const pieces: number[] = [];
    const d = new LzoStreamDecoder({ maxOutput: 1 << 30, sink: (p) => pieces.push(p.length) > 0 });
    let ok = d.push(stream.subarray(0, 1000));
    assert.ok(ok);
    assert.equal(d.inputBytes, 1000);
    assert.ok(d.outputBytes > 1000);
    ok = d.push(stream.subarray(1000));
    while (!ok) ok = d.resume();
    d.end();
    assert.equal(d.outputBytes, 3_000_000);
    assert.equal(
      pieces.reduce((a, b) => a + b, 0),
      3_000_000,
    );
  });
});
