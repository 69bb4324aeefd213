// The i686 instance: compilers in a root of their own (--chroot, here a real
// Debian i386 root), with the linux32 personality, as the unprivileged user,
// and in a bubblewrap sandbox; Debian's distcc client inside that root
// (linux32 chroot, and schroot with etc/schroot's example profile) builds
// through it; a native and an i686 instance side by side on 3632 and 3692.
// Needs: root, the i386 root of scripts/make-test-root.sh (so a kernel that
// runs 32-bit code), bubblewrap, schroot, iproute2, gcc, Debian's distcc.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { compileRaw, exchange, runClient, type ClientRun } from '../helpers/client.js';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { DAEMON_BIN, ROOT } from '../helpers/paths.js';
import {
  ensureRoot,
  I686_ARGS,
  installProbe,
  ROOT_DIR,
  ROOT_GCC,
  schrootProfile,
} from '../helpers/root.js';
import { until } from '../helpers/wait.js';
import { parseReply, request } from '../helpers/wire.js';

const source = Buffer.from('# 1 "x.c"\nint answer(int x) { return x * 42; }\n');
const isRoot = process.getuid?.() === 0;
const hasBwrap = existsSync('/usr/bin/bwrap');
let noRoot: string | undefined;

before(() => {
  // ensureRoot names a kernel without 32-bit code before a missing root privilege.
  noRoot = ensureRoot();
  if (noRoot) return;
  installProbe();
});

const I386 = /^ELF 32-bit LSB relocatable, Intel 80386/;
const X86_64 = /^ELF 64-bit LSB relocatable, x86-64/;

test('the skip names the real cause: a kernel without 32-bit code before not being root', () => {
  const probe = spawnSync('bash', [`${ROOT}scripts/runs-ia32.sh`], { encoding: 'utf8' });
  const getuid = process.getuid;
  process.getuid = () => 65534;
  try {
    const why = ensureRoot();
    if (probe.status === 0) assert.equal(why, 'entering the i386 root needs root');
    else {
      assert.equal(why, probe.stdout.trim());
      assert.match(why, /32-bit/);
    }
  } finally {
    process.getuid = getuid;
  }
});

/** What file(1) says of `path`. */
function fileKind(path: string): string {
  return execFileSync('file', ['-b', path], { encoding: 'utf8' });
}

/** A fresh directory under the root's /tmp: [its path on the host, inside]. */
function dirInRoot(name: string): [string, string] {
  const inside = `/tmp/${name}-${process.pid}`;
  const host = join(ROOT_DIR, inside);
  rmSync(host, { recursive: true, force: true });
  mkdirSync(host, { recursive: true });
  return [host, inside];
}

/** Compiles `text` as `file` with the root's gcc under linux32; the host path of the object. */
function localInRoot(name: string, file: string, text: Buffer | string, flags: string[]): string {
  const [host, inside] = dirInRoot(name);
  writeFileSync(join(host, file), text);
  execFileSync(
    'linux32',
    ['chroot', ROOT_DIR, 'gcc', ...flags, '-c', `${inside}/${file}`, '-o', `${inside}/local.o`],
    { env: { ...process.env, TMPDIR: inside } },
  );
  return join(host, 'local.o');
}

function probe(stderr: Buffer): Record<string, string> {
  const line = /probe: (.*)/.exec(stderr.toString())?.[1] ?? '';
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
}

test('--chroot --personality linux32 --user nobody: the compiler runs inside the root, as nobody, seeing i686', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const before = new Set(readdirSync(join(ROOT_DIR, 'tmp')));
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...I686_ARGS]);
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
    // Same object as the root's own compiler makes of the same input: 32-bit.
    const fromGcc = parseReply(
      (await exchange(ts.port, request(1, [ROOT_GCC, '-c', 'x.c', '-o', 'x.o'], source))).reply,
    );
    assert.equal(fromGcc.status, 0, fromGcc.stderr.toString());
    const local = localInRoot('probe-local', 'x.i', source, []);
    assert.ok(fromGcc.object.equals(readFileSync(local)), 'same object as the root gcc');
    assert.match(fileKind(local), I386);
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
  // The host's /usr/lib/distcc has cc; the root's (Debian's distcc, i386) has no cc.
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

