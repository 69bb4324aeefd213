// A server's reply is bounded (src/protocol/reply-decoder.ts, src/client/
// reply-limit.ts): the bodies together, refused at the length that passes
// the limit, before its bytes come; the limit's variable parsed like
// tsdistccd's --max-body-size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_REPLY, replyLimit } from '../../src/client/reply-limit.js';
import { ProtocolError } from '../../src/errors.js';
import { ReplyDecoder } from '../../src/protocol/reply-decoder.js';
import { tok } from '../helpers/wire.js';

test('bodies are counted together: each under the limit, the sum over it, is refused at its length', () => {
  const d = new ReplyDecoder(1, 1000);
  d.push(Buffer.concat([tok('DONE', 1), tok('STAT', 0), tok('SERR', 400)]));
  d.push(Buffer.alloc(400));
  d.push(tok('SOUT', 400));
  d.push(Buffer.alloc(400));
  assert.throws(
    () => d.push(tok('DOTO', 201)),
    (err: ProtocolError) => {
      assert.ok(err instanceof ProtocolError);
      assert.match(
        err.message,
        /DOTO of 201 bytes makes the reply's bodies 1001 bytes, over the limit of 1000/,
      );
      return true;
    },
  );
});

test('exactly the limit is a reply; a body is in the decoder once, with its declared length', () => {
  const d = new ReplyDecoder(1, 10);
  const reply = d.push(
    Buffer.concat([
      tok('DONE', 1),
      tok('STAT', 0),
      tok('SERR', 0),
      tok('SOUT', 0),
      tok('DOTO', 10),
      Buffer.from('0123456789'),
    ]),
  );
  assert.ok(reply);
  assert.equal(reply.object.toString(), '0123456789');
  assert.equal(d.announced, 10);
});

test('TSDISTCC_MAX_REPLY_SIZE: bytes, K, M, G; nonsense keeps the default with a complaint', () => {
  assert.deepEqual(replyLimit({}), { bytes: DEFAULT_MAX_REPLY });
  assert.equal(DEFAULT_MAX_REPLY, 512 * 1024 * 1024);
  assert.equal(replyLimit({ TSDISTCC_MAX_REPLY_SIZE: '4096' }).bytes, 4096);
  assert.equal(replyLimit({ TSDISTCC_MAX_REPLY_SIZE: '16M' }).bytes, 16 * 1024 * 1024);
  assert.equal(replyLimit({ TSDISTCC_MAX_REPLY_SIZE: '2g' }).bytes, 2 * 1024 ** 3);
  assert.equal(replyLimit({ TSDISTCC_MAX_REPLY_SIZE: '64G' }).bytes, 2 ** 32 - 1);
  for (const bad of ['lots', '0', '-1', '1T']) {
    const r = replyLimit({ TSDISTCC_MAX_REPLY_SIZE: bad });
    assert.equal(r.bytes, DEFAULT_MAX_REPLY, bad);
    assert.match(r.problem ?? '', /TSDISTCC_MAX_REPLY_SIZE must be a size/);
  }
});
