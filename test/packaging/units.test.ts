// The service files as they are in the tree: the systemd units' sandbox and
// its exposure score (systemd-analyze security --offline=yes), what the i686
// drop-in adds to it, and the OpenRC script's syntax. No root needed.
// systemd-analyze verify needs the installed package: package.test.ts.
// Needs: systemd (systemd-analyze), sh.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { ROOT } from '../helpers/paths.js';

const UNITS = `${ROOT}init/systemd`;
const OPENRC = `${ROOT}init/openrc/tsdistccd`;
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
/** The exposure `systemd-analyze security` may give tsdistccd.service at most. */
const TARGET = 2.0;

function read(name: string): string {
  return readFileSync(`${UNITS}/${name}`, 'utf8');
}

/** `Key=value` lines of a unit, without comments. */
function settings(text: string): string[] {
  return text.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
}

type Check = { name: string; set: boolean; exposure: string | null };

/** The score and the failed checks, the units loaded from init/systemd. */
function security(unit: string): { score: number; shown: string; failed: string[] } {
  const env = { ...process.env, SYSTEMD_UNIT_PATH: `${UNITS}:` };
  const text = execFileSync(ANALYZE!, ['security', '--offline=yes', unit], {
    env,
    encoding: 'utf8',
  });
  const score = /Overall exposure level for \S+: (\d+\.\d+)/.exec(text);
  assert.ok(score, `no score in:\n${text}`);
  const json = execFileSync(ANALYZE!, ['security', '--offline=yes', '--json=short', unit], {
    env,
    encoding: 'utf8',
  });
  const checks = JSON.parse(json) as Check[];
  const failed = checks.filter((c) => !c.set && c.exposure !== null).map((c) => c.name);
  return { score: Number(score[1]), shown: score[1]!, failed };
}

test(`tsdistccd.service: exposure at most ${TARGET.toFixed(1)} (systemd-analyze security --offline=yes)`, (t) => {
  if (!ANALYZE) return t.skip('systemd-analyze is not installed');
  const { score, shown, failed } = security('tsdistccd.service');
  t.diagnostic(`tsdistccd.service exposure: ${shown}`);
  t.diagnostic(`not set: ${failed.join(', ')}`);
  assert.ok(score <= TARGET, `exposure ${shown} is over ${TARGET.toFixed(1)}`);
  // What a network server running compilers must keep, and nothing else.
  assert.deepEqual(
    failed.filter(
      (n) =>
        ![
          'PrivateNetwork=',
          'RestrictAddressFamilies=~AF_(INET|INET6)',
          'RestrictAddressFamilies=~AF_UNIX',
          'IPAddressDeny=',
          'NotifyAccess=',
          'MemoryDenyWriteExecute=',
          'SystemCallFilter=~@resources',
          'RootDirectory=/RootImage=',
          'DeviceAllow=',
          // The compilers' sandbox: its namespaces and mounts.
          'RestrictNamespaces=~user',
          'RestrictNamespaces=~mnt',
          'RestrictNamespaces=~pid',
          'RestrictNamespaces=~net',
          'SystemCallFilter=~@mount',
        ].includes(n),
    ),
    [],
  );
});

test('a named instance of tsdistccd@.service has the same sandbox and score', (t) => {
  if (!ANALYZE) return t.skip('systemd-analyze is not installed');
  const plain = security('tsdistccd.service');
  const named = security('tsdistccd@native.service');
  t.diagnostic(`tsdistccd@native.service exposure: ${named.shown}`);
  assert.equal(named.score, plain.score);
  assert.deepEqual(named.failed, plain.failed);
  // Line for line, once the instance's own lines are set aside.
  const own = /^(Description|EnvironmentFile|ExecStart)=/;
  assert.deepEqual(
    settings(read('tsdistccd@.service')).filter((l) => !own.test(l)),
    settings(read('tsdistccd.service')).filter((l) => !own.test(l)),
  );
});

