// The agent's reader of what a launcher sends (src/client/agent/session.ts):
// the same messages for any split of the bytes, the token checked before any
// word is read, and every bound enforced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_ARGV_BYTES,
  MAX_WORDS,
  RequestReader,
  type LauncherMessage,
} from '../../src/client/agent/session.js';

const TOKEN = 'a'.repeat(48);
const ok = (t: string) => t === TOKEN;

test('hello and request parse the same for any split of the bytes', () => {
  const bytes = Buffer.from(
    `TSDISTCC-AGENT 2 42-1-2-3\n${TOKEN} 42 3\0/usr/lib/distcc/bin/gcc\0-c\0x y.c\0`,
  );
  for (let cut = 0; cut <= bytes.length; cut++) {
    const r = new RequestReader(ok);
    const got: LauncherMessage[] = [
      ...r.push(bytes.subarray(0, cut)),
      ...r.push(bytes.subarray(cut)),
    ];
    assert.deepEqual(got, [
      { kind: 'hello', nonce: '42-1-2-3' },
      { kind: 'request', pid: 42, argv: ['/usr/lib/distcc/bin/gcc', '-c', 'x y.c'] },
    ]);
  }
});

test('garbage, old launchers and bad nonces are refused at the first line', () => {
  for (const bad of [
    'GET / HTTP/1.0\n',
    `TSDISTCC-AGENT 1 ${TOKEN} 42 3\n`,
    'TSDISTCC-AGENT 2 ../../etc/passwd\n',
    'TSDISTCC-AGENT 2 1-2-3\n',
    'TSDISTCC-AGENT 2 1-2-3-4 extra\n',
  ]) {
    assert.throws(() => new RequestReader(ok).push(Buffer.from(bad)), bad);
  }
});

test('a wrong token is refused when its line ends, before any word is read', () => {
  let asked = 0;
  const r = new RequestReader((t) => {
    asked++;
    return ok(t);
  });
  r.push(Buffer.from('TSDISTCC-AGENT 2 1-2-3-4\n'));
  assert.throws(() => r.push(Buffer.from(`${'f'.repeat(48)} 1 4294967295\0`)), /wrong token/);
  assert.equal(asked, 1);
});

test('lines are bounded before the token: a long one is refused without its end', () => {
  assert.throws(() => new RequestReader(ok).push(Buffer.alloc(4096, 'A')), /too long/);
  const r = new RequestReader(ok);
  r.push(Buffer.from('TSDISTCC-AGENT 2 1-2-3-4\n'));
  assert.throws(() => r.push(Buffer.alloc(200, 'f')), /too long/);
});

test('after the token: the word count and the bytes are bounded', () => {
  const hello = `TSDISTCC-AGENT 2 1-2-3-4\n`;
  assert.throws(
    () => new RequestReader(ok).push(Buffer.from(`${hello}${TOKEN} 1 ${MAX_WORDS + 1}\0`)),
    /word count/,
  );
  assert.throws(() => new RequestReader(ok).push(Buffer.from(`${hello}${TOKEN} 1 0\0`)));
  const r = new RequestReader(ok);
  r.push(Buffer.from(`${hello}${TOKEN} 1 2\0`));
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  assert.throws(() => {
    for (let sent = 0; sent <= MAX_ARGV_BYTES; sent += chunk.length) r.push(chunk);
  }, /too long/);
});

test('bytes after the request are refused', () => {
  const r = new RequestReader(ok);
  assert.throws(
    () => r.push(Buffer.from(`TSDISTCC-AGENT 2 1-2-3-4\n${TOKEN} 1 1\0cc\0more`)),
    /after the request/,
  );
});
