// system/spawn.ts against real programs (sh, a name that does not exist):
// one result shape for a process that exits, is killed or never starts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outputOf, outputOfSync, startProcess } from '../../src/system/spawn.js';

const env = { PATH: '/usr/bin:/bin' };

test('a process that exits: its code', async () => {
  const { child, ended } = startProcess(['sh', '-c', 'exit 3'], { env, stdio: 'ignore' });
  assert.equal(typeof child.pid, 'number');
  assert.deepEqual(await ended, { exitCode: 3 });
});

test('a process killed by a signal: the signal, no code', async () => {
  const { child, ended } = startProcess(['sh', '-c', 'kill -TERM $$; sleep 5'], {
    env,
    stdio: 'ignore',
  });
  assert.deepEqual(await ended, { signal: 'SIGTERM' });
  assert.equal(child.signalCode, 'SIGTERM');
});

test('a program that does not exist: the error, not a rejection or an exit', async () => {
  const { ended } = startProcess(['/nonexistent/tsdistcc-no-such-program'], {
    env,
    stdio: 'ignore',
  });
  const end = await ended;
  assert.equal(end.error?.code, 'ENOENT');
  assert.equal(end.exitCode, undefined);
  assert.equal(end.signal, undefined);
});

test('its stdio is what was asked for: a pipe here', async () => {
  const { child, ended } = startProcess(['sh', '-c', 'cat; echo done'], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const closed = new Promise((r) => child.stdout!.once('close', r));
  child.stdin!.end('input\n');
  assert.deepEqual(await ended, { exitCode: 0 });
  await closed;
  assert.equal(out, 'input\ndone\n');
});

test('outputOf: stdout on success; undefined on failure, timeout or no program', async () => {
  assert.equal(await outputOf(['sh', '-c', 'echo hi'], { env, timeout: 5000 }), 'hi\n');
  assert.equal(await outputOf(['sh', '-c', 'echo hi; exit 1'], { env, timeout: 5000 }), undefined);
  const t0 = Date.now();
  assert.equal(await outputOf(['sleep', '5'], { env, timeout: 200 }), undefined);
  assert.ok(Date.now() - t0 < 4000);
  assert.equal(await outputOf(['/nonexistent/tsdistcc-x'], { env, timeout: 5000 }), undefined);
});

test('outputOf runs as the uid and gid given (root only)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const out = await outputOf(['sh', '-c', 'id -u; id -g'], {
    env,
    timeout: 5000,
    uid: 65534,
    gid: 65534,
  });
  assert.equal(out, '65534\n65534\n');
});

test('outputOfSync: stdout, or undefined when the program fails', () => {
  assert.equal(outputOfSync(['sh', '-c', 'echo sync']), 'sync\n');
  assert.equal(outputOfSync(['sh', '-c', 'exit 2']), undefined);
  assert.equal(outputOfSync(['/nonexistent/tsdistcc-x']), undefined);
});
