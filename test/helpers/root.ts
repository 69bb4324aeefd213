// The Debian i386 root the --chroot tests use (the i686 instance's root), with
// gcc, Debian's distcc, makepkg and pacman. scripts/make-test-root.sh makes it
// before the tests (.ci/run calls it), so that no test reaches the network;
// it is kept between runs in /var/tmp.

import {
  copyFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { FIXTURE_BIN, ROOT } from './paths.js';

export const ROOT_DIR = '/var/tmp/tsdistcc-test-root/bookworm-i386';
/** The root's own compiler's name, as Debian's distcc inside it sends it. */
export const ROOT_GCC = 'i686-linux-gnu-gcc';
/** The i686 instance's options (etc/conf.d/tsdistccd-i686's), with the test root. */
export const I686_ARGS = ['--chroot', ROOT_DIR, '--personality', 'linux32', '--user', 'nobody'];

/**
 * Why the root can't be used here, or undefined when it is ready. The first
 * cause that nothing else would fix comes first: a kernel that runs no 32-bit
 * code (then scripts/make-test-root.sh makes no root either, and root would
 * not help), then not being root, then a root not made yet.
 */
export function ensureRoot(): string | undefined {
  const ia32 = spawnSync('bash', [`${ROOT}scripts/runs-ia32.sh`], { encoding: 'utf8' });
  if (ia32.status !== 0) return ia32.stdout.trim() || 'this kernel runs no 32-bit programs';
  if (process.getuid?.() !== 0) return 'entering the i386 root needs root';
  // The mark scripts/make-test-root.sh checks too.
  if (!existsSync(`${ROOT_DIR}/usr/bin/pacman`))
    return `no i386 root at ${ROOT_DIR}: make it with scripts/make-test-root.sh (.ci/run does)`;
  return undefined;
}

/** The probe compiler (test/fixtures/bin/probe-cc) and its whitelist entry, inside the root. */
export function installProbe(): void {
  const probe = join(ROOT_DIR, 'usr/local/bin/probe-cc');
  copyFileSync(join(FIXTURE_BIN, 'probe-cc'), probe);
  chmodSync(probe, 0o755);
  mkdirSync(join(ROOT_DIR, 'usr/lib/tsdistcc'), { recursive: true });
  writeFileSync(join(ROOT_DIR, 'usr/lib/tsdistcc/probe-cc'), '#!/bin/sh\nexit 1\n', {
    mode: 0o755,
  });
}

/**
 * The example schroot profile (etc/schroot/chroot.d/arch32) as chroot `name`,
 * pointed at the test root (and at `users`, if given), in
 * /etc/schroot/chroot.d until the test ends. Returns its text.
 */
export function schrootProfile(t: TestContext, name: string, users?: string): string {
  let profile = readFileSync(`${ROOT}etc/schroot/chroot.d/arch32`, 'utf8')
    .replace(/^\[arch32\]$/m, `[${name}]`)
    .replace(/^directory=.*$/m, `directory=${ROOT_DIR}`);
  if (users !== undefined) profile = profile.replace(/^users=.*$/m, `users=${users}`);
  const conf = `/etc/schroot/chroot.d/${name}`;
  writeFileSync(conf, profile);
  t.after(() => rmSync(conf, { force: true }));
  return profile;
}
