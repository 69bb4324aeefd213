// The Arch package, end to end. makepkg builds it as an ordinary user from a
// clean copy of this checkout (the files git knows, and node_modules as
// `npm ci` left it) with no network at all; pacman -U installs it into an
// empty root; then, from that root: its file list and metadata, the
// installed tsdistccd running, systemd-analyze verify on every unit, the
// OpenRC script starting, reporting, reloading and stopping real daemons
// under its plain and .i686 names, and makepkg with BUILDENV=(distcc)
// compiling a small C package through the packaged /usr/lib/distcc/bin into a
// running tsdistccd.
// Needs: root (for the build user, pacman, namespaces and OpenRC), makepkg,
// pacman, bsdtar (libarchive-tools), fakeroot, util-linux (unshare, su),
// overlayfs, openrc, systemd (systemd-analyze), Debian's distcc, gcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { runDistcc } from '../helpers/client.js';
import { freePort, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const BUILDER = 'tsdistcc-builder';
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

type Run = { status: number | null; out: string };

/**
 * The environment of what runs as the build user: not this process's, which
 * under `npm test` names root's npm cache (npm_config_cache) among others.
 */
const CLEAN_ENV = [
  'env',
  '-i',
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LANG=C.UTF-8',
];

/** Runs a command, stdout and stderr together. */
function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
    ...opts,
  });
  return { status: r.status, out: `${String(r.stdout ?? '')}${String(r.stderr ?? '')}` };
}

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a build user, pacman --root, namespaces)';
  for (const tool of ['makepkg', 'pacman', 'bsdtar', 'fakeroot', 'unshare', 'su', 'useradd']) {
    if (run('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = missing();
let work = '';
let tree = '';
/** The empty root the package is installed into. */
let R = '';
let built: { main: string; openrc: string } | undefined;
let makepkgLog = '';
/** Seconds each step of before() took, for the log. */
const took: Record<string, number> = {};

function timed<T>(what: string, fn: () => T): T {
  const start = Date.now();
  try {
    return fn();
  } finally {
    took[what] = (Date.now() - start) / 1000;
  }
}

/** Copies the checkout as a clean clone would have it, plus node_modules. */
function copyTree(to: string): void {
  mkdirSync(to);
  const copy = run('bash', [
    '-c',
    `set -o pipefail
     if git -C "$1" rev-parse --git-dir >/dev/null 2>&1; then
       git -C "$1" ls-files -z --cached --others --exclude-standard |
         tar -C "$1" --null --ignore-failed-read -T - -cf - | tar -C "$2" -xf -
     else
       tar -C "$1" --exclude=./.git --exclude=./build --exclude=./node_modules \\
         --exclude='./*.pkg.tar*' -cf - . | tar -C "$2" -xf -
     fi`,
    'copy',
    ROOT,
    to,
  ]);
  assert.equal(copy.status, 0, copy.out);
  const modules = run('cp', ['-a', `${ROOT}node_modules`, join(to, 'node_modules')]);
  assert.equal(modules.status, 0, modules.out);
  assert.equal(run('chown', ['-R', `${BUILDER}:`, to]).status, 0);
}

before(() => {
  if (skip) return;
  if (run('id', [BUILDER]).status !== 0) {
    const r = run('useradd', ['--create-home', BUILDER]);
    assert.equal(r.status, 0, r.out);
  }
  work = mkdtempSync('/tmp/tsdistcc-pkg-');
  chmodSync(work, 0o755);
  tree = join(work, 'tree');
  timed('copy', () => copyTree(tree));
  // No network namespace of its own: nothing can be downloaded.
  const r = timed('makepkg', () =>
    run('unshare', [
      '--net',
      ...CLEAN_ENV,
      'su',
      BUILDER,
      '-s',
      '/bin/bash',
      '-c',
      'cd "$1" && makepkg -f --nodeps',
      'makepkg',
      tree,
    ]),
  );
  makepkgLog = r.out;
  if (r.status !== 0) return;
  const file = (name: string) => {
    const prefix = `${name}-${pkg.version}-1-any.pkg.tar`;
    const found = readdirSync(tree).find((f) => f.startsWith(prefix));
    assert.ok(found, `no ${prefix}* in ${tree}:\n${makepkgLog}`);
    return join(tree, found);
  };
  const packages = { main: file('tsdistcc'), openrc: file('tsdistcc-openrc') };
  built = packages;
  R = join(work, 'root');
  mkdirSync(join(R, 'var/lib/pacman'), { recursive: true });
  // The hooks run chrooted into R, which has no shell: they fail there,
  // harmlessly (update-symlinks.test.ts runs the hook's script itself).
  const install = timed('pacman -U', () =>
    run('pacman', [
      '-U',
      '--root',
      R,
      '--noconfirm',
      '--nodeps',
      '--nodeps',
      packages.main,
      packages.openrc,
    ]),
  );
  assert.equal(install.status, 0, install.out);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('makepkg builds both packages offline, as an ordinary user, from a clean copy of the checkout', (t) => {
  if (skip) return t.skip(skip);
  t.diagnostic(
    Object.entries(took)
      .map(([what, s]) => `${what} ${s.toFixed(1)} s`)
      .join(', '),
  );
  assert.ok(built, `makepkg failed:\n${makepkgLog}`);
  assert.ok(existsSync(built.main) && existsSync(built.openrc), makepkgLog);
  // makepkg worked in build/makepkg, not in src/ (the TypeScript sources).
  assert.deepEqual(readdirSync(join(tree, 'src')).sort(), readdirSync(`${ROOT}src`).sort());
  assert.ok(existsSync(join(tree, 'build/makepkg/tsdistcc/src')));
});

/** Files of an installed package, relative to the root, directories with a trailing /. */
function fileList(name: string): string[] {
  const r = run('pacman', ['-Ql', '--root', R, name]);
  assert.equal(r.status, 0, r.out);
  return r.out
    .trim()
    .split('\n')
    .map((l) => l.slice(name.length + 1 + R.length + 1));
}

function pkginfo(file: string): Map<string, string[]> {
  const r = run('bsdtar', ['-xOf', file, '.PKGINFO']);
  assert.equal(r.status, 0, r.out);
  const info = new Map<string, string[]>();
  for (const m of r.out.matchAll(/^(\w+) = (.*)$/gm)) {
    info.set(m[1]!, [...(info.get(m[1]!) ?? []), m[2]!]);
  }
  return info;
}

test('pacman -U --root installs it into an empty root with everything in its place', (t) => {
  if (skip || !built) return t.skip(skip ?? 'the package was not built');
  const files = fileList('tsdistcc');
  const expected = [
    'etc/conf.d/tsdistccd',
    'etc/conf.d/tsdistccd-i686',
    'usr/bin/tsdistcc-update-symlinks',
    'usr/bin/distcc',
    'usr/lib/tsdistcc/package.json',
    'usr/lib/systemd/system/tsdistccd.service',
    'usr/lib/systemd/system/tsdistccd@.service',
    'usr/lib/systemd/system/tsdistccd.socket',
    'usr/lib/systemd/system/tsdistccd@.socket',
    'usr/lib/systemd/system/tsdistccd@i686.service.d/chroot.conf',
    'usr/lib/systemd/system/tsdistccd@i686.socket.d/port.conf',
    'usr/lib/sysusers.d/tsdistcc.conf',
    'usr/lib/tmpfiles.d/tsdistcc.conf',
    'usr/share/libalpm/hooks/tsdistcc-symlinks.hook',
    'usr/share/libalpm/hooks/tsdistcc-symlinks-remove.hook',
    'usr/share/man/man8/tsdistccd.8.gz',
    'usr/share/doc/tsdistcc/makepkg.conf.d/distcc.conf',
    ...Object.keys(pkg.bin).map((name) => `usr/bin/${name}`),
    ...Object.values(pkg.bin).map((path) => `usr/lib/tsdistcc/${path}`),
    ...Object.keys(pkg.dependencies).map((dep) => `usr/lib/tsdistcc/node_modules/${dep}/`),
    ...['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++'].flatMap((cc) => [
      `usr/lib/distcc/${cc}`,
      `usr/lib/distcc/bin/${cc}`,
    ]),
    ...readdirSync(`${ROOT}man`).map((page) => `usr/share/man/man${page.slice(-1)}/${page}.gz`),
  ];
  assert.deepEqual(
    expected.filter((f) => !files.includes(f)),
    [],
  );
  t.diagnostic(`${files.length} files and directories`);
  // Production dependencies only.
  for (const dev of Object.keys(pkg.devDependencies)) {
    assert.ok(!files.includes(`usr/lib/tsdistcc/node_modules/${dev}/`), `${dev} is packaged`);
  }
  // Every command from package.json's "bin" map runs from /usr/bin.
  for (const name of Object.keys(pkg.bin)) {
    const target = realpathSync(join(R, 'usr/bin', name));
    assert.ok(target.startsWith(join(R, 'usr/lib/tsdistcc/')), target);
    assert.ok(statSync(target).mode & 0o111, `${target} is executable`);
  }
  // The whitelist and masquerade links lead to the client.
  const client = realpathSync(join(R, 'usr/bin/tsdistcc'));
  assert.equal(realpathSync(join(R, 'usr/lib/distcc/gcc')), client);
  assert.equal(realpathSync(join(R, 'usr/lib/distcc/bin/cc')), client);
  assert.equal(realpathSync(join(R, 'usr/bin/distcc')), client);
  // tsdistccd takes an executable entry in /usr/lib/tsdistcc for a whitelisted
  // compiler: no executable file at its top level.
  for (const entry of readdirSync(join(R, 'usr/lib/tsdistcc'), { withFileTypes: true })) {
    if (entry.isFile()) {
      const mode = statSync(join(R, 'usr/lib/tsdistcc', entry.name)).mode;
      assert.equal(mode & 0o111, 0, `usr/lib/tsdistcc/${entry.name} is executable`);
    }
  }
  assert.deepEqual(
    fileList('tsdistcc-openrc')
      .filter((f) => !f.endsWith('/'))
      .sort(),
    ['etc/init.d/tsdistccd', 'etc/init.d/tsdistccd.i686'],
  );

  const info = pkginfo(built.main);
  assert.deepEqual(info.get('pkgver'), [`${pkg.version}-1`]);
  assert.deepEqual(info.get('arch'), ['any']);
  assert.deepEqual(info.get('provides'), ['distcc']);
  assert.deepEqual(info.get('conflict'), ['distcc']);
  assert.deepEqual(info.get('backup'), ['etc/conf.d/tsdistccd', 'etc/conf.d/tsdistccd-i686']);
  assert.ok(info.get('depend')?.includes('nodejs>=20.19'));
  assert.ok(info.get('depend')?.includes('perl'));
  assert.ok(info.get('depend')?.includes('bash'));
  assert.deepEqual(pkginfo(built.openrc).get('depend'), ['tsdistcc', 'openrc']);
});

test('the installed tsdistccd runs', (t) => {
  if (skip || !built) return t.skip(skip ?? 'the package was not built');
  const r = run(join(R, 'usr/bin/tsdistccd'), ['--version']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`^tsdistccd ${pkg.version.replace(/\./g, '\\.')} `));
  t.diagnostic(r.out.split('\n')[0]!);
});

test('systemd-analyze verify passes for every unit, installed', (t) => {
  if (skip || !built) return t.skip(skip ?? 'the package was not built');
  if (run('sh', ['-c', 'command -v systemd-analyze']).status !== 0) {
    return t.skip('systemd-analyze is not installed');
  }
  // What the units refer to on an Arch system: systemd's own units (for
  // sysinit.target and the like), /bin -> usr/bin, /usr/bin/kill.
  const units = join(R, 'usr/lib/systemd/system');
  assert.equal(run('cp', ['-an', '/lib/systemd/system/.', `${units}/`]).status, 0);
  if (!existsSync(join(R, 'bin'))) symlinkSync('usr/bin', join(R, 'bin'));
  copyFileSync('/bin/kill', join(R, 'usr/bin/kill'));
  chmodSync(join(R, 'usr/bin/kill'), 0o755);
  // Documentation=man:tsdistccd(8) is looked up with man: in the root's pages.
  const env = { ...process.env, MANPATH: join(R, 'usr/share/man') };
  for (const unit of [
    'tsdistccd.service',
    'tsdistccd@native.service',
    'tsdistccd@i686.service',
    'tsdistccd.socket',
    'tsdistccd@i686.socket',
  ]) {
    const r = run('systemd-analyze', ['verify', `--root=${R}`, unit], { env });
    assert.equal(r.status, 0, `${unit}:\n${r.out}`);
    assert.equal(r.out, '', `${unit}:\n${r.out}`);
  }
  // Another instance's socket needs its port from a drop-in, as the unit says.
  const other = run('systemd-analyze', ['verify', `--root=${R}`, 'tsdistccd@native.socket'], {
    env,
  });
  assert.notEqual(other.status, 0);
  assert.match(other.out, /no Listen setting/);
});

/** openrc-run needs a softlevel to run scripts outside of boot. */
function withSoftlevel<T>(fn: () => Promise<T>): Promise<T> {
  const softlevel = '/run/openrc/softlevel';
  const made = !existsSync(softlevel);
  if (made) {
    mkdirSync('/run/openrc', { recursive: true });
    writeFileSync(softlevel, '');
  }
  return fn().finally(() => {
    if (made) unlinkSync(softlevel);
  });
}

test('the OpenRC script starts, reports, reloads and stops tsdistccd and tsdistccd.i686, each with its own conf.d file', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'the package was not built');
  if (!existsSync('/sbin/openrc-run') && !existsSync('/usr/sbin/openrc-run')) {
    return t.skip('openrc is not installed');
  }
  // Written by the daemons as nobody (tsdistcc does not exist here).
  const logs = join(work, 'openrc-logs');
  mkdirSync(logs);
  chmodSync(logs, 0o1777);
  const conf = join(R, 'etc/conf.d');
  const [p1, p2] = [await freePort(), await freePort()];
  const args = (port: number, name: string, level: string) =>
    `DISTCC_ARGS="--allow 127.0.0.1 --listen 127.0.0.1 --port ${port} --log-level ${level} --log-file ${logs}/${name}.log"\n`;
  // As an admin would: the packaged files edited. OpenRC also reads
  // conf.d/tsdistccd for tsdistccd.i686 (then conf.d/tsdistccd.i686, for
  // OpenRC's own settings); tsdistccd --instance i686 reads tsdistccd-i686.
  writeFileSync(
    join(conf, 'tsdistccd'),
    `TSDISTCCD_EXEC="${R}/usr/bin/tsdistccd"\nerror_log="${logs}/plain.err"\n${args(p1, 'plain', 'info')}`,
  );
  writeFileSync(join(conf, 'tsdistccd-i686'), args(p2, 'i686', 'info'));
  writeFileSync(join(conf, 'tsdistccd.i686'), `error_log="${logs}/i686.err"\n`);
  const log = (name: string) =>
    existsSync(`${logs}/${name}.log`) ? readFileSync(`${logs}/${name}.log`, 'utf8') : '';
  const rc = (service: string, command: string) =>
    run(join(R, 'etc/init.d', service), ['--nodeps', command]);

  await withSoftlevel(async () => {
    for (const [service, name, port, ident] of [
      ['tsdistccd', 'plain', p1, 'tsdistccd'],
      ['tsdistccd.i686', 'i686', p2, 'tsdistccd-i686'],
    ] as const) {
      try {
        const start = rc(service, 'start');
        assert.equal(start.status, 0, start.out);
        await until(`${service} listens`, () => /listening on/.test(log(name)));
        assert.match(
          log(name),
          new RegExp(`${ident}\\[\\d+\\] notice: listening on 127\\.0\\.0\\.1:${port};`),
        );
        assert.ok(existsSync(`/run/${service}.pid`), `/run/${service}.pid`);
        const status = rc(service, 'status');
        assert.equal(status.status, 0, status.out);
        assert.match(status.out, /status: started/);

        const cwd = join(work, `openrc-${name}`);
        mkdirSync(cwd);
        writeFileSync(join(cwd, 'x.c'), 'int x(void) { return 1; }\n');
        const cc = await runDistcc(['gcc', '-c', 'x.c', '-o', 'x.o'], `127.0.0.1:${port}`, cwd);
        assert.equal(cc.code, 0, cc.stderr);
        await until(`${service} compiled`, () => /COMPILE_OK/.test(log(name)));

        // reload: the daemon re-reads its own file (the log level changes).
        const file = join(conf, name === 'plain' ? 'tsdistccd' : 'tsdistccd-i686');
        writeFileSync(
          file,
          readFileSync(file, 'utf8').replace('--log-level info', '--log-level debug'),
        );
        const reload = rc(service, 'reload');
        assert.equal(reload.status, 0, reload.out);
        await until(`${service} reloaded`, () =>
          /SIGHUP: configuration re-read from \S+; changed: logLevel/.test(log(name)),
        );
      } finally {
        const stop = rc(service, 'stop');
        assert.equal(stop.status, 0, stop.out);
      }
      assert.match(log(name), /notice: stopped/);
      const status = rc(service, 'status');
      assert.equal(status.status, 3, status.out);
      assert.match(status.out, /status: stopped/);
    }
  });
  // Each instance wrote only to its own log.
  assert.doesNotMatch(log('plain'), /tsdistccd-i686\[/);
  assert.doesNotMatch(log('i686'), /tsdistccd\[/);
});

test('makepkg with BUILDENV=(distcc) compiles every file of a C package in tsdistccd, through the packaged /usr/lib/distcc/bin', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'the package was not built');
  if (run('sh', ['-c', 'command -v make']).status !== 0) return t.skip('make is not installed');
  const daemon = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info']);
  try {
    const hello = join(work, 'hello');
    cpSync(`${ROOT}test/fixtures/makepkg-distcc`, hello, { recursive: true });
    // The build user's DISTCC_DIR and TMPDIR, removed with the rest.
    const client = join(work, 'client');
    mkdirSync(join(client, 'distcc'), { recursive: true });
    mkdirSync(join(client, 'tmp'));
    assert.equal(run('chown', ['-R', `${BUILDER}:`, hello, client]).status, 0);
    // makepkg.conf: the system's, the packaged fragment, the test's host.
    const fragment = readFileSync(
      join(R, 'usr/share/doc/tsdistcc/makepkg.conf.d/distcc.conf'),
      'utf8',
    );
    assert.match(fragment, /^BUILDENV=\(distcc /m);
    const config = join(work, 'makepkg.conf');
    writeFileSync(
      config,
      `${readFileSync('/etc/makepkg.conf', 'utf8')}\n${fragment}\nDISTCC_HOSTS="127.0.0.1/4:${daemon.port}"\nMAKEFLAGS="-j4"\n`,
    );
    chmodSync(config, 0o644);
    // The package's /usr laid over this system's, in a mount namespace: so
    // /usr/lib/distcc/bin is the packaged one, and makepkg itself puts it on
    // PATH. A PID namespace, so that nothing the build started outlives it.
    const r = run('unshare', [
      '--mount',
      '--pid',
      '--fork',
      '--mount-proc',
      'sh',
      '-c',
      `mount -t overlay overlay -o lowerdir="$1/usr:/usr" /usr &&
       exec ${CLEAN_ENV.join(' ')} su ${BUILDER} -s /bin/bash -c 'cd "$1" && DISTCC_DIR="$2/distcc" TMPDIR="$2/tmp" makepkg --config "$3" -f --nodeps' sh "$2" "$3" "$4"`,
      'sh',
      R,
      hello,
      client,
      config,
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(
      r.out,
      /^build\(\) PATH=\/usr\/lib\/distcc\/bin:/m,
      'makepkg put the masquerade first',
    );
    assert.ok(
      readdirSync(hello).some((f) => f.startsWith('tsdistcc-hello-1-1-x86_64.pkg.tar')),
      r.out,
    );
    for (const file of ['main.c', 'greet.c', 'count.c']) {
      await daemon.waitForLog(new RegExp(`COMPILE_OK .* ${file.replace('.', '\\.')}\\n`));
    }
    const ok = daemon.log().match(/COMPILE_OK/g) ?? [];
    t.diagnostic(`${ok.length} COMPILE_OK in tsdistccd's log`);
    assert.equal(ok.length, 3);
  } finally {
    await daemon.stop();
  }
});
