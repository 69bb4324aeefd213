// The daemon's life: jobs killed when the client leaves or the job runs too
// long, --inetd, --stats, exit codes, signals, detaching.
// Needs: gcc, Debian's distcc package (distccd for the stats keys).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { exchange } from '../helpers/client.js';
import { freePort, openTempDir, startDistccd, startTsdistccd } from '../helpers/daemon.js';
import { DAEMON_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { parseReply, request } from '../helpers/wire.js';
import { alive, localDaemonArgs, pidWith, uniqueMark, until } from '../helpers/wait.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
// As a client sends it: preprocessed, with the line marker naming the source.
const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');

function runDaemon(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DAEMON_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('a client that disconnects mid-compile gets its compiler killed and its temp files removed', async () => {
  const tmp = openTempDir('tsdistcc-jobs-');
  const mark = uniqueMark('hang');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST], {
    TMPDIR: tmp,
    HANG_MARK: mark,
  });
  try {
    const socket = connect(ts.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source));
    const pid = await pidWith(mark);
    assert.ok(alive(pid));
    assert.equal(
      readdirSync(tmp).filter((n) => n.startsWith('tsdistccd_')).length,
      1,
      'job dir while running',
    );
    socket.destroy();
    await until('the compiler was killed', () => !alive(pid));
    await until('the job directory was removed', () => readdirSync(tmp).length === 0);
    await ts.waitForLog(/CLI_DISCONN .* hang-cc x\.c/);
  } finally {
    await ts.stop();
  }
});

test('a job past --job-lifetime is killed and answered with exit 118', async () => {
  const mark = uniqueMark('hang');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--job-lifetime', '1', ...WHITELIST], {
    HANG_MARK: mark,
  });
  try {
    const started = Date.now();
    const running = pidWith(mark);
    const { reply } = await exchange(
      ts.port,
      request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    const r = parseReply(reply);
    assert.equal(r.status, 118 << 8);
    assert.equal(r.object.length, 0);
    assert.match(r.stderr.toString(), /exceeded --job-lifetime 1s/);
    assert.ok(Date.now() - started < 8000);
    const pid = await running;
    await until('the compiler was killed', () => !alive(pid));
    await ts.waitForLog(/COMPILE_TIMEOUT exit:118/);
  } finally {
    await ts.stop();
  }
});

test('--inetd serves one job on stdin and stdout', async () => {
  const work = openTempDir('tsdistcc-inetd-');
  writeFileSync(join(work, 'x.i'), source);
  execFileSync('gcc', ['-c', 'x.i', '-o', 'local.o'], { cwd: work });
  const child = spawn(process.execPath, [DAEMON_BIN, '--inetd', '--log-stderr'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, DISTCCD_PATH: `${FIXTURE_BIN}:/usr/bin:/bin` },
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // stdin stays open until the reply is in: EOF would mean "client gone".
  child.stdin.write(request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source));
  // 'close', not 'exit': the reply may still be in the pipe when the process exits.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.destroy();
  assert.equal(code, 0, err);
  assert.ok(Buffer.concat(out).length > 0, `no reply; daemon said:\n${err}`);
  const r = parseReply(Buffer.concat(out));
  assert.equal(r.status, 0);
  assert.deepEqual(r.object, readFileSync(join(work, 'local.o')));
  assert.match(err, /COMPILE_OK .* x86_64-linux-gnu-gcc x\.c/);
});

function fetchStats(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

function statKeys(page: string): string[] {
  const inner = page.split('<distccstats>\n')[1]?.split('</distccstats>')[0] ?? '';
  return inner
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]!);
}

test("--stats answers with distccd's keys, and counts jobs", async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--stats', '--stats-port', '0']);
  const realPort = await freePort();
  const realStats = await freePort();
  const real = await startDistccd(realPort, ['--stats', '--stats-port', String(realStats)]);
  try {
    await exchange(ts.port, request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source));
    const ours = await fetchStats(ts.statsPort!);
    assert.match(ours, /^HTTP\/1\.0 200 OK\nContent-Type: text\/plain\nConnection: close\n\n/);
    assert.match(ours, /dcc_compile_ok 1\n/);
    assert.match(ours, /dcc_tcp_accept 1\n/);
    const theirs = await fetchStats(realStats);
    assert.deepEqual(statKeys(ours), statKeys(theirs));
  } finally {
    await ts.stop();
    await real.stop();
  }
});

/** A loopback port some other server holds. */
async function blockedPort(): Promise<{ port: number; blocker: ReturnType<typeof createServer> }> {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  return { port: (blocker.address() as { port: number }).port, blocker };
}

test('exit 101 for a bad option, a bad value, and no --allow', async () => {
  const bogus = await runDaemon(['--no-detach', '--bogus']);
  assert.equal(bogus.code, 101);
  assert.match(bogus.stderr, /Unknown argument: bogus/);
  const jobs = await runDaemon(['--no-detach', '--allow', '127.0.0.1', '--jobs', 'abc']);
  assert.equal(jobs.code, 101);
  assert.match(jobs.stderr, /--jobs must be an integer 1 to 4096, got `abc`/);
  const none = await runDaemon(['--no-detach', '--port', '0']);
  assert.equal(none.code, 101);
  assert.match(none.stderr, /no --allow and no --allow-private/);
});

