// The files a daemon started as root opens for itself (issue 20 item 3,
// issue 21 items 1 and 3): the log file and the pid file are never opened
// through a link at their name (a link planted there — by the compilers'
// account, say, which may own the log's directory — is refused at start,
// exit 101, its target untouched); a hard link is refused too; only a file
// the daemon created is given to --user; a missing log directory is an
// error, not made; and a SIGHUP whose reopen fails keeps the daemon and its
// old log file going.
// Needs: gcc; root for the owner and --user parts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { compileRaw } from '../helpers/client.js';
import { openTempDir } from '../helpers/daemon.js';
import { DAEMON_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { localDaemonArgs, until } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const USER = isRoot ? ['--user', 'nobody'] : [];
const ENV = { ...process.env, DISTCCD_PATH: `${FIXTURE_BIN}:/usr/bin:/bin` };

/**
 * A daemon as root drops to nobody, logging to `log` (with `more` options),
 * once it says it listens there; `exited` resolves with its exit code.
 */
async function startLogging(
  log: string,
  more: string[] = [],
  stdio: 'ignore' | 'pipe' = 'ignore',
): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [DAEMON_BIN, ...localDaemonArgs('0'), ...WHITELIST, ...USER, '--log-file', log, ...more],
    { env: ENV, stdio: ['ignore', 'ignore', stdio] },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until('listening', () => existsSync(log) && /listening on/.test(readFileSync(log, 'utf8')));
  return { child, exited };
}

function stamp(path: string): string {
  const st = statSync(path);
  return `${st.uid}:${st.gid}:${st.mode.toString(8)}:${st.size}:${readFileSync(path, 'latin1')}`;
}

/** A file that must stay as it is: root's own (when root), 0600. */
function precious(dir: string): string {
  const path = join(dir, 'precious');
  writeFileSync(path, 'root:precious:0:0\n', { mode: 0o600 });
  return path;
}

