// What a new user trips over (issue 21): a DISTCC_DIR that does not exist,
// the stats port of a named instance, the compile port taken for the stats
// port, and the README's first command. Real daemons, Debian's distcc and gcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsdistcc } from '../helpers/client.js';
import { freePortPair, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { DAEMON_BIN, ROOT } from '../helpers/paths.js';

const MONITOR_BIN = `${ROOT}build/src/bin/tsdistccmon.js`;

function monitor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MONITOR_BIN, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A daemon as its init script starts it: `tsdistccd --instance NAME --conf-dir
 * DIR`, every setting from the conf.d file (the test helper would put --port
 * and --listen on the command line, which win over the file).
 */
async function startInstance(confDir: string, name: string) {
  const child = spawn(
    process.execPath,
    [DAEMON_BIN, '--no-detach', '--instance', name, '--conf-dir', confDir],
    { stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
  );
  let log = '';
  child.stderr.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      log += d;
      if (/listening on /.test(log)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tsdistccd exited ${code}:\n${log}`)));
  });
  return {
    log: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

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
      // The plain client: no resident agent left behind by this test.
      TSDISTCC_AGENT: '0',
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
      // The plain client: no resident agent left behind by this test.
      TSDISTCC_AGENT: '0',
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

test('tsdistccmon --instance NAME reads the conf.d file as the daemon does: its stats port is --port + 1', async () => {
  const confDir = join(work, 'conf.d');
  mkdirSync(confDir, { recursive: true });
  const port = await freePortPair();
  writeFileSync(
    join(confDir, 'tsdistccd-i686'),
    `DISTCC_ARGS="--allow 127.0.0.1 --listen 127.0.0.1 --port ${port} --stats --log-stderr --log-level info --whitelist-path"\n`,
  );
  const d = await startInstance(confDir, 'i686');
  try {
    assert.match(
      d.log(),
      new RegExp(`listening on 127\\.0\\.0\\.1:${port}, stats on port ${port + 1}`),
    );
    const r = await monitor(['--instance', 'i686', '--conf-dir', confDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^running 0 of \d+ slots, queued 0; ended: 0 compiled, /);

    // The compile port given as --server: named as such, with the stats port it has.
    const wrong = await monitor(['--server', `127.0.0.1:${port}`]);
    assert.equal(wrong.code, 103, wrong.stderr);
    assert.match(wrong.stderr, /this looks like the compile port, not the stats port/);
    assert.match(wrong.stderr, new RegExp(`try --server 127\\.0\\.0\\.1:${port + 1}\\n`));
    assert.doesNotMatch(wrong.stderr, /--allow list/);
    assert.match(d.log(), /expected token DIST, got bytes `GET \/jobs HT`/);
  } finally {
    await d.stop();
  }
  // An instance without --stats has no stats port: said so, not a connection error.
  writeFileSync(
    join(confDir, 'tsdistccd-plain'),
    `DISTCC_ARGS="--allow 127.0.0.1 --port ${port}"\n`,
  );
  const none = await monitor(['--instance', 'plain', '--conf-dir', confDir]);
  assert.equal(none.code, 101, none.stderr);
  assert.match(
    none.stderr,
    /has no --stats in its DISTCC_ARGS, so the daemon serves no stats port/,
  );
});

test('tsdistccmon --server: a stats port whose --allow list leaves this address out is still named as that', async () => {
  const d = await startTsdistccd(['--allow', '127.0.0.2', '--stats', '--stats-port', '0']);
  try {
    const r = await monitor(['--server', `127.0.0.1:${d.statsPort}`]);
    assert.equal(r.code, 103, r.stderr);
    assert.match(r.stderr, /is this address on its --allow list\?/);
    assert.doesNotMatch(r.stderr, /compile port/);
  } finally {
    await d.stop();
  }
});