test('exit 102 when the port is taken', async () => {
  const { port, blocker } = await blockedPort();
  try {
    const r = await runDaemon([...localDaemonArgs(String(port)), '--log-stderr']);
    assert.equal(r.code, 102);
    assert.match(
      r.stderr,
      new RegExp(`cannot listen for compile jobs on 127\\.0\\.0\\.1:${port}: EADDRINUSE`),
    );
  } finally {
    blocker.close();
  }
});

test('a named instance on a taken port (issue 21 item 8): its name and conf.d file in the one critical line, exit 102, no log file left from the failed start', async () => {
  const dir = openTempDir('tsdistcc-busy-');
  const { port, blocker } = await blockedPort();
  writeFileSync(
    join(dir, 'tsdistccd-busy'),
    `DISTCC_ARGS="--listen 127.0.0.1 --port ${port} --allow 127.0.0.1"\n`,
  );
  const instance = ['--no-detach', '--conf-dir', dir, '--instance', 'busy', ...WHITELIST];
  const said = `instance busy \\(${dir}/tsdistccd-busy\\): cannot listen for compile jobs on 127\\.0\\.0\\.1:${port}: EADDRINUSE`;
  try {
    const r = await runDaemon([...instance, '--log-stderr']);
    assert.equal(r.code, 102, r.stderr);
    assert.match(r.stderr, new RegExp(`critical: ${said}`));
    // Said once: not also as a listener error.
    assert.deepEqual(r.stderr.split('\n').filter((l) => /EADDRINUSE/.test(l)).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /listener error/);

    const log = join(dir, 'busy.log');
    const f = await runDaemon([...instance, '--log-file', log]);
    assert.equal(f.code, 102, f.stderr);
    assert.match(f.stderr, new RegExp(`^tsdistccd: ${said}$`, 'm'));
    assert.equal(existsSync(log), false, 'the log file this failed start made is gone');

    // One that was there before stays, with the failure in it.
    writeFileSync(log, 'an older line\n');
    const kept = await runDaemon([...instance, '--log-file', log]);
    assert.equal(kept.code, 102, kept.stderr);
    assert.match(readFileSync(log, 'utf8'), new RegExp(`^an older line\n[^]*critical: ${said}`));
  } finally {
    blocker.close();
  }
});

test('SIGTERM lets the running job finish, removes the pid file and exits 0', async () => {
  const dir = openTempDir('tsdistcc-run-');
  const pidFile = join(dir, 'tsdistccd.pid');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--pid-file', pidFile, ...WHITELIST]);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), ts.child.pid);
  const pending = exchange(ts.port, request(1, ['slow-cc', '-c', 'x.c', '-o', 'x.o'], source));
  await new Promise((r) => setTimeout(r, 400));
  const exited = new Promise<number | null>((resolve) => ts.child.once('exit', resolve));
  ts.child.kill('SIGTERM');
  const r = parseReply((await pending).reply);
  assert.equal(r.status, 0);
  assert.ok(r.object.length > 0);
  assert.equal(await exited, 0);
  assert.equal(existsSync(pidFile), false);
  assert.match(ts.log(), /SIGTERM: no new jobs; waiting for 1 running/);
});

test('SIGHUP reopens the log file after logrotate moved it', async () => {
  const dir = openTempDir('tsdistcc-log-');
  const logFile = join(dir, 'tsdistccd.log');
  const child = spawn(
    process.execPath,
    [DAEMON_BIN, ...localDaemonArgs('0'), '--log-file', logFile],
    {
      stdio: 'ignore',
    },
  );
  // Listened for from the start: a daemon that died early must not leave the wait hanging.
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await until(
      'the log file says listening',
      () => existsSync(logFile) && /listening on/.test(readFileSync(logFile, 'utf8')),
    );
    renameSync(logFile, `${logFile}.1`);
    child.kill('SIGHUP');
    await until(
      'a new log file was opened',
      () => existsSync(logFile) && /SIGHUP: log file reopened/.test(readFileSync(logFile, 'utf8')),
    );
    assert.doesNotMatch(readFileSync(`${logFile}.1`, 'utf8'), /SIGHUP/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('without --no-detach the daemon goes to the background after binding', async () => {
  const dir = openTempDir('tsdistcc-detach-');
  const pidFile = join(dir, 'pid');
  const port = await freePort();
  const r = await runDaemon([
    '--listen',
    '127.0.0.1',
    '--port',
    String(port),
    '--allow',
    '127.0.0.1',
    '--pid-file',
    pidFile,
    '--log-file',
    join(dir, 'log'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    assert.ok(alive(pid));
    const { reply } = await exchange(
      port,
      request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(parseReply(reply).status, 0);
  } finally {
    process.kill(pid, 'SIGTERM');
    await until('the background daemon stopped', () => !alive(pid));
  }
});

test('a bind failure of a detaching daemon is reported by the foreground process: exit 102', async () => {
  const dir = openTempDir('tsdistcc-detach-');
  const { port, blocker } = await blockedPort();
  try {
    const r = await runDaemon([
      '--listen',
      '127.0.0.1',
      '--port',
      String(port),
      '--allow',
      '127.0.0.1',
      '--log-file',
      join(dir, 'log'),
    ]);
    assert.equal(r.code, 102);
    assert.match(r.stderr, /EADDRINUSE/);
  } finally {
    blocker.close();
  }
});
