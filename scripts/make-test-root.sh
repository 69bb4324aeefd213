#!/usr/bin/env bash
# Makes the Debian i386 root the --chroot tests use (the i686 instance's
# root, with gcc, Debian's distcc, and makepkg and pacman for the 32-bit
# schroot build), once: /var/tmp/tsdistcc-test-root/bookworm-i386. .ci/run
# calls it before the tests, so that no test reaches the network. Needs root,
# debootstrap and a kernel that runs 32-bit code (IA32 emulation); about a
# minute, 630 MB.
# Without 32-bit support it says so and exits 0: those tests then skip.
set -euo pipefail
cd "$(dirname "$0")"

ROOT_DIR=/var/tmp/tsdistcc-test-root/bookworm-i386
PACKAGES=gcc,libc6-dev,distcc,make,makepkg,pacman-package-manager,libarchive-tools,fakeroot,file

# The mirror this machine's own apt uses (deb822 or one-line sources).
mirror=$(grep -hoE '(URIs:|^deb) +https?://[^ ]+/debian/?( |$)' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  head -n1 | awk '{print $2}' || true)
mirror=${mirror:-http://deb.debian.org/debian}

# A root is only moved in place whole; /usr/bin/pacman tells one made with
# these PACKAGES from an older one (test/helpers/root.ts checks the same).
if [ -x "$ROOT_DIR/usr/bin/pacman" ]; then
  echo "make-test-root: $ROOT_DIR is there"
  exit 0
fi
if ! why=$(bash ./runs-ia32.sh); then
  echo "make-test-root: $why; the i386 root's tests will skip" >&2
  exit 0
fi
rm -rf "$ROOT_DIR.partial"
mkdir -p "$ROOT_DIR.partial"
log=$(mktemp)
if ! /usr/sbin/debootstrap --arch=i386 --variant=minbase --include="$PACKAGES" \
  bookworm "$ROOT_DIR.partial" "$mirror" >"$log" 2>&1; then
  rm -rf "$ROOT_DIR.partial"
  tail -n 30 "$log" >&2
  rm -f "$log"
  echo "make-test-root: debootstrap --arch=i386 failed" >&2
  exit 1
fi
rm -f "$log"
# An old root with something still mounted in it (a schroot session's /proc)
# is left alone: rm -rf would reach into the mount.
if [ -d "$ROOT_DIR" ] && findmnt -rn -o TARGET | grep -q "^$ROOT_DIR/"; then
  echo "make-test-root: something is mounted under $ROOT_DIR; unmount it first" >&2
  exit 1
fi
rm -rf "$ROOT_DIR"
mv "$ROOT_DIR.partial" "$ROOT_DIR"
echo "make-test-root: made $ROOT_DIR"
