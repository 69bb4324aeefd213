// The resident launcher (launcher-script.ts) run by the real perl, talked to
// over its stdin and stdout as the daemon does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { mknodatSyscall } from '../../src/compiler/launcher.js';
import { LAUNCHER_SCRIPT } from '../../src/compiler/launcher-script.js';

/** The launcher's job channel, its fd 3. */
const jobs = (launcher: ChildProcess) => launcher.stdio[3] as Writable;

/** The launcher with SIGCHLD blocked from the start (a blocked mask is kept across exec). */
function launcherWithoutSigchld() {
  const blockThenExec =
    'use POSIX; POSIX::sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGCHLD)) or die; exec @ARGV or die';
  return spawn('perl', ['-e', blockThenExec, 'perl', '-e', LAUNCHER_SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
}

test('a compiler exit is reported even when its SIGCHLD never wakes the launcher', async (t) => {
  // Perl runs a handler at its next safe point: a SIGCHLD that comes just
  // before select(2) wakes nothing until select returns. Blocked, it never
  // does: only the launcher's bounded select can notice the exit.
  const dir = mkdtempSync(join(tmpdir(), 'tsdistccd_'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const launcher = launcherWithoutSigchld();
  t.after(() => launcher.kill('SIGKILL'));
  const lines = createInterface({ input: launcher.stdout! });
  const events: string[] = [];
  const exited = new Promise<string>((resolve) =>
    lines.on('line', (line) => {
      events.push(line);
      if (line.startsWith('E ')) resolve(line);
    }),
  );
  const argv = ['sh', '-c', 'echo said; echo complained >&2'];
  jobs(launcher).write(['J', '7', dir, '', '', String(argv.length), ...argv].join('\0') + '\0');
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('none'), 3000));
  const exit = await Promise.race([exited, timeout]);
  assert.match(events[0] ?? '', /^S 7 \d+$/);
  // Status 0, then the sizes of its stdout ("said\n") and stderr ("complained\n").
  assert.equal(exit, 'E 7 0 5 11', `events: ${events.join(' | ')}`);
  assert.equal(readFileSync(join(dir, 'stdout'), 'utf8'), 'said\n');
  jobs(launcher).end();
});

/** The launcher as the daemon starts it (no chroot, no account switch), with `mknodat` as given. */
function launcherWith(mknodat: string) {
  return spawn('perl', ['-e', LAUNCHER_SCRIPT, '', '', '', '', '', mknodat], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
}

/** Runs `cat` as an early-started compiler: the source goes in through the FIFO the launcher made. */
async function catThroughFifo(launcher: ReturnType<typeof launcherWith>, dir: string) {
  const lines = createInterface({ input: launcher.stdout! });
  const events: string[] = [];
  const started = new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      events.push(line);
      if (line.startsWith('S ')) resolve();
    }),
  );
  const exited = new Promise<string>((resolve) =>
    lines.on('line', (line) => line.startsWith('E ') && resolve(line)),
  );
  jobs(launcher).write(['J', '3', dir, '', 'input.i', '1', 'cat'].join('\0') + '\0');
  await Promise.race([started, exited]);
  const fifo = join(dir, 'input.i');
  assert.ok(statSync(fifo).isFIFO(), `events: ${events.join(' | ')}`);
  const fd = openSync(fifo, 'w');
  jobs(launcher).write('C\x003\x00');
  writeSync(fd, 'int x;\n');
  closeSync(fd);
  assert.equal(await exited, 'E 3 0 7 0');
  assert.equal(readFileSync(join(dir, 'stdout'), 'utf8'), 'int x;\n');
}

/** Whether the process has Perl's POSIX module loaded (its shared object mapped). */
const hasPosix = (pid: number) => /\/POSIX\.so$/m.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));

test('the early-start FIFO is made by mknodat(2) by number, without loading POSIX (1.5 MB)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistccd_'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const launcher = launcherWith(String(mknodatSyscall()));
  t.after(() => launcher.kill('SIGKILL'));
  await catThroughFifo(launcher, dir);
  assert.equal(hasPosix(launcher.pid!), false, 'POSIX is not loaded');
  jobs(launcher).end();
});

test('where the mknodat number is not known, the FIFO comes from POSIX::mkfifo', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistccd_'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const launcher = launcherWith('');
  t.after(() => launcher.kill('SIGKILL'));
  await catThroughFifo(launcher, dir);
  assert.equal(hasPosix(launcher.pid!), true, 'POSIX is loaded');
  jobs(launcher).end();
});
