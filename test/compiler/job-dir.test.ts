// Job files through the directory's handle (compiler/job-dir.ts): what a
// compiler may have left at a job file's name — a symbolic link, a hard
// link, a named pipe, someone else's file, an oversized one — is refused
// unread (and a pipe does not hang the daemon); the input is never written
// through a link; cleaning up follows no link out of the directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobDirs, JobFileError } from '../../src/compiler/job-dir.js';

const isRoot = process.getuid?.() === 0;

function setup() {
  const tmp = mkdtempSync(join(tmpdir(), 'tsdistcc-jobdir-'));
  const outside = mkdtempSync(join(tmpdir(), 'tsdistcc-outside-'));
  const victim = join(outside, 'victim');
  writeFileSync(victim, 'victim text\n');
  const dirs = new JobDirs(() => {}, 0);
  return { tmp, outside, victim, dirs, dir: dirs.make(tmp, 'i', 'o') };
}

async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof JobFileError, String(err));
    assert.match(err.message, why);
    return true;
  });
}

test('a missing output is empty; a real one is read, up to the limit only', async () => {
  const { dir } = setup();
  assert.equal((await dir.readOutput()).length, 0);
  writeFileSync(dir.output, 'object');
  assert.equal((await dir.readOutput(100)).toString(), 'object');
  await refused(dir.readOutput(3), /output\.o refused: 6 bytes, over the limit of 3/);
  await dir.remove();
});

test('links, pipes and files of another account at a job file are refused, unread', async () => {
  const { dir, victim } = setup();
  symlinkSync(victim, dir.output);
  await refused(dir.readOutput(), /output\.o refused: a symbolic link/);
  unlinkSync(dir.output);
  linkSync(victim, dir.output);
  await refused(dir.readOutput(), /output\.o refused: 2 links to it/);
  unlinkSync(dir.output);
  execFileSync('mkfifo', [join(dir.path, 'stdout')]);
  // A pipe with no writer: refused at once, not a hang.
  await refused(dir.readFile('stdout'), /stdout refused: a named pipe/);
  if (isRoot) {
    writeFileSync(join(dir.path, 'stderr'), 'theirs');
    chownSync(join(dir.path, 'stderr'), 12345, 12345);
    await refused(dir.readFile('stderr'), /stderr refused: owned by uid 12345/);
  }
  assert.equal(readFileSync(victim, 'utf8'), 'victim text\n');
  await dir.remove();
});

test('the input is not written through a link put at its name; a plain old one is replaced', async () => {
  const { dir, victim } = setup();
  symlinkSync(victim, dir.input);
  await assert.rejects(dir.writeInput([Buffer.from('source')]), /ELOOP/);
  unlinkSync(dir.input);
  linkSync(victim, dir.input);
  await refused(dir.writeInput([Buffer.from('source')]), /input\.i refused: 2 links/);
  assert.equal(readFileSync(victim, 'utf8'), 'victim text\n', 'the victim is untouched');
  unlinkSync(dir.input);
  writeFileSync(dir.input, 'an older, longer input');
  await dir.writeInput([Buffer.from('so'), Buffer.from('urce')]);
  assert.equal(readFileSync(dir.input, 'utf8'), 'source');
  await dir.remove();
});

test('the early-start pipe is opened only if it is the pipe', async () => {
  const { dir, victim } = setup();
  symlinkSync(victim, dir.input);
  assert.throws(() => dir.openPipe('input.i'), /ELOOP/);
  unlinkSync(dir.input);
  writeFileSync(dir.input, '');
  assert.throws(() => dir.openPipe('input.i'), /not the named pipe/);
  assert.equal(readFileSync(victim, 'utf8'), 'victim text\n');
  await dir.remove();
});

test('removing a job directory follows no link out of it, even one that replaced the directory', async () => {
  const { dir, outside, victim, tmp } = setup();
  mkdirSync(join(dir.path, 'r', 'deep'), { recursive: true });
  writeFileSync(join(dir.path, 'r', 'deep', 'h.h'), '');
  symlinkSync(outside, join(dir.path, 'r', 'out'));
  symlinkSync(victim, join(dir.path, 'stdout'));
  await dir.remove();
  assert.equal(existsSync(dir.path), false);
  assert.equal(readFileSync(victim, 'utf8'), 'victim text\n');

  // The directory's name swapped for a link to elsewhere: cleaning up empties
  // the directory it made (through its handle), not the link's target.
  const dirs = new JobDirs(() => {}, 0);
  const second = dirs.make(tmp, 'i', 'o');
  writeFileSync(second.output, 'x');
  writeFileSync(join(second.path, 'extra'), 'x');
  const moved = `${second.path}.moved`;
  execFileSync('mv', [second.path, moved]);
  symlinkSync(outside, second.path);
  await second.remove();
  assert.equal(readFileSync(victim, 'utf8'), 'victim text\n', 'nothing removed out there');
  assert.equal(existsSync(join(moved, 'extra')), false, 'its own directory was emptied');
});