/** Runs the daemon to its end (it must refuse to start): status and stderr. */
function startRefused(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [DAEMON_BIN, ...localDaemonArgs('0'), ...WHITELIST, ...USER, '--lifetime', '5', ...args],
    { encoding: 'utf8', env: ENV, timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { status: r.status, stderr: r.stderr };
}

test('--log-file and --pid-file that are symbolic links (dangling too) or hard links: exit 101 naming the file, the target untouched', () => {
  const dir = openTempDir('tsdistcc-startfiles-');
  const target = precious(dir);
  const before = stamp(target);
  const log = join(dir, 'tsdistccd.log');
  symlinkSync(target, log);
  let r = startRefused(['--log-file', log]);
  assert.equal(r.status, 101, r.stderr);
  assert.match(r.stderr, new RegExp(`--log-file ${log}: cannot open it: it is a symbolic link`));

  const dangling = join(dir, 'dangling.log');
  symlinkSync(join(dir, 'made-through-the-link'), dangling);
  r = startRefused(['--log-file', dangling]);
  assert.equal(r.status, 101, r.stderr);
  assert.equal(existsSync(join(dir, 'made-through-the-link')), false, 'nothing made at the target');

  const hard = join(dir, 'hard.log');
  linkSync(target, hard);
  r = startRefused(['--log-file', hard]);
  assert.equal(r.status, 101, r.stderr);
  assert.match(r.stderr, /--log-file .*hard\.log: not opened: it has 2 links/);

  const pid = join(dir, 'tsdistccd.pid');
  symlinkSync(target, pid);
  r = startRefused(['--log-stderr', '--pid-file', pid]);
  assert.equal(r.status, 101, r.stderr);
  assert.match(r.stderr, new RegExp(`--pid-file ${pid}: cannot open it: it is a symbolic link`));
  assert.equal(stamp(target), before, 'the target: same owner, mode, links and content');
});

test('--log-file /dev/null (a character device) is still a log file, and keeps its owner', (t) => {
  const owner = statSync('/dev/null');
  // The old code gave it to --user: put it back if that happens again.
  t.after(() => {
    if (isRoot && statSync('/dev/null').uid !== owner.uid)
      chownSync('/dev/null', owner.uid, owner.gid);
  });
  const r = spawnSync(
    process.execPath,
    [
      DAEMON_BIN,
      ...localDaemonArgs('0'),
      ...WHITELIST,
      ...USER,
      '--lifetime',
      '1',
      '--log-file',
      '/dev/null',
    ],
    { encoding: 'utf8', env: ENV, timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync('/dev/null').uid, owner.uid, 'the daemon changed the owner of /dev/null');
});

test('--log-rotate: a link planted where the first rotated file goes is refused too', () => {
  const dir = openTempDir('tsdistcc-startfiles-');
  const target = precious(dir);
  const before = stamp(target);
  symlinkSync(target, join(dir, 'tsdistccd.1.log'));
  const r = startRefused(['--log-file', join(dir, 'tsdistccd.log'), '--log-rotate', '1m']);
  assert.equal(r.status, 101, r.stderr);
  assert.match(r.stderr, /tsdistccd\.1\.log: cannot open it: it is a symbolic link/);
  assert.equal(stamp(target), before);
});

test('a --log-file in a directory that does not exist: exit 101 naming it, no directory made (issue 21 item 3)', () => {
  const dir = openTempDir('tsdistcc-startfiles-');
  const missing = join(dir, 'no', 'such', 'dir');
  const r = startRefused(['--log-file', join(missing, 'x.log')]);
  assert.equal(r.status, 101, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`--log-file ${missing}/x\\.log: cannot create it: no such directory`),
  );
  assert.equal(existsSync(join(dir, 'no')), false, 'no mkdir -p');
});

test('started as root: a log or pid file it created goes to --user, one that was there keeps its owner', async (t) => {
  if (!isRoot) return t.skip('needs root');
  const dir = openTempDir('tsdistcc-startfiles-');
  const existing = join(dir, 'existing.log');
  writeFileSync(existing, 'an older line\n', { mode: 0o640 });
  const stalePid = join(dir, 'stale.pid');
  writeFileSync(stalePid, '99999\n', { mode: 0o644 });
  const made = join(dir, 'made.pid');
  const { child, exited } = await startLogging(existing, ['--pid-file', stalePid]);
  try {
    assert.equal(statSync(existing).uid, 0, 'the existing log file is still root’s');
    assert.equal(statSync(existing).mode & 0o777, 0o640);
    assert.match(readFileSync(existing, 'utf8'), /^an older line\n/, 'appended to');
    assert.equal(readFileSync(stalePid, 'utf8'), `${child.pid}\n`);
    assert.equal(statSync(stalePid).uid, 0, 'the stale pid file is still root’s');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const log = join(dir, 'new.log');
  const { child: second, exited: gone } = await startLogging(log, ['--pid-file', made]);
  try {
    assert.equal(statSync(log).uid, 65534, 'a log file it made is nobody’s');
    assert.equal(statSync(made).uid, 65534, 'a pid file it made is nobody’s');
  } finally {
    second.kill('SIGTERM');
    await gone;
  }
});

test('SIGHUP when the log file cannot be reopened (its directory is root’s, the daemon nobody): it says so in the old file and goes on serving (issue 21 item 1)', async (t) => {
  if (!isRoot) return t.skip('needs root (to drop to nobody)');
  const dir = openTempDir('tsdistcc-startfiles-');
  const logDir = join(dir, 'log');
  mkdirSync(logDir);
  chmodSync(logDir, 0o755);
  const log = join(logDir, 'x.log');
  const { child, exited } = await startLogging(log, [], 'pipe');
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const port = Number(/listening on [^ ]+:(\d+)/.exec(readFileSync(log, 'utf8'))![1]);
    renameSync(log, `${log}.1`);
    child.kill('SIGHUP');
    await until('the failed reopen is said in the old file', () =>
      /SIGHUP: cannot reopen the log file: .*EACCES.*still logging/.test(
        readFileSync(`${log}.1`, 'utf8'),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.exitCode, null, `the daemon is alive; stderr: ${stderr}`);
    const src = Buffer.from('# 1 "x.c"\nint x(void) { return 1; }\n');
    const r = await compileRaw(port, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], src);
    assert.equal(r.status, 0, r.stderr.toString());
    await until('the job is logged in the old file', () =>
      /COMPILE_OK/.test(readFileSync(`${log}.1`, 'utf8')),
    );
    assert.equal(existsSync(log), false);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  }
});

test('--user and a pid file in a directory only root may write (as /run): at SIGTERM it cannot be removed, and the daemon says so and empties it (issue 21 item 2)', async (t) => {
  if (!isRoot) return t.skip('needs root (to drop to nobody)');
  const dir = openTempDir('tsdistcc-startfiles-');
  const run = join(dir, 'run');
  mkdirSync(run);
  chmodSync(run, 0o755);
  const pidFile = join(run, 'tsdistccd.pid');
  const log = join(dir, 'x.log');
  const { child, exited } = await startLogging(log, ['--pid-file', pidFile]);
  try {
    assert.equal(readFileSync(pidFile, 'utf8'), `${child.pid}\n`);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  const text = readFileSync(log, 'utf8');
  assert.match(
    text,
    new RegExp(
      `warning: cannot remove the pid file ${pidFile}: EACCES .*put --pid-file in a directory that account owns.*; emptied it instead`,
    ),
  );
  assert.match(text, /warning: cannot remove the pid file[^]*notice: stopped/);
  // No stale pid for a tool to signal: the file is there (not ours to unlink), empty.
  assert.equal(readFileSync(pidFile, 'utf8'), '');
});
