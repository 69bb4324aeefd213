// The client's side of the wire: the request encoder against the test-only
// writer, and the reply decoder over every split of literal reply bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { ReplyDecoder } from '../../src/protocol/reply-decoder.js';
import { encodeRequestHeader, encodeSource } from '../../src/protocol/request-encoder.js';
import { request, tok } from '../helpers/wire.js';

test('request header + source are the bytes distcc documents', () => {
  const argv = ['gcc', '-c', 'héllo.c', '-o', 'x.o', ''];
  const body = Buffer.from('int x;\n');
  const ours = Buffer.concat([encodeRequestHeader(1, argv), ...encodeSource(body)]);
  assert.ok(ours.equals(request(1, argv, body)));
  const empty = Buffer.concat([encodeRequestHeader(2, ['cc']), ...encodeSource(Buffer.alloc(0))]);
  assert.ok(empty.equals(request(2, ['cc'], Buffer.alloc(0))));
});

const REPLY = Buffer.concat([
  tok('DONE', 1),
  tok('STAT', 0x100),
  tok('SERR', 5),
  Buffer.from('oops\n'),
  tok('SOUT', 0),
  tok('DOTO', 3),
  Buffer.from([0x7f, 0x45, 0x4c]),
]);

test('a reply decodes the same for any split of the stream', () => {
  for (let a = 0; a <= REPLY.length; a++) {
    for (let b = a; b <= REPLY.length; b += 7) {
      const d = new ReplyDecoder(1);
      const first = d.push(REPLY.subarray(0, a));
      assert.equal(first === undefined, a < REPLY.length, 'complete only with the last byte');
      const reply = first ?? d.push(REPLY.subarray(a, b)) ?? d.push(REPLY.subarray(b));
      assert.ok(reply, `split ${a}/${b}`);
      assert.equal(reply.status, 0x100);
      assert.equal(reply.stderr.toString(), 'oops\n');
      assert.equal(reply.stdout.length, 0);
      assert.deepEqual([...reply.object], [0x7f, 0x45, 0x4c]);
    }
  }
});

test('a wrong token, a wrong version, a bad number or a huge body is a ProtocolError', () => {
  const cases: [string, Buffer, number][] = [
    ['wrong token', Buffer.concat([tok('DONE', 1), tok('SERR', 0)]), 1],
    ['version not echoed', tok('DONE', 1), 2],
    ['not hex', Buffer.from('DONE0000000g'), 1],
    [
      'body over the limit',
      Buffer.concat([tok('DONE', 1), tok('STAT', 0), tok('SERR', 0x7fffffff)]),
      1,
    ],
  ];
  for (const [what, bytes, version] of cases) {
    assert.throws(() => new ReplyDecoder(version, 1024).push(bytes), ProtocolError, what);
  }
});

test('the decoder says what it waits for, and refuses bytes after the reply', () => {
  const d = new ReplyDecoder(1);
  d.push(REPLY.subarray(0, 20));
  assert.equal(d.waitingFor, 'STAT');
  assert.ok(d.push(REPLY.subarray(20)));
  assert.throws(() => d.push(Buffer.from('x')), ProtocolError);
});
