// What the client keeps to its user (src/client/private-dir.ts, locks.ts,
// temp-files.ts, output.ts): private directories are checked through their
// descriptor, locks are socket files in one and recover from a killed
// holder, temp files never open a planted name, the object goes only to the
// output path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
  linkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryLock, tryLockFile } from '../../src/client/locks.js';
import { privateDir } from '../../src/client/private-dir.js';
import { createTempFile, tempDir } from '../../src/client/temp-files.js';
import { writeOutput } from '../../src/client/output.js';
import { TsdistccError } from '../../src/errors.js';
import { until } from '../helpers/wait.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'tsdistcc-private-'));

test('a private directory is made 0700; a link, a wide mode or a file there is refused', () => {
  const base = scratch();
  const made = privateDir(join(base, 'p'));
  assert.equal(statSync(made.path).mode & 0o777, 0o700);
  mkdirSync(join(base, 'wide'));
  chmodSync(join(base, 'wide'), 0o755);
  symlinkSync(join(base, 'p'), join(base, 'link'));
  writeFileSync(join(base, 'file'), '');
  for (const bad of ['wide', 'link', 'file']) {
    assert.throws(() => privateDir(join(base, bad)), TsdistccError, bad);
  }
});

test('a lock is held once; released, it can be taken again', async () => {
  const dir = privateDir(join(scratch(), 'locks'));
  const release = await tryLock(dir, 'cpu_tcp_example.org_3632_0');
  assert.ok(release);
  assert.equal(await tryLock(dir, 'cpu_tcp_example.org_3632_0'), undefined);
  release();
  await until('released', () => !existsSync(join(dir.path, 'cpu_tcp_example.org_3632_0')));
  const again = await tryLock(dir, 'cpu_tcp_example.org_3632_0');
  assert.ok(again);
  again();
});

test('a long lock name still fits a socket address', async () => {
  const parent = join(scratch(), 'x'.repeat(60));
  mkdirSync(parent);
  const dir = privateDir(join(parent, 'locks'.repeat(10)));
  const release = await tryLock(dir, `cpu_tcp_${'h'.repeat(200)}.example_3632_0`);
  assert.ok(release);
  release();
});

test('a lock left by a killed holder is stale: the next one takes it, once', async () => {
  const lockDir = scratch();
  const script = `
    import('${new URL('../../src/client/locks.js', import.meta.url).href}').then(async (m) => {
      const r = await m.tryLockFile(process.argv[1], 'cpu_localhost_0');
      console.log(r ? 'held' : 'busy');
      setInterval(() => {}, 1000);
    });`;
  const holder = spawn(process.execPath, ['-e', script, lockDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until('the holder holds', () => out.includes('held'));
  assert.equal(await tryLockFile(lockDir, 'cpu_localhost_0'), undefined, 'held while it lives');
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  const sockets = join(lockDir, `tsdistcc-${process.getuid?.() ?? 0}`);
  assert.ok(readdirSync(sockets).includes('cpu_localhost_0'), 'its socket file is left');
  const [a, b] = await Promise.all([
    tryLockFile(lockDir, 'cpu_localhost_0'),
    tryLockFile(lockDir, 'cpu_localhost_0'),
  ]);
  assert.equal([a, b].filter(Boolean).length, 1, 'exactly one of two racing callers gets it');
  (a ?? b)!();
});

test('a temp file is 0600 and made with O_EXCL: a link planted at its name is not followed', () => {
  const dir = tempDir(scratch());
  assert.equal(statSync(dir.path).mode & 0o777, 0o700);
  const target = join(scratch(), 'victim-file');
  writeFileSync(target, 'precious');
  symlinkSync(target, join(dir.path, 'distcc_planted.i'));
  const names = ['planted', 'fresh'];
  const file = createTempFile(dir, 'distcc', 'i', () => names.shift()!);
  assert.equal(file, join(dir.path, 'distcc_fresh.i'));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(target, 'utf8'), 'precious');
  assert.ok(lstatSync(join(dir.path, 'distcc_planted.i')).isSymbolicLink());
});

test("a temp directory somebody else's name took: a fresh private one instead", () => {
  const base = scratch();
  chmodSync(base, 0o1777);
  const other = scratch();
  symlinkSync(other, join(base, `tsdistcc-${process.getuid?.() ?? 0}`));
  let warned = '';
  const dir = tempDir(base, (why) => (warned = why));
  assert.match(warned, /symbolic link/);
  assert.notEqual(dir.path, join(base, `tsdistcc-${process.getuid?.() ?? 0}`));
  assert.equal(statSync(dir.path).mode & 0o777, 0o700);
  createTempFile(dir, 'distcc', 'i');
  assert.deepEqual(readdirSync(other), []);
});

test('the object replaces a link at the output path, and leaves hard links and devices alone', () => {
  const base = scratch();
  const elsewhere = join(base, 'elsewhere');
  writeFileSync(elsewhere, 'keep');
  symlinkSync(elsewhere, join(base, 'x.o'));
  writeOutput(join(base, 'x.o'), Buffer.from('object'), 0o644);
  assert.equal(readFileSync(elsewhere, 'utf8'), 'keep');
  assert.ok(lstatSync(join(base, 'x.o')).isFile());
  assert.equal(readFileSync(join(base, 'x.o'), 'utf8'), 'object');
  assert.equal(statSync(join(base, 'x.o')).mode & 0o777, 0o644);

  linkSync(elsewhere, join(base, 'y.o'));
  writeOutput(join(base, 'y.o'), Buffer.from('new'), 0o600);
  assert.equal(readFileSync(elsewhere, 'utf8'), 'keep');
  assert.equal(statSync(join(base, 'y.o')).mode & 0o777, 0o600);

  writeOutput('/dev/null', Buffer.from('nothing'), 0o644);
  assert.ok(statSync('/dev/null').isCharacterDevice());
  assert.deepEqual(readdirSync(base).sort(), ['elsewhere', 'x.o', 'y.o'], 'no temp file left');
});
