// The client agent and its bash launcher (bin/tsdistcc): who may talk to the
// agent, what it does with many callers at once, and how it goes away.
// Needs: distcc (Debian's distccd as the server), gcc, bash, runuser.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAgents } from '../helpers/agents.js';
import { runTsdistcc } from '../helpers/client.js';
import { freePort, freshDistccDir, startDistccd, type RunningDaemon } from '../helpers/daemon.js';
import { CLIENT_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { alive, until } from '../helpers/wait.js';

let real: RunningDaemon;
let work: string;
const uid = process.getuid!();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-agent-'));
  for (let i = 0; i < 8; i++) {
    writeFileSync(join(work, `u${i}.c`), `int f${i}(int x) { return x * ${i + 3}; }\n`);
  }
  real = await startDistccd(await freePort());
});

after(async () => {
  await real?.stop();
  // Any agent a test left (one retired or replaced is in no agent file).
  await stopAgents(...runtimes);
});

const runtimes: string[] = [];

/** A runtime directory of its own, so each test gets its own agent. */
function runtime(): { env: NodeJS.ProcessEnv; agentFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-rt-'));
  runtimes.push(dir);
  return {
    env: { XDG_RUNTIME_DIR: dir, TSDISTCC_AGENT_IDLE: '60' },
    agentFile: join(dir, `tsdistcc-agent-${uid}`, 'agent'),
  };
}

function agentOf(agentFile: string): { port: number; token: string; pid: number } {
  const [port, token, pid] = readFileSync(agentFile, 'utf8').trim().split(' ');
  return { port: Number(port), token: token!, pid: Number(pid) };
}

function stopAgent(agentFile: string): void {
  try {
    process.kill(agentOf(agentFile).pid, 'SIGTERM');
  } catch {
    /* gone already */
  }
}

test('many callers at once through one agent: every object right, one agent process', async () => {
  const rt = runtime();
  const hosts = `127.0.0.1:${real.port}/3 localhost/1`;
  const runs = await Promise.all(
    [...Array(8).keys()].map((i) =>
      runTsdistcc(['gcc', '-O2', '-c', `u${i}.c`, '-o', `u${i}.o`], hosts, work, rt.env),
    ),
  );
  try {
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 0, run.stderr);
      execFileSync('gcc', ['-O2', '-c', `u${i}.c`, '-o', `u${i}-local.o`], { cwd: work });
      assert.ok(
        readFileSync(join(work, `u${i}.o`)).equals(readFileSync(join(work, `u${i}-local.o`))),
        `u${i}.o`,
      );
    }
    const agents = execFileSync('pgrep', [
      '-f',
      `tsdistcc-agent.js ${join(rt.env.XDG_RUNTIME_DIR!)}`,
    ])
      .toString()
      .trim()
      .split('\n');
    assert.equal(agents.length, 1, 'one agent served them all');
  } finally {
    stopAgent(rt.agentFile);
  }
});

/**
 * Talks to the agent as a launcher would: the hello, then (after the proof)
 * the header line and words; resolves with all the agent sent after `proof`.
 */
function speak(port: number, header: string, words: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(`TSDISTCC-AGENT 2 ${process.pid}-1-2-3\n`));
    let text = '';
    let proven = false;
    s.on('data', (d) => {
      text += d.toString();
      if (!proven && text.startsWith('proof\n')) {
        proven = true;
        text = text.slice('proof\n'.length);
        s.write(`${header}\0${words}`);
      }
    });
    s.on('close', () => resolve(proven ? text : `no proof: ${text}`));
    s.on('error', () => resolve(proven ? text : `no proof: ${text}`));
  });
}

test('a connection without the token gets nothing and the agent keeps serving', async () => {
  const rt = runtime();
  const first = await runTsdistcc(
    ['gcc', '-c', 'u0.c', '-o', 'tok.o'],
    `127.0.0.1:${real.port}`,
    work,
    rt.env,
  );
  assert.equal(first.code, 0, first.stderr);
  const { port } = agentOf(rt.agentFile);
  try {
    const answer = await speak(port, `${'0'.repeat(48)} ${process.pid} 2`, 'sh\0-c\0');
    assert.equal(answer, '', 'no command for a stranger');
    const again = await runTsdistcc(
      ['gcc', '-c', 'u0.c', '-o', 'tok.o'],
      `127.0.0.1:${real.port}`,
      work,
      rt.env,
    );
    assert.equal(again.code, 0, again.stderr);
  } finally {
    stopAgent(rt.agentFile);
  }
});

