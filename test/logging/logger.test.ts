// The logger escapes what call sites put in messages and fields, for a file
// and for syslog, in text and in JSON: a forged file name stays inside its
// own line, with no ESC or bidi control in what is written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type LogDestination } from '../../src/logging/logger.js';
import { firstRaw } from '../helpers/raw-chars.js';

const FORGED = 'x\nCOMPILE_OK forged\r\x1b[2J\u202egnp.c';
const ESCAPED = 'x\\nCOMPILE_OK forged\\r\\x1b[2J\\u202egnp.c';

async function logTo(destination: LogDestination, format: 'text' | 'json') {
  const logger = await createLogger({ level: 'info', destination, format, ident: 'tsdistccd' });
  logger.notice(`client: 127.0.0.1:1 COMPILE_OK exit:0 gcc ${FORGED}`, { compiler: FORGED });
  logger.info('plain', { n: 3, list: [FORGED], nested: { input: FORGED } });
  logger.flush();
}

test('a text log file: one line a call, the name escaped in the message and the fields', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsdistcc-log-')), 'log');
  await logTo({ kind: 'file', path }, 'text');
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.equal(lines[2], '');
  assert.match(
    lines[0]!,
    /^\S+ tsdistccd\[\d+\] notice: client: 127\.0\.0\.1:1 COMPILE_OK exit:0 gcc /,
  );
  assert.ok(lines[0]!.endsWith(` gcc ${ESCAPED} compiler="${ESCAPED}"`), lines[0]);
  assert.match(lines[1]!, / info: plain n=3 list=".*" nested=".*"$/);
  for (const line of lines) assert.equal(firstRaw(line), undefined, line);
});

test('a JSON log file: valid JSON lines whose strings hold the escaped name', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsdistcc-log-')), 'log');
  await logTo({ kind: 'file', path }, 'json');
  const text = readFileSync(path, 'utf8');
  assert.equal(firstRaw(text, { lines: true }), undefined);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(a!.msg, `client: 127.0.0.1:1 COMPILE_OK exit:0 gcc ${ESCAPED}`);
  assert.equal(a!.compiler, ESCAPED);
  assert.equal(a!.level, 35);
  assert.deepEqual(b!.list, [ESCAPED]);
  assert.deepEqual(b!.nested, { input: ESCAPED });
  assert.equal(b!.n, 3);
});

for (const format of ['text', 'json'] as const) {
  test(`syslog (${format}): each message one line, escaped`, async () => {
    const sent: [number, string][] = [];
    await logTo({ kind: 'syslog', send: (severity, m) => sent.push([severity, m]) }, format);
    assert.equal(sent.length, 2);
    assert.equal(sent[0]![0], 5);
    for (const [, m] of sent) {
      assert.equal(firstRaw(m), undefined, m);
    }
    if (format === 'text') {
      assert.equal(
        sent[0]![1],
        `notice: client: 127.0.0.1:1 COMPILE_OK exit:0 gcc ${ESCAPED} compiler="${ESCAPED}"`,
      );
    } else {
      assert.equal((JSON.parse(sent[0]![1]) as { msg: string }).msg.endsWith(ESCAPED), true);
    }
  });
}
