#!/usr/bin/env bash
# Whether this kernel runs 32-bit x86 programs: exits 0 if it does; otherwise
# prints why and exits 1. It runs a 93-byte static i386 program (exit(0) by
# int 0x80) made here, so it needs no 32-bit compiler or root. Some machines
# of this kind boot with IA32 emulation off ("32-bit emulation disabled" in
# dmesg): exec(2) then fails with ENOEXEC.
set -u
probe=$(mktemp "${TMPDIR:-/tmp}/runs-ia32.XXXXXX") || exit 1
trap 'rm -f "$probe"' EXIT
# ELF header, one PT_LOAD program header, then: mov eax,1; xor ebx,ebx; int 0x80.
printf '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00\x01\x00\x00\x00\x54\x80\x04\x08\x34\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x34\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x80\x04\x08\x00\x80\x04\x08\x5d\x00\x00\x00\x5d\x00\x00\x00\x05\x00\x00\x00\x00\x10\x00\x00\xb8\x01\x00\x00\x00\x31\xdb\xcd\x80' >"$probe"
chmod 700 "$probe"
case $(uname -m) in
x86_64 | i?86) ;;
*)
  echo "this machine is $(uname -m), not x86: it runs no i386 programs"
  exit 1
  ;;
esac
if "$probe" 2>/dev/null; then exit 0; fi
echo "this kernel runs no 32-bit x86 programs (IA32 emulation is off: boot it with ia32_emulation=on)"
exit 1
