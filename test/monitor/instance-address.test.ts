// tsdistccmon --instance: the stats port and address from the conf.d file,
// found and read as the daemon finds and reads it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceStatsAddress } from '../../src/monitor/instance-address.js';

function confDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-confd-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('--port N gives the stats port N + 1; the default port gives 3633; --stats-port wins', async () => {
  const dir = confDir({
    'tsdistccd-i686': 'DISTCC_ARGS="--allow 10.0.0.0/8 --port 3692 --stats"\n',
    'tsdistccd-plain': 'DISTCC_ARGS="--stats --allow 10.0.0.0/8"\n',
    'tsdistccd-set': `DISTCC_ARGS="--port 3700 --stats --stats-port 4000 --listen 10.1.2.3"\n`,
    // OpenRC's multiplexed name, and a quoted IPv6 listen address.
    'tsdistccd.six': `DISTCC_ARGS="--stats --listen '::1' --port 3800"\n`,
  });
  const at = async (name: string) => (await instanceStatsAddress(name, dir)).address;
  assert.deepEqual(await at('i686'), { host: '127.0.0.1', port: 3693 });
  assert.deepEqual(await at('plain'), { host: '127.0.0.1', port: 3633 });
  assert.deepEqual(await at('set'), { host: '10.1.2.3', port: 4000 });
  assert.deepEqual(await at('six'), { host: '::1', port: 3801 });
});

test('no such instance, no --stats, or a bad port: an error naming the file (exit 101)', async () => {
  const dir = confDir({
    'tsdistccd-quiet': 'DISTCC_ARGS="--port 3692"\n',
    'tsdistccd-bad': 'DISTCC_ARGS="--port 99999 --stats"\n',
  });
  await assert.rejects(instanceStatsAddress('none', dir), {
    exitCode: 101,
    message: /expected a configuration file .*tsdistccd-none or .*tsdistccd\.none/,
  });
  await assert.rejects(instanceStatsAddress('quiet', dir), {
    exitCode: 101,
    message: /tsdistccd-quiet has no --stats .*it would be on port 3693/,
  });
  await assert.rejects(instanceStatsAddress('bad', dir), {
    exitCode: 101,
    message: /tsdistccd-bad:1: DISTCC_ARGS: --port must be an integer 0 to 65535/,
  });
});
