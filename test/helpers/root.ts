// A Debian root made by debootstrap, for --chroot tests, kept between runs
// in /var/tmp (about 80 s and 460 MB to make). 64-bit: the machines these
// tests run on refuse 32-bit executables (see the i686 notes in README).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';

export const ROOT_DIR = '/var/tmp/tsdistcc-test-root/bookworm-amd64';

function mirror(): string {
  return 'http://deb.debian.org/debian';
}

/** Why a root can't be had here, or undefined when one is ready. */
export function ensureRoot(): string | undefined {
  if (existsSync(`${ROOT_DIR}/usr/bin/gcc`)) return undefined;
  if (process.getuid?.() !== 0) return 'making a root with debootstrap needs root';
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap is not installed';
  const tmp = `${ROOT_DIR}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(
      '/usr/sbin/debootstrap',
      ['--variant=minbase', '--include=gcc,libc6-dev', 'bookworm', tmp, mirror()],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 },
    );
  } catch (err) {
    return `debootstrap failed: ${(err as Error).message}`;
  }
  renameSync(tmp, ROOT_DIR);
  return undefined;
}
