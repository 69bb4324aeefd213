// Compilers in a root of their own (--chroot), with a personality, as the
// unprivileged user, and in a bubblewrap sandbox. Needs: root, debootstrap
// (a Debian root is made once and kept), bubblewrap, gcc.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { compileRaw, exchange } from '../helpers/client.js';
import { startTsdistccd } from '../helpers/daemon.js';
import { DAEMON_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { ensureRoot, ROOT_DIR } from '../helpers/root.js';
import { until } from '../helpers/wait.js';
import { parseReply, request } from '../helpers/wire.js';

const source = Buffer.from('# 1 "x.c"\nint answer(int x) { return x * 42; }\n');
const isRoot = process.getuid?.() === 0;
const hasBwrap = existsSync('/usr/bin/bwrap');
let noRoot: string | undefined = isRoot ? undefined : 'needs root';

before(() => {
  noRoot ??= ensureRoot();
  if (noRoot) return;
  // The probe compiler and its whitelist entry, inside the root.
  copyFileSync(join(FIXTURE_BIN, 'probe-cc'), join(ROOT_DIR, 'usr/local/bin/probe-cc'));
  execFileSync('chmod', ['755', join(ROOT_DIR, 'usr/local/bin/probe-cc')]);
  mkdirSync(join(ROOT_DIR, 'usr/lib/tsdistcc'), { recursive: true });
  for (const name of ['probe-cc', 'x86_64-linux-gnu-gcc']) {
    const entry = join(ROOT_DIR, 'usr/lib/tsdistcc', name);
    writeFileSync(entry, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  }
});

function probe(stderr: Buffer): Record<string, string> {
  const line = /probe: (.*)/.exec(stderr.toString())?.[1] ?? '';
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
}

test('--chroot --personality linux32 --user nobody: the compiler runs inside the root, as nobody, seeing i686', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const before = new Set(readdirSync(join(ROOT_DIR, 'tmp')));
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--chroot',
    ROOT_DIR,
    '--personality',
    'linux32',
    '--user',
    'nobody',
  ]);
  try {
    const r = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    const p = probe(r.stderr);
    assert.equal(p.uid, execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    assert.equal(p.machine, 'i686');
    assert.match(
      p.cwd ?? '',
      /^\/tmp\/tsdistccd_/,
      'the job directory is seen from inside the root',
    );
    assert.equal(p.tmpdir, p.cwd, "the compiler's TMPDIR is its job directory");
    assert.equal(p.rootrw, 'no');
    // Same object as the root's own compiler makes of the same input.
    mkdirSync(join(ROOT_DIR, 'tmp', 'probe-local'), { recursive: true });
    writeFileSync(join(ROOT_DIR, 'tmp/probe-local/x.i'), source);
    execFileSync('chroot', [
      ROOT_DIR,
      'x86_64-linux-gnu-gcc',
      '-c',
      '/tmp/probe-local/x.i',
      '-o',
      '/tmp/probe-local/x.o',
    ]);
    const fromGcc = parseReply(
      (
        await exchange(
          ts.port,
          request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
        )
      ).reply,
    );
    assert.equal(fromGcc.status, 0, fromGcc.stderr.toString());
    assert.deepEqual(fromGcc.object, execFileSync('cat', [join(ROOT_DIR, 'tmp/probe-local/x.o')]));
    // Only this test's: another run sharing the cached root may have its own in flight.
    await until('job directories removed from the root', () =>
      readdirSync(join(ROOT_DIR, 'tmp')).every((n) => !n.startsWith('tsdistccd_') || before.has(n)),
    );
  } finally {
    await ts.stop();
  }
});

test('with --chroot, compilers are whitelisted by the root, not by the host', async (t) => {
  if (noRoot) return t.skip(noRoot);
  // The host's /usr/lib/distcc has x86_64-linux-gnu-gcc and cc; the root's whitelist has no cc.
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--log-level',
    'info',
    '--chroot',
    ROOT_DIR,
  ]);
  try {
    const { reply } = await exchange(ts.port, request(1, ['cc', '-c', 'x.c', '-o', 'x.o'], source));
    assert.equal(reply.length, 0);
    await ts.waitForLog(
      new RegExp(`cc not in ${ROOT_DIR}/usr/lib/distcc or ${ROOT_DIR}/usr/lib/tsdistcc whitelist`),
    );
  } finally {
    await ts.stop();
  }
});

