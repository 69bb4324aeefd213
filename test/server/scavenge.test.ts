import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { countRead, SCAVENGE_EVERY } from '../../src/server/scavenge.js';

/** Dead 64 KiB buffers, as socket reads leave them once passed on. */
function litter(bytes: number): void {
  let keep: Buffer[] | undefined = [];
  for (let n = 0; n < bytes; n += 65536) keep.push(Buffer.allocUnsafeSlow(65536));
  keep = undefined;
}

test('every SCAVENGE_EVERY bytes read, a scavenge frees the dead read buffers', async () => {
  // Settle what the test runner itself left.
  countRead(SCAVENGE_EVERY);
  await sleep(50);
  const before = process.memoryUsage().arrayBuffers;
  litter(32 * 1024 * 1024);
  assert.ok(
    process.memoryUsage().arrayBuffers - before >= 30 * 1024 * 1024,
    '32 MB of buffers not yet freed (no GC ran on its own)',
  );
  countRead(SCAVENGE_EVERY - 1);
  await sleep(50);
  assert.ok(
    process.memoryUsage().arrayBuffers - before >= 30 * 1024 * 1024,
    'not yet: one byte short',
  );
  countRead(1);
  // The scavenge runs after this turn; its sweeper frees the memory soon after.
  let freed = false;
  for (let i = 0; i < 40 && !freed; i++) {
    await sleep(25);
    freed = process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024;
  }
  assert.ok(freed, `freed (${process.memoryUsage().arrayBuffers - before} bytes left)`);
});
