// How tsdistcc spreads jobs and waits: slot order across hosts (breadth
// first, as distcc), a host that never answers (DISTCC_IO_TIMEOUT), all slots
// busy (Blocked, DISTCC_PAUSE_TIME_MSEC), and where messages and temp files go
// (DISTCC_LOG, DISTCC_SAVE_TEMPS, TMPDIR).
// Needs: distcc (Debian package: distccmon-text), gcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAgents } from '../helpers/agents.js';
import { runTsdistcc } from '../helpers/client.js';
import { freshDistccDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { CLIENT_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

let a: RunningDaemon;
let b: RunningDaemon;
let work: string;
let runtime: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-sched-'));
  runtime = mkdtempSync(join(tmpdir(), 'tsdistcc-rt-'));
  for (let i = 0; i < 4; i++) writeFileSync(join(work, `s${i}.c`), `int s${i} = ${i};\n`);
  const args = ['--allow', '127.0.0.1', '--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
  a = await startTsdistccd(args);
  b = await startTsdistccd(args);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await stopAgents(runtime);
});

function startSlow(i: number, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(CLIENT_BIN, ['slow-cc', '-c', `s${i}.c`, '-o', `s${i}.o`], {
    cwd: work,
    env: {
      ...process.env,
      XDG_RUNTIME_DIR: runtime,
      PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
      DISTCC_FALLBACK: '0',
      ...env,
    },
    stdio: 'ignore',
  });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) =>
    c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code)),
  );

/** How many calls have a state file in `dir` (distcc creates state/ on the first). */
function stateFiles(dir: string): number {
  try {
    return readdirSync(join(dir, 'state')).length;
  } catch {
    return 0;
  }
}

function monitor(dir: string): string {
  return execFileSync('distccmon-text', { env: { ...process.env, DISTCC_DIR: dir } }).toString();
}

test('slots are taken breadth first: every host slot 0, then slot 1', async () => {
  const dir = freshDistccDir();
  const hosts = `127.0.0.1:${a.port}/2 127.0.0.1:${b.port}/2`;
  const jobs: ChildProcess[] = [];
  // One at a time, so the order of choosing is the order of starting.
  for (let i = 0; i < 3; i++) {
    jobs.push(startSlow(i, { DISTCC_HOSTS: hosts, DISTCC_DIR: dir }));
    await until(`job ${i} has a slot`, () => stateFiles(dir) === i + 1, 10_000);
  }
  const seen = monitor(dir);
  const slots = seen
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => / (s\d)\.c +127\.0\.0\.1\[(\d)\]$/.exec(l)?.slice(1).join('@'))
    .sort();
  for (const j of jobs) assert.equal(await exited(j), 0);
  // distccmon-text does not show ports; the lock files say which host got which slot.
  const locks = readdirSync(join(dir, 'lock'))
    .filter((f) => f.startsWith('cpu_tcp'))
    .sort();
  assert.deepEqual(
    locks,
    [
      `cpu_tcp_127.0.0.1_${a.port}_0`,
      `cpu_tcp_127.0.0.1_${a.port}_1`,
      `cpu_tcp_127.0.0.1_${b.port}_0`,
    ].sort(),
  );
  assert.deepEqual(slots, ['s0@0', 's1@0', 's2@1'], seen);
});

test('every slot busy: the next job shows Blocked, then runs when one frees', async () => {
  const dir = freshDistccDir();
  const env = {
    DISTCC_HOSTS: `127.0.0.1:${a.port}/1`,
    DISTCC_DIR: dir,
    DISTCC_PAUSE_TIME_MSEC: '100',
  };
  const first = startSlow(0, env);
  await until('the first job has the slot', () => stateFiles(dir) === 1);
  const second = startSlow(1, env);
  await until('the second waits', () => / Blocked /.test(monitor(dir)), 10_000);
  assert.equal(await exited(first), 0);
  assert.equal(await exited(second), 0);
});

test('a server that never answers: DISTCC_IO_TIMEOUT, then backoff and fallback', async () => {
  const held: Socket[] = [];
  const mute: Server = createServer((s) => held.push(s));
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  const { port } = mute.address() as { port: number };
  try {
    const started = Date.now();
    const failed = await runTsdistcc(
      ['gcc', '-c', 's0.c', '-o', 'mute.o'],
      `127.0.0.1:${port}`,
      work,
      {
        XDG_RUNTIME_DIR: runtime,
        DISTCC_IO_TIMEOUT: '1',
      },
    );
    assert.equal(failed.code, 116);
    assert.match(failed.stderr, /timeout waiting for DONE from 127\.0\.0\.1:\d+ after 1 s/);
    assert.ok(Date.now() - started < 10_000);
    const dir = freshDistccDir();
    const fell = await runTsdistcc(
      ['gcc', '-c', 's0.c', '-o', 'mute.o'],
      `127.0.0.1:${port}`,
      work,
      {
        XDG_RUNTIME_DIR: runtime,
        DISTCC_IO_TIMEOUT: '1',
        DISTCC_FALLBACK: '1',
        DISTCC_BACKOFF_PERIOD: '60',
        DISTCC_DIR: dir,
      },
    );
    assert.equal(fell.code, 0, fell.stderr);
    assert.match(fell.stderr, /running locally instead/);
    assert.ok(readdirSync(join(dir, 'lock')).includes(`backoff_tcp_127.0.0.1_${port}_0`));
  } finally {
    for (const s of held) s.destroy();
    mute.close();
  }
});

test('DISTCC_LOG takes the messages, DISTCC_SAVE_TEMPS keeps the .i under TMPDIR', async () => {
  const log = join(work, 'client.log');
  const tmp = mkdtempSync(join(tmpdir(), 'tsdistcc-tmp-'));
  const run = await runTsdistcc(['gcc', '-c', 's1.c', '-o', 'log.o'], `127.0.0.1:${a.port}`, work, {
    XDG_RUNTIME_DIR: runtime,
    DISTCC_LOG: log,
    DISTCC_SAVE_TEMPS: '1',
    TMPDIR: tmp,
  });
  assert.equal(run.code, 0);
  assert.equal(run.stderr, '', 'nothing on stderr');
  assert.match(
    readFileSync(log, 'utf8'),
    /tsdistcc\[\d+\] compile s1\.c on 127\.0\.0\.1:\d+ completed ok/,
  );
  // In the client's private directory under TMPDIR (mode 0700).
  const mine = join(tmp, `tsdistcc-${process.getuid?.() ?? 0}`);
  const kept = readdirSync(mine).filter((f) => /^distcc_[0-9a-f]{8}\.i$/.test(f));
  assert.equal(kept.length, 1);
  assert.match(readFileSync(join(mine, kept[0]!), 'utf8'), /int s1 = 1;/);
});
