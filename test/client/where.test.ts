// Waiting for a slot (src/client/where.ts): a free slot is taken breadth
// first, and a wait for busy slots ends after TSDISTCC_LOCK_TIMEOUT with
// exit code 114 and a message naming the locks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHosts } from '../../src/client/hosts.js';
import { tryLockSlot } from '../../src/client/locks.js';
import { lockLocal, lockTimeout, pickHost } from '../../src/client/where.js';
import { ExitCode, TsdistccError } from '../../src/errors.js';

test('TSDISTCC_LOCK_TIMEOUT: seconds, default 600, 0 for ever', () => {
  assert.equal(lockTimeout({}), 600_000);
  assert.equal(lockTimeout({ TSDISTCC_LOCK_TIMEOUT: '5' }), 5000);
  assert.equal(lockTimeout({ TSDISTCC_LOCK_TIMEOUT: '0' }), Infinity);
  assert.equal(lockTimeout({ TSDISTCC_LOCK_TIMEOUT: 'soon' }), 600_000);
});

test('every slot held: the wait ends at the bound with 114, naming the locks', async () => {
  const lockDir = mkdtempSync(join(tmpdir(), 'tsdistcc-where-'));
  const { hosts } = parseHosts('a.example/1 b.example:4000/1', 'test');
  const held = await Promise.all(hosts.map((h) => tryLockSlot(lockDir, h, 0)));
  assert.ok(held.every(Boolean));
  let blocked = 0;
  const started = Date.now();
  await assert.rejects(
    pickHost(hosts, lockDir, 50, () => blocked++, 300),
    (err: TsdistccError) => {
      assert.equal(err.exitCode, ExitCode.BUSY);
      assert.match(err.message, /waited 0 s for a host slot/);
      assert.ok(err.message.includes(join(lockDir, 'cpu_tcp_a.example_3632_0')), err.message);
      assert.ok(err.message.includes(join(lockDir, 'cpu_tcp_b.example_4000_0')), err.message);
      return true;
    },
  );
  assert.ok(Date.now() - started < 2000);
  assert.ok(blocked > 0);
  // Freed, the slot is found at once.
  held[1]!.release();
  const picked = await pickHost(hosts, lockDir, 50, () => {}, 300);
  assert.equal(picked.host, hosts[1]);
  picked.lock.release();
  held[0]!.release();
});

test('local slots: the same bound', async () => {
  const lockDir = mkdtempSync(join(tmpdir(), 'tsdistcc-where-'));
  const first = await lockLocal(lockDir, 1, 50, () => {}, 300);
  await assert.rejects(
    lockLocal(lockDir, 1, 50, () => {}, 300),
    /cpu_localhost_0/,
  );
  first.release();
});
