// packaging/tsdistcc-update-symlinks, which a pacman hook runs when
// compilers come and go: on a made-up system root, it links exactly the
// compiler names tsdistccd's --whitelist-path takes into the whitelist
// (/usr/lib/distcc) and the masquerade directory (/usr/lib/distcc/bin),
// removes its links when a compiler goes, and leaves the package's own links
// and other packages' links alone. No root needed. Needs: sh.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILER_NAME } from '../../src/compiler/whitelist.js';
import { ROOT } from '../helpers/paths.js';

const SCRIPT = `${ROOT}packaging/tsdistcc-update-symlinks`;

/** The links the package ships, as the PKGBUILD lists them. */
function shipped(): string[] {
  const m = /^_compilers=\(([^)]*)\)$/m.exec(readFileSync(`${ROOT}PKGBUILD`, 'utf8'));
  assert.ok(m, 'PKGBUILD has _compilers=(...)');
  return m[1]!.trim().split(/\s+/);
}

const INSTALLED = [
  'cc',
  'c++',
  'gcc',
  'g++',
  'x86_64-pc-linux-gnu-gcc',
  'x86_64-pc-linux-gnu-gcc-15.2.1',
  'x86_64-pc-linux-gnu-g++',
  'clang',
  'clang++',
  'clang-19',
  'gcc-ar',
  'x86_64-pc-linux-gnu-gcc-ar',
  'clang-format',
  'c++filt',
  'ccache',
  'cpp',
  'tsdistcc',
];

/** A system root with the package's links and these programs in /usr/bin. */
function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tsdistcc-links-'));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/distcc/bin'), { recursive: true });
  for (const name of INSTALLED) {
    writeFileSync(join(root, 'usr/bin', name), '#!/bin/sh\n', { mode: 0o755 });
  }
  // Installed but not executable: not a compiler to link.
  writeFileSync(join(root, 'usr/bin/gcc-14'), '', { mode: 0o644 });
  for (const name of shipped()) {
    symlinkSync('../../bin/tsdistcc', join(root, 'usr/lib/distcc', name));
    symlinkSync('../../../bin/tsdistcc', join(root, 'usr/lib/distcc/bin', name));
  }
  // Another package's link, not ours.
  symlinkSync('../../bin/other', join(root, 'usr/lib/distcc/other-gcc'));
  return root;
}

function run(root: string, ...args: string[]): void {
  execFileSync(SCRIPT, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function links(root: string, dir: string): string[] {
  const path = join(root, 'usr/lib/distcc', dir);
  return readdirSync(path)
    .filter((n) => n !== 'bin')
    .sort();
}

test('it links the compilers tsdistccd would whitelist from PATH, in both directories, to the client', () => {
  const root = makeRoot();
  try {
    run(root);
    const expected = [
      ...shipped(),
      ...INSTALLED.filter((n) => COMPILER_NAME.test(n) && n !== 'tsdistcc'),
    ];
    const want = [...new Set(expected)].sort();
    assert.deepEqual(links(root, 'bin'), want);
    assert.deepEqual(links(root, '.'), [...want, 'other-gcc'].sort());
    assert.ok(want.includes('x86_64-pc-linux-gnu-gcc-15.2.1'));
    assert.ok(!want.includes('gcc-ar') && !want.includes('clang-format') && !want.includes('cpp'));
    const client = realpathSync(join(root, 'usr/bin/tsdistcc'));
    for (const name of want) {
      assert.equal(realpathSync(join(root, 'usr/lib/distcc', name)), client, name);
      assert.equal(realpathSync(join(root, 'usr/lib/distcc/bin', name)), client, name);
    }
    // Relative links, so that they hold inside a chroot or another root.
    assert.equal(readlinkSync(join(root, 'usr/lib/distcc/bin/clang-19')), '../../../bin/tsdistcc');
    // A second run changes nothing.
    run(root);
    assert.deepEqual(links(root, 'bin'), want);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a compiler that goes takes its links along; the package links and foreign links stay', () => {
  const root = makeRoot();
  try {
    run(root);
    rmSync(join(root, 'usr/bin/clang-19'));
    rmSync(join(root, 'usr/bin/gcc'));
    run(root);
    assert.ok(!existsSync(join(root, 'usr/lib/distcc/clang-19')));
    assert.ok(!existsSync(join(root, 'usr/lib/distcc/bin/clang-19')));
    // gcc's links belong to the package: pacman, not the script, owns them.
    assert.ok(existsSync(join(root, 'usr/lib/distcc/bin/gcc')));
    assert.ok(links(root, 'bin').includes('x86_64-pc-linux-gnu-gcc'));
    run(root, '--remove');
    assert.deepEqual(links(root, 'bin'), [...shipped()].sort());
    assert.deepEqual(links(root, '.'), [...shipped(), 'other-gcc'].sort());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** pacman hook Target globs (fnmatch, no leading slash) as regular expressions. */
function targets(hook: string): RegExp[] {
  return [...hook.matchAll(/^Target = (.+)$/gm)].map(
    (m) =>
      new RegExp(
        `^${m[1]!
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*')}$`,
      ),
  );
}

test('the pacman hook fires for every compiler the script links and runs the installed script', () => {
  const hook = readFileSync(`${ROOT}packaging/tsdistcc-symlinks.hook`, 'utf8');
  const globs = targets(hook);
  const names = [...shipped(), ...INSTALLED.filter((n) => COMPILER_NAME.test(n))];
  for (const name of names) {
    if (name === 'tsdistcc') continue;
    assert.ok(
      globs.some((g) => g.test(`usr/bin/${name}`)),
      `no Target matches usr/bin/${name}`,
    );
  }
  assert.match(hook, /^Operation = Remove$/m);
  assert.match(hook, /^When = PostTransaction$/m);
  assert.match(hook, /^Exec = \/usr\/bin\/tsdistcc-update-symlinks$/m);
  const remove = readFileSync(`${ROOT}packaging/tsdistcc-symlinks-remove.hook`, 'utf8');
  assert.match(remove, /^When = PreTransaction$/m);
  assert.match(remove, /^Exec = \/usr\/bin\/tsdistcc-update-symlinks --remove$/m);
});
