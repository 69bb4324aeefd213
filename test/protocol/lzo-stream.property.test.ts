// Property tests of the streaming LZO decoder (fast-check): any data, any
// split, any pausing, any piece size and budget gives lzoDecompress's answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lzoCompress, lzoDecompress } from '../../src/protocol/lzo.js';
import { drive, splitAt } from '../helpers/lzo-stream.js';

/** Data LZO finds matches in: fragments repeated, zero runs, noise. */
const data = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc
    .array(
      fc.record({
        fragment: fc.uint8Array({ minLength: 1, maxLength: 40 }),
        times: fc.integer({ min: 1, max: 300 }),
      }),
      { maxLength: 20 },
    )
    .map((parts) =>
      Buffer.concat(
        parts.map(({ fragment, times }) => Buffer.concat(Array(times).fill(fragment) as Buffer[])),
      ),
    ),
);

const driving = fc.record({
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  pieceSize: fc.integer({ min: 64, max: 70000 }),
  outputPerCall: fc.integer({ min: 1, max: 20000 }),
  pauses: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
});

function keepGoing(pauses: boolean[]): () => boolean {
  let i = 0;
  return () => !pauses[i++ % pauses.length];
}

test('a compressed stream decodes to its data, however it is fed', () => {
  fc.assert(
    fc.property(data, driving, (input, { cuts, pieceSize, outputPerCall, pauses }) => {
      const plain = Buffer.from(input);
      const stream = lzoCompress(plain);
      const { output } = drive(splitAt(stream, cuts), {
        maxOutput: plain.length,
        pieceSize,
        outputPerCall,
        keepGoing: keepGoing(pauses),
      });
      assert.ok(output.equals(plain));
    }),
    { numRuns: 1000 },
  );
});

test('on any bytes, the stream decoder and lzoDecompress agree', () => {
  const damaged = fc
    .tuple(
      data,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([input, edits]) => {
      const stream = Buffer.from(lzoCompress(input));
      for (const [at, value] of edits) stream[at % stream.length] = value;
      return stream;
    });
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 500 }), damaged),
      fc.integer({ min: 0, max: 200_000 }),
      driving,
      (bytes, maxOutput, { cuts, pieceSize, outputPerCall, pauses }) => {
        let want: Buffer | Error;
        try {
          want = lzoDecompress(bytes, maxOutput);
        } catch (err) {
          want = err as Error;
        }
        let got: Buffer | Error;
        try {
          got = drive(splitAt(bytes, cuts), {
            maxOutput,
            pieceSize,
            outputPerCall,
            keepGoing: keepGoing(pauses),
          }).output;
        } catch (err) {
          got = err as Error;
        }
        if (want instanceof Error) {
          assert.ok(got instanceof Error, `decoded what lzoDecompress rejects: ${want.message}`);
          assert.match(got.message, /^lzo: /);
        } else {
          assert.ok(!(got instanceof Error), `rejected what lzoDecompress decodes: ${String(got)}`);
          assert.ok(got.equals(want));
        }
      },
    ),
    { numRuns: 3000 },
  );
});
