// Property tests of the request decoder (fast-check): any bytes, any split.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { RequestDecoder, type CompileRequest } from '../../src/protocol/request-decoder.js';
import { request } from '../helpers/wire.js';

const arg = fc.string({ minLength: 0, maxLength: 40 }).filter((s) => !s.includes('\0'));
const validRequest = fc.record({
  version: fc.constantFrom(0, 1, 2),
  args: fc.array(arg, { minLength: 1, maxLength: 12 }),
  body: fc.uint8Array({ maxLength: 2000 }),
});

/** Feeds `bytes` cut at `cuts`; returns the request, undefined, or the thrown error. */
function decode(bytes: Buffer, cuts: number[]): CompileRequest | undefined | Error {
  const d = new RequestDecoder();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  let result: CompileRequest | undefined;
  try {
    for (const cut of [...points, bytes.length]) {
      const r = d.push(bytes.subarray(prev, cut));
      prev = cut;
      if (r) result = r;
    }
  } catch (err) {
    return err as Error;
  }
  return result;
}

test('a valid request decodes to itself, whatever the split', () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.array(fc.nat(), { maxLength: 8 }),
      ({ version, args, body }, cuts) => {
        const bytes = request(version, args, Buffer.from(body));
        const r = decode(bytes, cuts);
        assert.ok(
          r && !(r instanceof Error),
          `not decoded: ${r instanceof Error ? r.message : 'incomplete'}`,
        );
        assert.equal(r.version, version);
        assert.deepEqual(r.args, args);
        assert.deepEqual(r.body, Buffer.from(body));
      },
    ),
    { numRuns: 500 },
  );
});

test('any prefix of a valid request is incomplete, never a request or a crash', () => {
  fc.assert(
    fc.property(validRequest, fc.nat(), ({ version, args, body }, at) => {
      const bytes = request(version, args, Buffer.from(body));
      const cut = at % bytes.length;
      const r = decode(bytes.subarray(0, cut), []);
      assert.equal(r, undefined);
    }),
    { numRuns: 500 },
  );
});

test('random and bit-flipped bytes give a request, "need more", or a ProtocolError — nothing else', () => {
  const flipped = fc
    .tuple(validRequest, fc.nat(), fc.integer({ min: 0, max: 7 }))
    .map(([{ version, args, body }, at, bit]) => {
      const bytes = Buffer.from(request(version, args, Buffer.from(body)));
      const i = at % bytes.length;
      bytes[i] = bytes[i]! ^ (1 << bit);
      return bytes;
    });
  const random = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(fc.oneof(flipped, random), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const r = decode(bytes, cuts);
      if (r instanceof Error)
        assert.ok(r instanceof ProtocolError, `unexpected ${r.name}: ${r.message}`);
      // The same bytes in one piece decide the same way.
      const whole = decode(bytes, []);
      assert.equal(whole instanceof Error, r instanceof Error);
      assert.equal(whole === undefined, r === undefined);
    }),
    { numRuns: 2000 },
  );
});
