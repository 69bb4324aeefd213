// What a compromised compiler can do to the daemon that reads its results
// back (issue 20 item 3): test/fixtures/bin/plant-cc compiles, then swaps its
// output.o, stdout, stderr and input for links — symbolic ones to a secret
// the daemon can read and the compiler cannot, ones through /proc/self/root
// (the reader's root: the host's for the daemon), hard links — and leaves
// setsid children planting more. The daemon must read none of the targets
// (the secret never comes back in a reply), fail that job naming the file,
// change no owner or mode of a host file, and serve the next job, whose
// object is a local gcc's. Cases: the default sandbox; a --chroot root
// (host directories bind-mounted under `unshare -m`) with --sandbox none
// --user nobody, where the launcher stays root and what a compiler leaves
// runs on.
// Needs: gcc; root and unshare(1) for the chroot case.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { compileRaw } from '../helpers/client.js';
import type { ParsedReply as RawResult } from '../helpers/wire.js';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { pidWith, uniqueMark, until } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const WHITELIST = `${ROOT}test/fixtures/whitelist`;
const NOBODY = 65534;

/** A preprocessed source whose first line tells plant-cc what to plant. */
function source(mode: string, fn = 'answer'): Buffer {
  return Buffer.from(`# 1 "${mode}.c"\nint ${fn}(int x) { return x * 42; }\n`);
}

function localObject(dir: string, src: Buffer): Buffer {
  writeFileSync(join(dir, 'x.i'), src);
  execFileSync('gcc', ['-c', 'x.i', '-o', 'local.o'], { cwd: dir });
  return readFileSync(join(dir, 'local.o'));
}

type Planted = {
  /** Readable by the daemon's account, out of the compiler's sight. */
  secret: string;
  secretText: string;
  /** The daemon's account's own file: a link to it must not be written through. */
  victim: string;
  victimText: string;
};

/** Files in `dir`: a secret (root's, 0644) and a victim (the daemon account's, 0600). */
function plantTargets(dir: string): Planted {
  const secretText = `SECRET-${uniqueMark('secret')}\n`;
  const victimText = `VICTIM-${uniqueMark('victim')}\n`;
  const secret = join(dir, 'secret.txt');
  const victim = join(dir, 'victim.txt');
  writeFileSync(secret, secretText, { mode: 0o644 });
  writeFileSync(victim, victimText, { mode: 0o600 });
  if (isRoot) chownSync(victim, NOBODY, NOBODY);
  return { secret, secretText, victim, victimText };
}

function stamp(path: string): string {
  const st = statSync(path);
  return `${st.uid}:${st.gid}:${st.mode.toString(8)}:${st.size}:${st.nlink}:${readFileSync(path, 'latin1')}`;
}

function assertNoSecret(r: RawResult, p: Planted, what: string): void {
  const key = p.secretText.trim();
  for (const part of [r.object, r.stdout, r.stderr]) {
    assert.ok(!part.includes(key), `${what}: the secret came back in the reply`);
  }
}

/** A refused job file: an error reply (exit 107) that names the file and why. */
function assertRefused(r: RawResult, file: string, why: RegExp, what: string): void {
  assert.equal(r.status >> 8, 107, `${what}: status ${r.status}, stderr ${r.stderr.toString()}`);
  assert.equal(r.object.length, 0, `${what}: no object`);
  assert.match(r.stderr.toString(), new RegExp(`job file ${file.replace('.', '\\.')} refused: `));
  assert.match(r.stderr.toString(), why, what);
}