test('--sandbox bwrap with --chroot --personality linux32: the root read-only as /, no network, i686, as nobody; a 32-bit object', async (t) => {
  if (noRoot) return t.skip(noRoot);
  if (!hasBwrap) return t.skip('bubblewrap is not installed');
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--chroot',
    ROOT_DIR,
    '--personality',
    'linux32',
    '--sandbox',
    'bwrap',
    '--user',
    'nobody',
  ]);
  try {
    const r = await compileRaw(ts.port, ['probe-cc', '-O2', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    const p = probe(r.stderr);
    assert.equal(p.ifaces, 'lo,');
    assert.equal(p.rootrw, 'no');
    assert.equal(p.machine, 'i686');
    assert.equal(p.uid, execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    assert.ok(r.object.equals(readFileSync(localInRoot('bwrap-local', 'x.i', source, ['-O2']))));
  } finally {
    await ts.stop();
  }
});

test("--chroot without --personality: the compiler sees the host machine (x86_64) but is the root's", async (t) => {
  if (noRoot) return t.skip(noRoot);
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--chroot',
    ROOT_DIR,
    '--user',
    'nobody',
  ]);
  try {
    const r = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.equal(probe(r.stderr).machine, 'x86_64');
    const [host] = dirInRoot('nopers');
    writeFileSync(join(host, 'x.o'), r.object);
    assert.match(fileKind(join(host, 'x.o')), I386);
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
  assert.match(err, /--sandbox must be auto, namespaces, bwrap, none, got `docker`/);
});

test('--chroot --user nobody: gcc started early inside the root reads its source from a pipe there; same object as the root gcc', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...I686_ARGS]);
  try {
    const argv = [ROOT_GCC, '-O2', '-c', 'x.c', '-o', 'x.o'];
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
    assert.ok(r.object.equals(readFileSync(localInRoot('early-local', 'x.i', source, ['-O2']))));
  } finally {
    await ts.stop();
  }
});

// A program with the size of long in it: 4 in the i386 root, 8 natively.
const hello = '#include <stdio.h>\nint main(void) { printf("%zu\\n", sizeof(long)); return 0; }\n';

/**
 * Debian's distcc client inside the root compiles `hello` through `hosts`,
 * started by `enter` (e.g. `linux32 chroot ROOT`); the host paths of the
 * object it got and of the root gcc's own object of the same file.
 */
async function distccInRoot(
  enter: string[],
  hosts: string,
  name: string,
): Promise<{ remote: string; local: string; run: ClientRun }> {
  const [host, inside] = dirInRoot(name);
  mkdirSync(join(host, '.distcc'));
  writeFileSync(join(host, 'hello.c'), hello);
  const [command, ...rest] = enter;
  const run = await runClient(
    command!,
    [...rest, 'distcc', 'gcc', '-O2', '-c', `${inside}/hello.c`, '-o', `${inside}/hello.o`],
    hosts,
    '/',
    // The host's TMPDIR (the test run's own) is no directory inside the root.
    { DISTCC_DIR: `${inside}/.distcc`, TMPDIR: inside },
  );
  const local = localInRoot(`${name}-local`, 'hello.c', hello, ['-O2']);
  return { remote: join(host, 'hello.o'), local, run };
}

test("Debian's distcc inside the i386 root (linux32 chroot) compiles through the i686 instance: a 32-bit object, the root gcc's own", async (t) => {
  if (noRoot) return t.skip(noRoot);
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info', ...I686_ARGS]);
  try {
    const { remote, local, run } = await distccInRoot(
      ['linux32', 'chroot', ROOT_DIR],
      `127.0.0.1:${ts.port}`,
      'client-in-root',
    );
    assert.equal(run.code, 0, run.stderr);
    // It went through the daemon (fallback is off), by the root's compiler name.
    await ts.waitForLog(new RegExp(`COMPILE_OK .* ${ROOT_GCC} /tmp/client-in-root-\\d+/hello\\.c`));
    assert.match(fileKind(remote), I386);
    assert.ok(readFileSync(remote).equals(readFileSync(local)), 'same object as the root gcc');
  } finally {
    await ts.stop();
  }
});

