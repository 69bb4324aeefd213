// The capabilities tsdistccd@i686.service.d/chroot.conf gives the i686
// instance are enough, and each of them is needed: tsdistccd started as root
// with exactly that bounding set (setpriv), no new privileges and the unit's
// UMask=0077, runs a compiler inside a root with the linux32 personality as
// the unprivileged user and returns its output, and gives its log file (in a
// directory of that user, as /var/log/tsdistccd) to the user; without any
// one of them, something of that fails. systemd itself is not PID 1 here, so
// the rest of the sandbox is checked by systemd-analyze (units.test.ts).
// Needs: root, setpriv (util-linux), the i386 root of
// scripts/make-test-root.sh (as for the chroot tests), gcc.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compileRaw } from '../helpers/client.js';
import { freePort } from '../helpers/daemon.js';
import { DAEMON_BIN, ROOT } from '../helpers/paths.js';
import { ensureRoot, I686_ARGS, installProbe } from '../helpers/root.js';
import { until } from '../helpers/wait.js';

const DROP_IN = `${ROOT}init/systemd/tsdistccd@i686.service.d/chroot.conf`;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
// Preprocessed, with a warning only the compiler proper (not cpp) gives.
const source = Buffer.from('# 1 "x.c"\nint f(int x) { if (x) return 1; }\n');

let skip: string | undefined;
let nobody = { uid: 65534, gid: 65534 };

before(() => {
  // ensureRoot names a kernel without 32-bit code first, then not being root.
  skip = ensureRoot() ?? (!SETPRIV ? 'setpriv is not installed' : undefined);
  if (skip) return;
  installProbe();
  const [uid, gid] = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })
    .trim()
    .concat(' ', execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim())
    .split(' ')
    .map(Number);
  nobody = { uid: uid!, gid: gid! };
});

function unitCaps(): string[] {
  const m = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync(DROP_IN, 'utf8'));
  assert.ok(m, `${DROP_IN} sets CapabilityBoundingSet=`);
  return m[1]!.split(' ');
}

type Outcome = {
  started: boolean;
  compiled: boolean;
  machine?: string;
  uid?: string;
  warning: boolean;
  /** The object is 32-bit x86 (ELFCLASS32, EM_386): the root's i386 gcc made it. */
  i386: boolean;
  logGiven: boolean;
  log: string;
};

/** Starts tsdistccd as root with only `caps`, compiles once, sends SIGHUP, stops it. */
async function attempt(caps: string[]): Promise<Outcome> {
  const logDir = mkdtempSync('/tmp/tsdistcc-i686-log-');
  chownSync(logDir, nobody.uid, nobody.gid);
  execFileSync('chmod', ['750', logDir]);
  const logFile = join(logDir, 'i686.log');
  const port = await freePort();
  const bounding = ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)];
  const daemon = [
    SETPRIV!,
    '--bounding-set',
    bounding.join(','),
    '--inh-caps',
    '-all',
    '--no-new-privs',
    '--',
    process.execPath,
    DAEMON_BIN,
    '--no-detach',
    '--listen',
    '127.0.0.1',
    '--port',
    String(port),
    '--allow',
    '127.0.0.1',
    ...I686_ARGS,
    '--log-level',
    'info',
    '--log-file',
    logFile,
  ];
  // UMask=0077, as the unit sets it.
  const child: ChildProcess = spawn('sh', ['-c', 'umask 077; exec "$@"', 'sh', ...daemon], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  const outcome: Outcome = {
    started: false,
    compiled: false,
    warning: false,
    i386: false,
    logGiven: false,
    log: '',
  };
  try {
    await until('listening or gone', () => /listening on/.test(log()) || child.exitCode !== null);
    outcome.started = child.exitCode === null;
    if (outcome.started) {
      const r = await compileRaw(port, ['probe-cc', '-Wall', '-c', 'x.c', '-o', 'x.o'], source);
      const err = r.stderr.toString();
      outcome.compiled = r.status === 0 && r.object.length > 0;
      outcome.i386 = outcome.compiled && r.object[4] === 1 && r.object.readUInt16LE(18) === 3;
      outcome.machine = /machine=(\S+)/.exec(err)?.[1];
      outcome.uid = /uid=(\d+)/.exec(err)?.[1];
      outcome.warning = /control reaches end of non-void function/.test(err);
      child.kill('SIGHUP');
      await until('SIGHUP handled', () => /SIGHUP: (log file reopened|cannot reopen)/.test(log()));
      outcome.logGiven = /SIGHUP: log file reopened/.test(log()) && !/cannot give/.test(log());
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    outcome.log = log();
    rmSync(logDir, { recursive: true, force: true });
  }
  return outcome;
}

test('with the i686 unit capabilities, a compiler runs in the root as i686, as the user, and its output comes back', async (t) => {
  if (skip) return t.skip(skip);
  const caps = unitCaps();
  t.diagnostic(`CapabilityBoundingSet=${caps.join(' ')}`);
  const o = await attempt(caps);
  assert.ok(o.started, o.log);
  assert.ok(o.compiled, o.log);
  assert.equal(o.machine, 'i686');
  assert.ok(o.i386, 'a 32-bit x86 object');
  assert.equal(o.uid, String(nobody.uid));
  assert.ok(o.warning, `the compiler's warning did not come back:\n${o.log}`);
  assert.ok(o.logGiven, `the log file was not given to the user:\n${o.log}`);
});

test('each of the i686 unit capabilities is needed', async (t) => {
  if (skip) return t.skip(skip);
  const caps = unitCaps();
  for (const without of caps) {
    const o = await attempt(caps.filter((c) => c !== without));
    const broke = [
      !o.started && 'does not start',
      o.started && !o.compiled && 'cannot run a compiler',
      o.compiled && !o.warning && "loses the compiler's output",
      o.started && !o.logGiven && 'cannot give its log file to the user',
    ].filter(Boolean);
    t.diagnostic(`without ${without}: ${broke.join(', ') || 'nothing breaks'}`);
    assert.ok(broke.length > 0, `nothing needs ${without}:\n${o.log}`);
  }
});
