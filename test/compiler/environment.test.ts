import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilerEnv, compilerPath } from '../../src/compiler/environment.js';

test("compilers get the daemon's environment without its service-manager and malloc variables", () => {
  const env = compilerEnv({
    HOME: '/var/lib/tsdistccd',
    LANG: 'C.UTF-8',
    MALLOC_ARENA_MAX: '2',
    NOTIFY_SOCKET: '/run/systemd/notify',
    LISTEN_FDS: '1',
    PATH: '/usr/lib/distcc:/usr/bin:/bin',
  });
  assert.equal(env.HOME, '/var/lib/tsdistccd');
  assert.equal(env.LANG, 'C.UTF-8');
  for (const gone of ['MALLOC_ARENA_MAX', 'NOTIFY_SOCKET', 'LISTEN_FDS']) {
    assert.equal(env[gone], undefined, gone);
  }
  assert.equal(env.PATH, '/usr/bin:/bin', 'no masquerade directory');
  assert.equal(env._DISTCC_SAFEGUARD, '1');
  assert.equal(compilerEnv({ _DISTCC_SAFEGUARD: '1' })._DISTCC_SAFEGUARD, '2');
});

test('DISTCCD_PATH wins; a --chroot gets a PATH and TMPDIR of its own', () => {
  assert.equal(compilerPath({ DISTCCD_PATH: '/opt/cc/bin', PATH: '/usr/bin' }), '/opt/cc/bin');
  const env = compilerEnv({ PATH: '/home/u/bin:/usr/bin', TMPDIR: '/home/u/tmp' }, '/opt/arch32');
  assert.equal(env.PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  assert.equal(env.TMPDIR, '/tmp');
});