for (const how of [[], ['--sandbox', 'bwrap'], ['--no-launcher']]) {
  test(`${how.join(' ') || 'default sandbox'}: links a compiler plants in its job directory are not followed, hard links not read; the job fails naming the file, the next is served`, async (t) => {
    const scratch = openTempDir('tsdistcc-plant-');
    const p = plantTargets(scratch);
    const before = [stamp(p.secret), stamp(p.victim)];
    const mark = uniqueMark('plant-linger');
    const ts = await startTsdistccd(
      [
        '--allow',
        '127.0.0.1',
        '--whitelist-dir',
        WHITELIST,
        '--log-level',
        'info',
        ...(isRoot ? ['--user', 'nobody'] : []),
        ...how,
      ],
      { PLANT_SECRET: p.secret, PLANT_VICTIM: p.victim, PLANT_MARK: mark },
    );
    t.after(() => ts.stop());
    const compile = (mode: string) =>
      compileRaw(ts.port, ['plant-cc', '-c', 'x.c', '-o', 'x.o'], source(mode));

    const symlink = await compile('symlink');
    assertNoSecret(symlink, p, 'output.o a link to the secret');
    assertRefused(symlink, 'output.o', /a symbolic link/, 'output.o a link');

    const procRoot = await compile('procroot');
    assertNoSecret(procRoot, p, 'output.o through /proc/self/root');
    assertRefused(procRoot, 'output.o', /a symbolic link/, 'output.o through /proc/self/root');

    const hard = await compile('hardlink');
    assertRefused(hard, 'output.o', /2 links to it/, 'output.o with a second name');

    // stdout and stderr swapped for links after the compiler wrote to them, the input for one to
    // the victim; and a setsid child left planting: it does not outlive the job.
    const captures = await compile('captures,linger');
    assertNoSecret(captures, p, 'stdout and stderr links');
    await until(
      'the setsid child is gone with its job',
      () => spawnSync('pgrep', ['-f', '--', mark]).status === 1,
      5000,
    );

    const next = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', 'y.c', '-o', 'y.o'],
      source('plain', 'next'),
    );
    assert.equal(next.status, 0, next.stderr.toString());
    assert.ok(
      next.object.equals(localObject(scratch, source('plain', 'next'))),
      'a local gcc object',
    );
    assert.deepEqual([stamp(p.secret), stamp(p.victim)], before, 'the host files are untouched');
    assert.match(
      ts.log(),
      /job file output\.o refused: a symbolic link; not read or written compiler=plant-cc input=x\.c/,
    );
    assert.doesNotMatch(ts.log(), /without a sandbox/);
  });
}

/**
 * A --chroot root made of the host's own directories (bind-mounted read-only
 * in a mount namespace of the daemon's, by `unshare -m`), with /proc, the
 * fixture compilers and their whitelist; and, in that namespace, a process
 * of the compilers' account outside the root (`helper`): through its
 * /proc/PID/root a compiler in the root reaches the host's files.
 */
