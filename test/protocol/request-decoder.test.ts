import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestDecoder } from '../../src/protocol/request-decoder.js';
import { ProtocolError } from '../../src/errors.js';
import { request, tok } from '../helpers/wire.js';

const argv = ['x86_64-linux-gnu-gcc', '-O2', '-c', 'hello.c', '-o', 'hello.o'];
const body = Buffer.from('# 1 "hello.c"\nint main(void) { return 0; }\n');
const recorded = request(1, argv, body);

function decodeInPieces(bytes: Buffer, cuts: number[]) {
  const d = new RequestDecoder();
  let result;
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    const r = d.push(bytes.subarray(prev, cut));
    prev = cut;
    if (r) result = r;
  }
  return result;
}

test('decodes a whole request in one chunk', () => {
  const r = new RequestDecoder().push(recorded);
  assert.ok(r);
  assert.equal(r.version, 1);
  assert.deepEqual(r.args, argv);
  assert.deepEqual(r.body, body);
});

test('decodes the same request split at every offset', () => {
  for (let cut = 0; cut <= recorded.length; cut++) {
    const r = decodeInPieces(recorded, [cut]);
    assert.ok(r, `no request with a cut at ${cut}`);
    assert.deepEqual(r.args, argv, `args differ with a cut at ${cut}`);
    assert.deepEqual(r.body, body, `body differs with a cut at ${cut}`);
  }
});

test('decodes the request fed one byte at a time and returns it only at the end', () => {
  const d = new RequestDecoder();
  for (let i = 0; i < recorded.length - 1; i++) {
    assert.equal(d.push(recorded.subarray(i, i + 1)), undefined, `complete too early at ${i}`);
  }
  const r = d.push(recorded.subarray(recorded.length - 1));
  assert.ok(r);
  assert.deepEqual(r.args, argv);
});

test('version 2 and version 0 (distcc accepts DIST00000000) decode; empty DOTI is allowed', () => {
  const r2 = new RequestDecoder().push(request(2, argv, Buffer.alloc(0)));
  assert.equal(r2?.version, 2);
  assert.equal(r2?.body.length, 0);
  assert.equal(new RequestDecoder().push(request(0, argv, body))?.version, 0);
});

test('hex digits in upper case are accepted, as strtoul does', () => {
  const bytes = Buffer.concat([
    Buffer.from('DIST00000001ARGC00000001ARGV0000000Agcc-123456'),
    tok('DOTI', 0),
  ]);
  assert.deepEqual(new RequestDecoder().push(bytes)?.args, ['gcc-123456']);
});

const bad: [string, Buffer, RegExp][] = [
  ['wrong first token', Buffer.from('HELO00000001'), /expected token DIST, got HELO00000001/],
  ['not hex digits', Buffer.from('DIST0000000g'), /not a token/],
  ['version over 3', tok('DIST', 4), /protocol version 4/],
  ['ARGC of zero', Buffer.concat([tok('DIST', 1), tok('ARGC', 0)]), /ARGC must be 1 to/],
  [
    'ARGC over the limit',
    Buffer.concat([tok('DIST', 1), tok('ARGC', 5000)]),
    /ARGC must be 1 to 4096, got 5000/,
  ],
  [
    'ARGV over the limit',
    Buffer.concat([tok('DIST', 1), tok('ARGC', 1), tok('ARGV', 1 << 20)]),
    /over the limit/,
  ],
  [
    'DOTI over the limit',
    Buffer.concat([
      tok('DIST', 1),
      tok('ARGC', 1),
      tok('ARGV', 3),
      Buffer.from('gcc'),
      tok('DOTI', 0xffffffff),
    ]),
    /DOTI is 4294967295 bytes/,
  ],
  [
    'NUL inside an argument',
    Buffer.concat([tok('DIST', 1), tok('ARGC', 1), tok('ARGV', 3), Buffer.from('g\0c')]),
    /NUL/,
  ],
  [
    'bytes after the request',
    Buffer.concat([request(1, ['gcc'], Buffer.from('x')), Buffer.from('junk')]),
    /unexpected bytes/,
  ],
];

for (const [what, bytes, re] of bad) {
  test(`refuses ${what}`, () => {
    assert.throws(
      () => new RequestDecoder().push(bytes),
      (err: unknown) => err instanceof ProtocolError && re.test(err.message),
    );
  });
}

