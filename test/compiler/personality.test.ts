// The system call numbers the launcher calls by number (perl has no
// personality(), mkfifo only in POSIX, and none of the sandbox's calls),
// checked against the kernel headers installed here (linux-libc-dev):
// x86_64's, i386's, and asm-generic's (arm64, riscv64, loongarch64). The
// --personality tests (integration/chroot) show the x86_64 personality
// working, and every early-start test the x86_64 mknodat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  mknodatSyscall,
  personalitySyscall,
  sandboxSyscalls,
} from '../../src/compiler/launcher.js';

function fromHeader(path: string, name: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const m = new RegExp(`^#define __NR_${name} (\\d+)$`, 'm').exec(readFileSync(path, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

const HEADERS: [string, string][] = [
  ['x64', '/usr/include/x86_64-linux-gnu/asm/unistd_64.h'],
  ['ia32', '/usr/include/x86_64-linux-gnu/asm/unistd_32.h'],
  ['arm64', '/usr/include/asm-generic/unistd.h'],
  ['riscv64', '/usr/include/asm-generic/unistd.h'],
  ['loong64', '/usr/include/asm-generic/unistd.h'],
];

for (const [arch, header] of HEADERS) {
  test(`personality(2) on ${arch} is the number ${header} gives`, (t) => {
    const expected = fromHeader(header, 'personality');
    if (expected === undefined) return t.skip(`${header} is not installed`);
    assert.equal(personalitySyscall(arch), expected);
  });
  test(`mknodat(2) on ${arch} is the number ${header} gives`, (t) => {
    const expected = fromHeader(header, 'mknodat');
    if (expected === undefined) return t.skip(`${header} is not installed`);
    assert.equal(mknodatSyscall(arch), expected);
  });
  test(`the sandbox's unshare, setns, mount, mount_setattr, prctl and exit_group on ${arch} are the numbers ${header} gives`, (t) => {
    const expected = ['unshare', 'setns', 'mount', 'mount_setattr', 'prctl', 'exit_group'].map(
      (n) => fromHeader(header, n),
    );
    if (expected.includes(undefined)) return t.skip(`${header} is not installed`);
    assert.deepEqual(sandboxSyscalls(arch), expected);
  });
}

test('an architecture without a known number gets none (the daemon then refuses --personality)', () => {
  assert.equal(personalitySyscall('mips'), undefined);
  assert.equal(mknodatSyscall('mips'), undefined);
  assert.equal(sandboxSyscalls('mips'), undefined);
});
