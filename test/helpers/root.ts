// The Debian i386 root the --chroot tests use (the i686 instance's root), with
// gcc, Debian's distcc and makepkg. scripts/make-test-root.sh makes it before
// the tests (.ci/run calls it), so that no test reaches the network; it is
// kept between runs in /var/tmp.

import { existsSync } from 'node:fs';

export const ROOT_DIR = '/var/tmp/tsdistcc-test-root/bookworm-i386';
/** The root's own compiler's name, as Debian's distcc inside it sends it. */
export const ROOT_GCC = 'i686-linux-gnu-gcc';

/** Why the root can't be used here, or undefined when it is ready. */
export function ensureRoot(): string | undefined {
  if (process.getuid?.() !== 0) return 'entering the i386 root needs root';
  if (!existsSync(`${ROOT_DIR}/usr/bin/distcc`))
    return `no i386 root at ${ROOT_DIR}: make it with scripts/make-test-root.sh (.ci/run does)`;
  return undefined;
}