test('tsdistccd@i686 gets exactly what chroot and personality need, and says why', (t) => {
  if (!ANALYZE) return t.skip('systemd-analyze is not installed');
  const plain = security('tsdistccd@native.service');
  const i686 = security('tsdistccd@i686.service');
  t.diagnostic(`tsdistccd@i686.service exposure: ${i686.shown}`);
  const extra = i686.failed.filter((n) => !plain.failed.includes(n)).sort();
  t.diagnostic(`given up for i686: ${extra.join(', ')}`);
  assert.deepEqual(extra, [
    'CapabilityBoundingSet=~CAP_(CHOWN|FSETID|SETFCAP)',
    'CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)',
    'CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)',
    'CapabilityBoundingSet=~CAP_SYS_CHROOT',
    'PrivateUsers=',
    'SystemCallArchitectures=',
    'SystemCallFilter=~@privileged',
    'User=/DynamicUser=',
  ]);
  const dropIn = read('tsdistccd@i686.service.d/chroot.conf');
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(dropIn)?.[1]?.split(' ') ?? [];
  assert.deepEqual(caps.sort(), [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SYS_CHROOT',
  ]);
  for (const cap of caps) {
    assert.match(dropIn, new RegExp(`^# .*${cap}[,:]`, 'm'), `a comment says why ${cap}`);
  }
  // 32-bit compilers make i386 system calls; x32 stays refused.
  assert.match(dropIn, /^SystemCallArchitectures=\nSystemCallArchitectures=native x86$/m);
  assert.match(dropIn, /^Personality=x86$/m);
  assert.match(dropIn, /^LockPersonality=yes$/m);
});

test('no unit sets MemoryDenyWriteExecute= (Node.js JIT) and only the i686 drop-in lifts SystemCallArchitectures=native', () => {
  const files = [
    'tsdistccd.service',
    'tsdistccd@.service',
    'tsdistccd.socket',
    'tsdistccd@.socket',
    'tsdistccd@i686.service.d/chroot.conf',
    'tsdistccd@i686.socket.d/port.conf',
  ];
  for (const f of files) {
    assert.doesNotMatch(read(f), /^MemoryDenyWriteExecute=/m, f);
  }
  for (const f of ['tsdistccd.service', 'tsdistccd@.service']) {
    assert.match(read(f), /^SystemCallArchitectures=native$/m, f);
    assert.match(read(f), /^Type=notify$/m, f);
    assert.match(read(f), /^User=tsdistcc$/m, f);
    assert.match(read(f), /^LogsDirectory=tsdistccd$/m, f);
  }
  assert.match(read('tsdistccd@.service'), /^EnvironmentFile=-\/etc\/conf\.d\/tsdistccd-%i$/m);
  assert.match(read('tsdistccd@.service'), /^ExecStart=\/usr\/bin\/tsdistccd --instance %i /m);
});

test('the socket units hand one listening socket to the service (Accept=no)', () => {
  assert.match(read('tsdistccd.socket'), /^ListenStream=3632$/m);
  assert.match(read('tsdistccd@i686.socket.d/port.conf'), /^ListenStream=3692$/m);
  for (const f of ['tsdistccd.socket', 'tsdistccd@.socket']) {
    assert.match(read(f), /^Accept=no$/m, f);
  }
  // The i686 port of the socket is the one its conf.d file names.
  assert.match(readFileSync(`${ROOT}etc/conf.d/tsdistccd-i686`, 'utf8'), /--port 3692 /);
});

test('the OpenRC script is valid sh and is multiplexed by its service name', () => {
  const r = spawnSync('sh', ['-n', OPENRC], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(OPENRC, 'utf8');
  assert.match(text, /^#!\/sbin\/openrc-run$/m);
  assert.match(text, /^pidfile="\/run\/\$\{RC_SVCNAME\}\.pid"$/m);
  assert.match(text, /^supervisor="supervise-daemon"$/m);
});

test('no packaged setup gives tsdistccd a --pid-file: systemd tracks its main pid, OpenRC’s pidfile is supervise-daemon’s own (issue 21 item 2)', () => {
  // A pid file the daemon writes as root in /run would outlive it: after
  // switching to --user it may not unlink it there (tsdistccd(8), --pid-file).
  const files = [
    ...[
      'tsdistccd.service',
      'tsdistccd@.service',
      'tsdistccd.socket',
      'tsdistccd@.socket',
      'tsdistccd@i686.service.d/chroot.conf',
      'tsdistccd@i686.socket.d/port.conf',
    ].map((f) => `${UNITS}/${f}`),
    OPENRC,
    `${ROOT}etc/conf.d/tsdistccd`,
    `${ROOT}etc/conf.d/tsdistccd-i686`,
  ];
  for (const f of files) {
    const lines = readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    for (const l of lines) {
      assert.doesNotMatch(l, /(^|[\s"])(--pid-file|-P)([\s="]|$)/, `${f}: ${l}`);
    }
  }
  for (const f of ['tsdistccd.service', 'tsdistccd@.service']) {
    assert.doesNotMatch(read(f), /^PIDFile=/m, f);
  }
  // OpenRC: the pidfile is supervise-daemon's, not passed on to the daemon.
  const openrc = readFileSync(OPENRC, 'utf8');
  assert.match(openrc, /^pidfile="\/run\/\$\{RC_SVCNAME\}\.pid"$/m);
  assert.doesNotMatch(/^command_args="(.*)"$/m.exec(openrc)![1]!, /pid/);
});