function nativeRoot(base: string): { root: string; wrapper: string[]; helperPidFile: string } {
  const root = join(base, 'root');
  for (const d of ['usr', 'etc', 'dev', 'proc', 'wl', `.${FIXTURE_BIN}`]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const d of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${d}`, join(root, d));
  const helperPidFile = join(base, 'helper.pid');
  const script = [
    'set -e',
    'R=$1; shift',
    'for d in usr etc; do mount --bind /$d "$R/$d"; mount -o remount,bind,ro "$R/$d"; done',
    'mount --rbind /dev "$R/dev"',
    'mount -t proc proc "$R/proc"',
    `mount --bind '${FIXTURE_BIN}' "$R${FIXTURE_BIN}"`,
    `mount --bind '${WHITELIST}' "$R/wl"`,
    `setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups sleep 120 </dev/null >/dev/null 2>&1 &`,
    `echo $! > '${helperPidFile}'`,
    'exec "$@"',
  ].join('\n');
  return {
    root,
    wrapper: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', root],
    helperPidFile,
  };
}

test('--chroot --sandbox none --user nobody (the launcher root): links through /proc/PID/root and hard links to host files are refused, what a compiler leaves running gets no directory of another job', async (t) => {
  if (!isRoot) return t.skip('needs root (chroot, mount namespace)');
  const base = openTempDir('tsdistcc-plant-root-');
  const { root, wrapper, helperPidFile } = nativeRoot(base);
  const p = plantTargets(base);
  // A host file of the compilers' account outside the root (another
  // instance's log, given to nobody): it can be hard-linked, not read back.
  const hostFile = join(base, 'host-instance.log');
  const hostText = `HOST-LOG-${uniqueMark('host')}\n`;
  writeFileSync(hostFile, hostText, { mode: 0o600 });
  chownSync(hostFile, NOBODY, NOBODY);
  const before = [stamp(p.secret), stamp(p.victim), stamp(hostFile)];
  const mark = uniqueMark('plant-root-linger');
  const ts = await startTsdistccd(
    [
      '--allow',
      '127.0.0.1',
      '--chroot',
      root,
      '--sandbox',
      'none',
      '--user',
      'nobody',
      '--whitelist-dir',
      '/wl',
      '--log-level',
      'info',
    ],
    {
      PLANT_SECRET: p.secret,
      PLANT_VICTIM: p.victim,
      PLANT_MARK: mark,
      PLANT_HARD: `/proc/[0-9]*/root${hostFile}`,
    },
    wrapper,
  );
  const helper = Number(readFileSync(helperPidFile, 'utf8'));
  t.after(async () => {
    await ts.stop();
    for (const pid of [
      helper,
      spawnSync('pgrep', ['-f', '--', mark], { encoding: 'utf8' }).stdout,
    ]) {
      for (const one of String(pid).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(one), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
  const compile = (mode: string) =>
    compileRaw(ts.port, ['plant-cc', '-c', 'x.c', '-o', 'x.o'], source(mode));

  const procRoot = await compile('procroot');
  assertNoSecret(procRoot, p, 'output.o through /proc/self/root');
  assertRefused(procRoot, 'output.o', /a symbolic link/, 'output.o through /proc/self/root');

  const symlink = await compile('symlink');
  assertNoSecret(symlink, p, 'output.o a link to the secret');
  assertRefused(symlink, 'output.o', /a symbolic link/, 'output.o a link');

  // Hard links to the host file, made through the helper's /proc/PID/root.
  const hard = await compile('hardlink');
  assert.doesNotMatch(hard.stderr.toString(), /no hard link/, 'the link was made');
  assert.ok(!hard.object.includes(hostText.trim()), 'the host file did not come back');
  assertRefused(hard, 'output.o', /2 links to it/, 'output.o a hard link to a host file');
  const captureHard = await compile('capturehard');
  assert.ok(!captureHard.stdout.includes(hostText.trim()), 'the host file did not come back');
  assertRefused(captureHard, 'stdout', /2 links to it/, 'stdout a hard link to a host file');

  // Capture and input links, and a setsid child that runs on (no process
  // namespace here) planting links in its old directory.
  const captures = await compile('captures,linger');
  assertNoSecret(captures, p, 'stdout and stderr links');
  const lingering = await pidWith(mark);
  assert.ok(lingering > 0);
  const planted = readdirSync(join(root, 'tmp')).filter((n) => n.startsWith('tsdistccd_'));
  const next = await compileRaw(
    ts.port,
    ['probe-cc', '-c', 'y.c', '-o', 'y.o'],
    source('plain', 'next'),
  );
  assert.equal(next.status, 0, next.stderr.toString());
  const cwd = /probe: uid=(\d+) nice=\d+ cwd=(\S+)/.exec(next.stderr.toString());
  assert.equal(cwd?.[1], String(NOBODY), next.stderr.toString());
  for (const old of planted) {
    assert.notEqual(cwd?.[2], `/tmp/${old}`, 'not a directory a lingering process can write in');
  }
  assert.ok(next.object.equals(localObject(base, source('plain', 'next'))), 'a local gcc object');
  // gcc started early: the root launcher makes its input pipe through the directory's handle.
  const early = await compileRaw(
    ts.port,
    ['x86_64-linux-gnu-gcc', '-c', 'z.c', '-o', 'z.o'],
    source('plain', 'early'),
  );
  assert.equal(early.status, 0, early.stderr.toString());
  assert.ok(early.object.equals(localObject(base, source('plain', 'early'))), 'a local gcc object');
  assert.deepEqual(
    [stamp(p.secret), stamp(p.victim), stamp(hostFile)],
    before,
    'no owner, mode or content of a host file changed',
  );
  assert.match(ts.log(), /job file stdout refused: 2 links to it .*compiler=plant-cc/);
});