test('the arguments together are bounded: 4096 of 64K each would be 256 MiB', () => {
  const d = new RequestDecoder();
  const arg = 'x'.repeat(60 * 1024);
  const args = ['gcc', ...Array.from({ length: 40 }, () => arg)];
  const wire = request(1, args, Buffer.from('x'));
  // In socket-sized pieces: what the decoder holds stays near the limit.
  assert.throws(() => {
    for (let at = 0; at < wire.length; at += 65536) d.push(wire.subarray(at, at + 65536));
  }, /ARGV 35 brings the command line to \d+ bytes, over the limit of 2097152/);
  assert.ok(d.held <= 2 * 1024 * 1024 + 64 * 1024, `held ${d.held}`);
});

test('what the decoder holds is counted, and a big tail is not copied per item', () => {
  const d = new RequestDecoder();
  const wire = request(1, ['gcc', '-c', 'x.c'], Buffer.alloc(300_000, 7));
  // Byte-sized pieces through the header, then the rest in one piece.
  for (let i = 0; i < 60; i++) assert.equal(d.push(wire.subarray(i, i + 1)), undefined);
  assert.ok(d.held >= 'gcc-cx.c'.length, `held ${d.held}`);
  const req = d.push(wire.subarray(60));
  assert.ok(req);
  assert.deepEqual(req.args, ['gcc', '-c', 'x.c']);
  assert.equal(req.body.length, 300_000);
});

test('limits are configurable', () => {
  const d = new RequestDecoder({
    maxArgs: 2,
    maxArgLength: 10,
    maxBodySize: 4,
    maxFiles: 2,
    maxArgBytes: 1000,
  });
  assert.throws(
    () => d.push(request(1, ['gcc', '-c', 'x.c'], Buffer.from('x'))),
    /ARGC must be 1 to 2, got 3/,
  );
  assert.throws(
    () =>
      new RequestDecoder({
        maxArgs: 9,
        maxArgLength: 10,
        maxBodySize: 4,
        maxFiles: 2,
        maxArgBytes: 1000,
      }).push(request(1, ['gcc'], Buffer.from('12345'))),
    /DOTI is 5 bytes, over the limit of 4/,
  );
});

test('awaitingBody turns true once the last argument is in, before the DOTI body, and only for protocols 0-2', () => {
  const bodyAt = recorded.length - body.length - 12;
  for (let cut = 0; cut < recorded.length; cut++) {
    const d = new RequestDecoder();
    const done = d.push(recorded.subarray(0, cut));
    assert.equal(done, undefined);
    assert.equal(d.awaitingBody, cut >= bodyAt, `cut at ${cut}`);
    if (d.awaitingBody) {
      assert.deepEqual(d.args, argv);
      assert.equal(d.version, 1);
    }
  }
  const d = new RequestDecoder();
  d.push(recorded);
  assert.equal(d.awaitingBody, false, 'a complete request waits for nothing');
});

test('streamBody hands a protocol 1-2 body to its sink piece by piece, whatever the split, and keeps none of it', () => {
  const bodyAt = recorded.length - body.length - 12;
  for (let cut = bodyAt; cut < recorded.length; cut++) {
    for (const step of [1, 7, 64]) {
      const d = new RequestDecoder();
      d.push(recorded.subarray(0, cut));
      const pieces: Buffer[] = [];
      assert.equal(
        d.streamBody((p) => pieces.push(p)),
        true,
      );
      let done;
      for (let at = cut; at < recorded.length; at += step) {
        done = d.push(recorded.subarray(at, Math.min(recorded.length, at + step)));
      }
      assert.ok(done, `cut ${cut} step ${step}: complete`);
      assert.equal(done.bodyStreamed, true);
      assert.equal(done.body.length, 0);
      assert.deepEqual(done.args, argv);
      assert.deepEqual(Buffer.concat(pieces), body, `cut ${cut} step ${step}`);
    }
  }
  // Not before the arguments are in; protocol 2's body goes as sent (LZO,
  // the connection decodes it); bytes past the body are an error.
  assert.equal(
    new RequestDecoder().streamBody(() => {}),
    false,
  );
  const two = new RequestDecoder();
  const wire2 = request(2, argv, body);
  two.push(wire2.subarray(0, bodyAt));
  const raw: Buffer[] = [];
  assert.equal(
    two.streamBody((p) => raw.push(p)),
    true,
  );
  assert.ok(two.push(wire2.subarray(bodyAt))?.bodyStreamed);
  assert.deepEqual(Buffer.concat(raw), wire2.subarray(bodyAt + 12));
  const d = new RequestDecoder();
  d.push(recorded.subarray(0, bodyAt));
  d.streamBody(() => {});
  assert.throws(
    () => d.push(Buffer.concat([recorded.subarray(bodyAt), Buffer.from('x')])),
    ProtocolError,
  );
});
