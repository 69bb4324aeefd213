// What a new user trips over (issue 21): a DISTCC_DIR that does not exist,
// the stats port of a named instance, the compile port taken for the stats
// port, and the README's first command. Real daemons, Debian's distcc and gcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsdistcc } from '../helpers/client.js';
import { startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';

let work: string;
let ts: RunningDaemon;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-newcomer-'));
  writeFileSync(join(work, 'hello.c'), 'int hello(int x) { return x + 1; }\n');
  execFileSync('gcc', ['-c', 'hello.c', '-o', 'local.o'], { cwd: work });
  ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info']);
});

after(async () => {
  await ts?.stop();
});

test('a DISTCC_DIR that does not exist: one message saying so, the job compiled here, nothing created', async () => {
  const missing = join(work, 'no-such-distcc-dir');
  const run = await runTsdistcc(
    ['gcc', '-c', 'hello.c', '-o', 'hello.o'],
    `127.0.0.1:${ts.port}`,
    work,
    {
      DISTCC_DIR: missing,
      DISTCC_FALLBACK: '1',
    },
  );
  assert.equal(run.code, 0, run.stderr);
  const errors = run.stderr.split('\n').filter((l) => l.includes('ERROR'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(
    errors[0]!,
    /ERROR: DISTCC_DIR '.*no-such-distcc-dir' does not exist; it is not created/,
  );
  assert.equal(errors[0]!.split(missing).length - 1, 1, `the path once: ${errors[0]}`);
  assert.match(run.stderr, /running locally instead/);
  assert.equal(existsSync(missing), false, 'DISTCC_DIR was created');
  assert.deepEqual(readFileSync(join(work, 'hello.o')), readFileSync(join(work, 'local.o')));
  assert.doesNotMatch(ts.log(), /COMPILE_OK/, 'it was compiled here, not sent');

  // With DISTCC_FALLBACK=0 nothing can be done: exit 107 (an I/O error), still nothing created.
  const strict = await runTsdistcc(
    ['gcc', '-c', 'hello.c', '-o', 'strict.o'],
    `127.0.0.1:${ts.port}`,
    work,
    {
      DISTCC_DIR: missing,
    },
  );
  assert.equal(strict.code, 107, strict.stderr);
  assert.match(strict.stderr, /DISTCC_DIR '.*' does not exist/);
  assert.equal(existsSync(missing), false, 'DISTCC_DIR was created');
});

test('a lock or state directory that cannot be made is named once in the message', async () => {
  const { subdir } = await import('../../src/client/state-dir.js');
  const file = join(work, 'hello.c');
  assert.throws(
    () => subdir(file, 'lock'),
    (err: Error & { exitCode?: number }) =>
      err.exitCode === 107 &&
      err.message.split(join(file, 'lock')).length - 1 === 1 &&
      /ENOTDIR/.test(err.message),
  );
});