test('--sandbox bwrap: no network, / read-only, only the job directory writable — as nobody, without root', async (t) => {
  if (!hasBwrap) return t.skip('bubblewrap is not installed');
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--sandbox',
    'bwrap',
    '--personality',
    'linux32',
    '--whitelist-dir',
    `${ROOT}test/fixtures/whitelist`,
    ...(isRoot ? ['--user', 'nobody'] : []),
  ]);
  try {
    const r = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    const p = probe(r.stderr);
    assert.equal(p.ifaces, 'lo,', 'only loopback in the sandbox');
    assert.equal(p.rootrw, 'no');
    assert.equal(p.machine, 'i686');
    assert.notEqual(p.uid, '0');
    assert.ok(r.object.length > 0, 'the job directory was writable');
  } finally {
    await ts.stop();
  }
});

test('--sandbox bwrap with --chroot: the root read-only as /', async (t) => {
  if (noRoot) return t.skip(noRoot);
  if (!hasBwrap) return t.skip('bubblewrap is not installed');
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--chroot',
    ROOT_DIR,
    '--sandbox',
    'bwrap',
    '--user',
    'nobody',
  ]);
  try {
    const r = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    const p = probe(r.stderr);
    assert.equal(p.ifaces, 'lo,');
    assert.equal(p.rootrw, 'no');
    assert.equal(p.machine, 'x86_64');
  } finally {
    await ts.stop();
  }
});

test('bad --chroot, --personality and --sandbox values: exit 101, all reported', async () => {
  const child = spawn(
    process.execPath,
    [
      DAEMON_BIN,
      '--no-detach',
      '--allow',
      '127.0.0.1',
      '--chroot',
      'relative/dir',
      '--personality',
      'vax',
      '--sandbox',
      'docker',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 101);
  assert.match(err, /--chroot must be an absolute directory, got `relative\/dir`/);
  assert.match(err, /--personality must be native, linux32 or linux64, got `vax`/);
  assert.match(err, /--sandbox must be none or bwrap, got `docker`/);
});

test('--chroot --user nobody: gcc started early inside the root reads its source from a pipe there; same object as the root gcc', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--chroot',
    ROOT_DIR,
    '--personality',
    'linux32',
    '--user',
    'nobody',
  ]);
  try {
    const argv = ['x86_64-linux-gnu-gcc', '-O2', '-c', 'x.c', '-o', 'x.o'];
    const whole = request(1, argv, source);
    const at = whole.length - source.length - 12;
    const chunks: Buffer[] = [];
    const socket = connect(ts.port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (d: Buffer) => chunks.push(d));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(whole.subarray(0, at));
    // The compiler's input is a named pipe in its job directory, inside the root.
    const fifo = () =>
      readdirSync(join(ROOT_DIR, 'tmp'))
        .filter((d) => d.startsWith('tsdistccd_'))
        .some((d) => {
          try {
            return lstatSync(join(ROOT_DIR, 'tmp', d, 'input.i')).isFIFO();
          } catch {
            return false;
          }
        });
    await until('a FIFO as the input of a job inside the root', fifo);
    await new Promise((r) => setTimeout(r, 200));
    socket.write(whole.subarray(at));
    await closed;
    const r = parseReply(Buffer.concat(chunks));
    assert.equal(r.status, 0, r.stderr.toString());
    mkdirSync(join(ROOT_DIR, 'tmp', 'early-local'), { recursive: true });
    writeFileSync(join(ROOT_DIR, 'tmp/early-local/x.i'), source);
    execFileSync('chroot', [
      ROOT_DIR,
      'gcc',
      '-O2',
      '-c',
      '/tmp/early-local/x.i',
      '-o',
      '/tmp/early-local/x.o',
    ]);
    assert.ok(r.object.equals(readFileSync(join(ROOT_DIR, 'tmp/early-local/x.o'))));
  } finally {
    await ts.stop();
  }
});