test('the same through schroot -p with the example profile (etc/schroot/chroot.d/arch32)', async (t) => {
  if (noRoot) return t.skip(noRoot);
  if (!existsSync('/usr/bin/schroot')) return t.skip('schroot is not installed');
  // The example, pointed at the test root; root may use it (root-users=root).
  const name = `tsdistcc-test-${process.pid}`;
  assert.match(schrootProfile(t, name), /^personality=linux32$/m);
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info', ...I686_ARGS]);
  try {
    const uname = execFileSync(
      'schroot',
      ['-c', name, '-p', '--directory', '/', '--', 'uname', '-m'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(uname.trim(), 'i686');
    const { remote, local, run } = await distccInRoot(
      ['schroot', '-c', name, '-p', '--directory', '/', '--'],
      `127.0.0.1:${ts.port}`,
      'client-schroot',
    );
    assert.equal(run.code, 0, run.stderr);
    await ts.waitForLog(new RegExp(`COMPILE_OK .* ${ROOT_GCC} /tmp/client-schroot-\\d+/hello\\.c`));
    assert.match(fileKind(remote), I386);
    assert.ok(readFileSync(remote).equals(readFileSync(local)), 'same object as the root gcc');
  } finally {
    await ts.stop();
  }
});

test('a native instance on 3632 and the i686 instance on 3692 side by side (a network namespace of their own): each gives its own architecture', async (t) => {
  if (noRoot) return t.skip(noRoot);
  // Only loopback in it, so the stock ports are free whatever this host runs.
  const ns = `tsdchroot${process.pid % 100000}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const daemons: RunningDaemon[] = [];
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const inNs = ['ip', 'netns', 'exec', ns];
    const common = ['--allow', '127.0.0.1', '--log-level', 'info'];
    daemons.push(await startTsdistccd([...common, '--port', '3632'], {}, inNs));
    daemons.push(await startTsdistccd([...common, '--port', '3692', ...I686_ARGS], {}, inNs));
    const [native, i686] = daemons as [RunningDaemon, RunningDaemon];
    assert.equal(native.port, 3632);
    assert.equal(i686.port, 3692);

    const work = openTempDir('tsdistcc-side-by-side-');
    writeFileSync(join(work, 'hello.c'), hello);
    const nativeRun = await runClient(
      'ip',
      ['netns', 'exec', ns, 'distcc', 'gcc', '-O2', '-c', 'hello.c', '-o', 'remote.o'],
      '127.0.0.1:3632',
      work,
    );
    assert.equal(nativeRun.code, 0, nativeRun.stderr);
    execFileSync('gcc', ['-O2', '-c', 'hello.c', '-o', 'local.o'], { cwd: work });
    assert.match(fileKind(join(work, 'remote.o')), X86_64);
    assert.ok(readFileSync(join(work, 'remote.o')).equals(readFileSync(join(work, 'local.o'))));

    const { remote, local, run } = await distccInRoot(
      [...inNs, 'linux32', 'chroot', ROOT_DIR],
      '127.0.0.1:3692',
      'side-by-side',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(fileKind(remote), I386);
    assert.ok(readFileSync(remote).equals(readFileSync(local)));
    // Each job went to its own instance.
    assert.match(native.log(), /COMPILE_OK .* x86_64-linux-gnu-gcc hello\.c/);
    assert.doesNotMatch(native.log(), new RegExp(ROOT_GCC));
    await i686.waitForLog(new RegExp(`COMPILE_OK .* ${ROOT_GCC} /tmp/side-by-side-`));
    assert.doesNotMatch(i686.log(), /x86_64-linux-gnu-gcc/);
    rmSync(work, { recursive: true, force: true });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('SIGHUP on the i686 instance (root dropped to nobody) re-reads its env file: a new --allow takes effect', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const conf = openTempDir('tsdistcc-conf-');
  const file = join(conf, 'tsdistccd-i686');
  const args = (allow: string) =>
    `DISTCC_ARGS="--allow ${allow} --chroot ${ROOT_DIR} --personality linux32 --user nobody --log-level info"\n`;
  writeFileSync(file, args('127.0.0.2'));
  const ts = await startTsdistccd(['--instance', 'i686', '--conf-dir', conf]);
  try {
    const refused = await exchange(
      ts.port,
      request(1, [ROOT_GCC, '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(refused.reply.length, 0, 'refused: only 127.0.0.2 allowed');
    writeFileSync(file, args('127.0.0.1'));
    ts.child.kill('SIGHUP');
    await ts.waitForLog(/SIGHUP: configuration re-read from \S+; changed: allow/);
    assert.doesNotMatch(ts.log(), /keeping the old configuration/);
    const r = parseReply(
      (await exchange(ts.port, request(1, [ROOT_GCC, '-c', 'x.c', '-o', 'x.o'], source))).reply,
    );
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(r.object.equals(readFileSync(localInRoot('hup-local', 'x.i', source, []))));
  } finally {
    await ts.stop();
    rmSync(conf, { recursive: true, force: true });
  }
});
