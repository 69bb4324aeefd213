// Job directories are reused: a finished job's directory, emptied, serves
// the next job (no mkdir and rmdir per job under a build); one the compiler
// left files in is removed instead; idle ones go after a second, and all of
// them when the daemon stops. Nothing of one job shows in the next one's reply.
// Needs: gcc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRaw } from '../helpers/client.js';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const jobDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('tsdistccd_'));

function source(name: string): Buffer {
  return Buffer.from(`# 1 "${name}.c"\nint ${name}(void) { return 42; }\n`);
}

/** The object a local gcc makes of the same preprocessed source. */
function localObject(tmp: string, name: string): Buffer {
  writeFileSync(join(tmp, `${name}.i`), source(name));
  execFileSync('gcc', ['-c', `${name}.i`, '-o', `${name}.o`], { cwd: tmp });
  return readFileSync(join(tmp, `${name}.o`));
}

function cwdOf(stderr: Buffer): string {
  const m = /probe: uid=\d+ nice=\d+ cwd=(\S+)/.exec(stderr.toString());
  assert.ok(m, stderr.toString());
  return m[1]!;
}

test('the next job runs in the emptied directory of the last one, with nothing of it in its reply; idle directories are removed', async () => {
  const tmp = openTempDir('tsdistcc-reuse-');
  const local = openTempDir('tsdistcc-reuse-local-');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST], { TMPDIR: tmp });
  try {
    // A reply with stdout and stderr, then one with neither, in the same directory.
    const first = await compileRaw(ts.port, ['stdout-cc', '-c', 'a.c', '-o', 'a.o'], source('a'));
    assert.equal(first.status, 0, first.stderr.toString());
    assert.equal(first.stdout.toString(), 'stdout-cc says hello\n');
    assert.deepEqual(first.object, localObject(local, 'a'));
    const second = await compileRaw(ts.port, ['probe-cc', '-c', 'b.c', '-o', 'b.o'], source('b'));
    assert.equal(second.status, 0, second.stderr.toString());
    const dir = cwdOf(second.stderr);
    assert.deepEqual(second.object, localObject(local, 'b'));
    const third = await compileRaw(ts.port, ['gcc', '-c', 'c.c', '-o', 'c.o'], source('c'));
    assert.equal(third.status, 0, third.stderr.toString());
    assert.equal(third.stdout.length, 0, 'no stdout of an earlier job');
    assert.equal(third.stderr.length, 0, 'no stderr of an earlier job');
    assert.deepEqual(third.object, localObject(local, 'c'));
    const fourth = await compileRaw(ts.port, ['probe-cc', '-c', 'd.c', '-o', 'd.o'], source('d'));
    assert.equal(cwdOf(fourth.stderr), dir, 'the same directory again');
    assert.equal(fourth.stderr.toString().match(/probe:/g)?.length, 1, 'only its own stderr');
    // One directory served all four; kept for a second, then removed.
    assert.deepEqual(jobDirs(tmp), [dir.slice(dir.lastIndexOf('/') + 1)]);
    await until('the idle directory was removed', () => jobDirs(tmp).length === 0, 5000);
  } finally {
    await ts.stop();
  }
});

test('a directory the compiler left a file in serves no other job, and the daemon removes the kept ones when it stops', async () => {
  const tmp = openTempDir('tsdistcc-litter-');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST], { TMPDIR: tmp });
  try {
    const littered = await compileRaw(
      ts.port,
      ['litter-cc', '-c', 'a.c', '-o', 'a.o'],
      source('a'),
    );
    assert.equal(littered.status, 0, littered.stderr.toString());
    await until('the littered directory was removed', () => jobDirs(tmp).length === 0);
    const a = await compileRaw(ts.port, ['probe-cc', '-c', 'b.c', '-o', 'b.o'], source('b'));
    const b = await compileRaw(ts.port, ['probe-cc', '-c', 'c.c', '-o', 'c.o'], source('c'));
    assert.equal(cwdOf(a.stderr), cwdOf(b.stderr));
    assert.equal(jobDirs(tmp).length, 1, 'kept for the next job');
    // Emptied just after the reply is written: the client may see the reply first.
    const emptied = () => readdirSync(cwdOf(b.stderr)).sort().join(' ') === 'stderr stdout';
    await until('the kept directory was emptied', emptied, 2000);
  } finally {
    assert.equal(await ts.stop(), 0);
  }
  assert.deepEqual(jobDirs(tmp), [], 'removed at SIGTERM, not left for the idle timer');
});
