import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSLOG_SEVERITY } from '../../src/logging/levels.js';
import {
  FACILITY_DAEMON,
  SYSLOG_MAX_BYTES,
  syslogLine,
  syslogTimestamp,
  truncateUtf8,
} from '../../src/logging/syslog-format.js';
import { DatagramSender } from '../../src/system/datagram.js';
import { RSYSLOGD, startRsyslog } from '../helpers/rsyslog.js';

const base = { facility: FACILITY_DAEMON, ident: 'tsdistccd', pid: 123 };

test('glibc syslog(3) format: <PRI>Mmm dd hh:mm:ss ident[pid]: message', () => {
  const date = new Date(2024, 2, 7, 9, 8, 7); // local time
  assert.equal(
    syslogLine({ ...base, severity: 6, message: 'hello', date }),
    '<30>Mar  7 09:08:07 tsdistccd[123]: hello',
  );
  assert.equal(
    syslogLine({ ...base, severity: 3, message: 'x', date: new Date(2024, 11, 25, 23, 59, 0) }),
    '<27>Dec 25 23:59:00 tsdistccd[123]: x',
  );
  assert.equal(
    syslogLine({ facility: 23, severity: 7, ident: 'a', pid: 1, message: '', date }),
    '<191>Mar  7 09:08:07 a[1]: ',
  );
  assert.equal(syslogTimestamp(new Date(2023, 0, 1, 0, 0, 0)), 'Jan  1 00:00:00');
  assert.match(syslogLine({ ...base, severity: 5, message: 'now' }), /^<29>[A-Z][a-z]{2} [ \d]\d /);
});

test('facility and severity are checked', () => {
  assert.throws(() => syslogLine({ ...base, severity: 8, message: '' }), RangeError);
  assert.throws(() => syslogLine({ ...base, facility: 24, severity: 0, message: '' }), RangeError);
  assert.throws(() => syslogLine({ ...base, severity: 1.5, message: '' }), RangeError);
});

test('long messages are cut at a character boundary', () => {
  for (const ch of ['a', 'é', '日', '🚀']) {
    const line = syslogLine({ ...base, severity: 6, message: ch.repeat(10_000) });
    const bytes = Buffer.byteLength(line);
    assert.ok(bytes <= SYSLOG_MAX_BYTES && bytes > SYSLOG_MAX_BYTES - 4, `${ch}: ${bytes}`);
    assert.ok(!line.includes('\ufffd'));
    assert.ok(line.endsWith(ch));
  }
  assert.equal(truncateUtf8('aé', 2), 'a');
  assert.equal(truncateUtf8('aé', 3), 'aé');
  assert.equal(truncateUtf8('🚀🚀', 7), '🚀');
  assert.equal(truncateUtf8('🚀', 3), '');
  const exact = 'x'.repeat(100);
  assert.equal(syslogLine({ ...base, severity: 6, message: exact, maxBytes: 1000 }).length, 136);
});

if (!RSYSLOGD) console.log('# rsyslogd not installed (apt-get install rsyslog): skipping e2e');

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test(
  'a real rsyslogd reads facility, severity, ident and pid',
  { skip: RSYSLOGD ? false : 'rsyslogd not installed (apt-get install rsyslog)' },
  async () => {
    const rsyslog = await startRsyslog();
    const { sock } = rsyslog;
    const errors: string[] = [];
    const sender = new DatagramSender((m) => errors.push(m));
    try {
      const names = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
      const severities = Object.values(SYSLOG_SEVERITY).sort();
      assert.deepEqual(severities, [0, 1, 2, 3, 4, 5, 6, 7]);
      const expected: string[] = [];
      for (const severity of severities) {
        const message = `severity ${severity} grüße`;
        sender.send(sock, syslogLine({ ...base, pid: process.pid, severity, message }));
        expected.push(`daemon.${names[severity]} tsdistccd[${process.pid}]: ${message}`);
      }
      await sender.close();
      const lines = await until('8 lines in the log', () => {
        const ls = rsyslog.lines();
        return ls.length >= expected.length ? ls : undefined;
      });
      assert.deepEqual(lines, expected);
      assert.deepEqual(errors, []);
    } finally {
      await sender.close();
      await rsyslog.stop();
    }
  },
);
