// A 32-bit package build the way the i686 instance is meant for:
// `schroot -c NAME -p -- makepkg` in an i386 root (the example profile,
// etc/schroot/chroot.d/arch32), with BUILDENV=(distcc) from the packaged
// makepkg.conf fragment and DISTCC_HOSTS naming the i686 instance. Every unit
// of a small C package is compiled by tsdistccd --chroot ROOT --personality
// linux32, the objects are the ones makepkg builds locally in the same root,
// and the package's program is 32-bit and runs (its check()).
// Needs: root, schroot, the i386 root (scripts/make-test-root.sh: gcc, make,
// Debian's distcc, makepkg and pacman in it), useradd.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { ensureRoot, I686_ARGS, ROOT_DIR, ROOT_GCC, schrootProfile } from '../helpers/root.js';

const BUILDER = 'tsdistcc-builder';
const UNITS = ['main', 'greet', 'count'];

function why(): string | undefined {
  const root = ensureRoot();
  if (root) return root;
  if (!existsSync('/usr/bin/schroot')) return 'schroot is not installed';
  return undefined;
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

test('schroot -p -- makepkg with BUILDENV=(distcc) in the i386 root: every unit compiled by the i686 instance, the objects makepkg makes locally, a 32-bit program that runs', async (t) => {
  const skip = why();
  if (skip) return t.skip(skip);
  if (run('id', [BUILDER]).status !== 0)
    assert.equal(run('useradd', ['--create-home', BUILDER]).status, 0);

  // The example profile, for the test root and the build user.
  const name = `tsdistcc-makepkg-${process.pid}`;
  schrootProfile(t, name, BUILDER);

  // Arch's distcc puts its masquerade in /usr/lib/distcc/bin, which makepkg
  // puts first on PATH; Debian's (in this root) has it in /usr/lib/distcc.
  const masq = join(ROOT_DIR, 'usr/lib/distcc/bin');
  mkdirSync(masq, { recursive: true });
  for (const cc of ['cc', 'gcc', 'c++', 'g++'])
    if (!existsSync(join(masq, cc))) symlinkSync('../../../bin/distcc', join(masq, cc));

  const inside = `/tmp/makepkg-i686-${process.pid}`;
  const work = join(ROOT_DIR, inside);
  rmSync(work, { recursive: true, force: true });
  t.after(() => rmSync(work, { recursive: true, force: true }));
  for (const dir of ['hello', 'distcc', 'tmp', 'local'])
    mkdirSync(join(work, dir), { recursive: true });
  cpSync(`${ROOT}test/fixtures/makepkg-distcc`, join(work, 'hello'), { recursive: true });

  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info', ...I686_ARGS]);
  try {
    // The root's makepkg.conf, the packaged fragment, the test's i686 instance.
    const fragment = readFileSync(`${ROOT}etc/makepkg.conf.d/distcc.conf`, 'utf8');
    assert.match(fragment, /^BUILDENV=\(distcc /m);
    const base = readFileSync(join(ROOT_DIR, 'etc/makepkg.conf'), 'utf8');
    const remoteConf = `${base}\n${fragment}\nDISTCC_HOSTS="127.0.0.1/4:${ts.port}"\nMAKEFLAGS="-j4"\n`;
    writeFileSync(join(work, 'remote.conf'), remoteConf);
    writeFileSync(
      join(work, 'local.conf'),
      `${remoteConf}BUILDENV=(!distcc color !ccache check !sign)\n`,
    );
    for (const f of ['remote.conf', 'local.conf']) chmodSync(join(work, f), 0o644);
    assert.equal(run('chown', ['-R', `${BUILDER}:`, work]).status, 0);

    const makepkg = (config: string) =>
      run('env', [
        '-i',
        'PATH=/usr/local/bin:/usr/bin:/bin',
        'LANG=C.UTF-8',
        `HOME=${inside}`,
        `DISTCC_DIR=${inside}/distcc`,
        `TMPDIR=${inside}/tmp`,
        'DISTCC_FALLBACK=0',
        'schroot',
        '-c',
        name,
        '-u',
        BUILDER,
        '-p',
        '--directory',
        `${inside}/hello`,
        '--',
        'makepkg',
        '--config',
        `${inside}/${config}`,
        '-f',
        '-C',
        '--nodeps',
      ]);
    const src = join(work, 'hello/src');

    const local = makepkg('local.conf');
    assert.equal(local.status, 0, local.out);
    assert.doesNotMatch(local.out, /^build\(\) PATH=\/usr\/lib\/distcc\/bin:/m);
    for (const u of UNITS) cpSync(join(src, `${u}.o`), join(work, 'local', `${u}.o`));
    assert.doesNotMatch(ts.log(), /COMPILE_OK/, 'the local build stayed local');

    const remote = makepkg('remote.conf');
    assert.equal(remote.status, 0, remote.out);
    assert.match(
      remote.out,
      /^build\(\) PATH=\/usr\/lib\/distcc\/bin:/m,
      'makepkg put the masquerade first',
    );
    assert.match(remote.out, /Starting check\(\)/, "the package's check() ran its 32-bit program");
    for (const u of UNITS) {
      await ts.waitForLog(new RegExp(`COMPILE_OK .* ${ROOT_GCC} ${u}\\.c\\n`));
      assert.ok(
        readFileSync(join(src, `${u}.o`)).equals(readFileSync(join(work, 'local', `${u}.o`))),
        `${u}.o is what makepkg makes locally`,
      );
    }
    assert.equal((ts.log().match(/COMPILE_OK/g) ?? []).length, UNITS.length);
    assert.match(
      execFileSync('file', ['-b', join(src, 'hello')], { encoding: 'utf8' }),
      /^ELF 32-bit LSB .*Intel 80386/,
    );
    assert.ok(
      readdirSync(join(work, 'hello')).some((f) => f.startsWith('tsdistcc-hello-1-1-i686.pkg.tar')),
      remote.out,
    );
  } finally {
    await ts.stop();
  }
});