test("the agent will not act for another user's process", async () => {
  const rt = runtime();
  const first = await runTsdistcc(
    ['gcc', '-c', 'u0.c', '-o', 'other.o'],
    `127.0.0.1:${real.port}`,
    work,
    rt.env,
  );
  assert.equal(first.code, 0, first.stderr);
  const { port, token } = agentOf(rt.agentFile);
  const stranger = spawn('runuser', ['-u', 'nobody', '--', 'sleep', '30'], { stdio: 'ignore' });
  await until('the stranger runs', () => {
    try {
      return execFileSync('pgrep', ['-u', 'nobody', '-x', 'sleep']).length > 0;
    } catch {
      return false;
    }
  });
  const pid = Number(
    execFileSync('pgrep', ['-u', 'nobody', '-x', 'sleep']).toString().split('\n')[0],
  );
  try {
    const answer = await speak(port, `${token} ${pid} 2`, 'tsdistcc\0--version\0');
    assert.equal(answer, '');
  } finally {
    stranger.kill();
    stopAgent(rt.agentFile);
  }
});

test("the launcher ignores an agent file in a directory that is not the user's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-rt-'));
  const agentDir = join(dir, `tsdistcc-agent-${uid}`);
  mkdirSync(agentDir, { mode: 0o700 });
  let connections = 0;
  const impostor = createServer((s) => {
    connections++;
    s.end('exit 0\n');
  });
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
  const { port } = impostor.address() as { port: number };
  writeFileSync(join(agentDir, 'agent'), `${port} token 1\n`);
  chownSync(join(agentDir, 'agent'), 65534, 65534);
  chownSync(agentDir, 65534, 65534);
  try {
    const run = await runTsdistcc(
      ['gcc', '-c', 'u1.c', '-o', 'imp.o'],
      `127.0.0.1:${real.port}`,
      work,
      {
        XDG_RUNTIME_DIR: dir,
      },
    );
    assert.equal(connections, 0, 'never talked to the impostor');
    // The real agent refuses that directory too; the plain client did the job.
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(work, 'imp.o')));
  } finally {
    impostor.close();
  }
});

/** The preprocessed files in TMPDIR's private directory of this user. */
function temps(tmp: string): string[] {
  const dir = join(tmp, `tsdistcc-${uid}`);
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('a caller killed mid-job: its slot is freed and its temp file removed', async () => {
  const rt = runtime();
  const tmp = mkdtempSync(join(tmpdir(), 'tsdistcc-tmp-'));
  const env = {
    ...process.env,
    ...rt.env,
    TMPDIR: tmp,
    PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
    DISTCC_HOSTS: `127.0.0.1:${real.port}/1`,
    DISTCC_DIR: freshDistccDir(),
    DISTCC_FALLBACK: '0',
  };
  // slow-cc sleeps a second before it preprocesses: kill the launcher then.
  const victim = spawn(CLIENT_BIN, ['slow-cc', '-c', 'u2.c', '-o', 'killed.o'], {
    cwd: work,
    env,
    stdio: 'ignore',
  });
  await until('the job holds the slot', () => temps(tmp).some((f) => f.startsWith('distcc_')));
  victim.kill('SIGKILL');
  await until(
    'the temp file is gone',
    () => !temps(tmp).some((f) => f.startsWith('distcc_')),
    10_000,
  );
  // With one slot, a leaked lock would make this wait forever.
  const next = await new Promise<number | null>((resolve) => {
    const c = spawn(CLIENT_BIN, ['gcc', '-c', 'u2.c', '-o', 'after.o'], {
      cwd: work,
      env,
      stdio: 'ignore',
    });
    const timer = setTimeout(() => c.kill(), 15_000);
    c.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  stopAgent(rt.agentFile);
  assert.equal(next, 0);
});

test('the agent leaves after its idle time, and when its code is replaced', async () => {
  const rt = runtime();
  const env = { ...rt.env, TSDISTCC_AGENT_IDLE: '1' };
  const run = await runTsdistcc(
    ['gcc', '-c', 'u3.c', '-o', 'idle.o'],
    `127.0.0.1:${real.port}`,
    work,
    env,
  );
  assert.equal(run.code, 0, run.stderr);
  const { pid } = agentOf(rt.agentFile);
  await until('the idle agent exits', () => !alive(pid), 10_000);
  assert.equal(existsSync(rt.agentFile), false, 'and removes its file');

  const rt2 = runtime();
  const hosts = `127.0.0.1:${real.port}`;
  await runTsdistcc(['gcc', '-c', 'u3.c', '-o', 'up.o'], hosts, work, rt2.env);
  const old = agentOf(rt2.agentFile).pid;
  // A rebuild or an upgrade rewrites the agent's code on disk.
  const code = join(ROOT, 'build/src/client/agent/agent-main.js');
  const now = new Date();
  utimesSync(code, now, now);
  const served = await runTsdistcc(['gcc', '-c', 'u3.c', '-o', 'up.o'], hosts, work, rt2.env);
  assert.equal(served.code, 0, 'the old agent still serves the call that noticed');
  await until('the old agent exits', () => !alive(old), 10_000);
  const fresh = await runTsdistcc(['gcc', '-c', 'u3.c', '-o', 'up.o'], hosts, work, rt2.env);
  assert.equal(fresh.code, 0, fresh.stderr);
  const pid2 = agentOf(rt2.agentFile).pid;
  assert.notEqual(pid2, old, 'a new agent runs the new code');
  stopAgent(rt2.agentFile);
});
