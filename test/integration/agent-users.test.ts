// A second local user attacks the client of the first (issue 20, item 6):
// it floods the agent with a header it has no token for, listens on the
// port of a dead agent to get the launcher's token and run commands as its
// user, takes the names of that user's locks first, and plants a directory
// where the client puts its preprocessed files. The victim is the user the
// tests run as (root), in a TMPDIR of mode 1777 as /tmp is; the attacker is
// an account made here (useradd) and removed afterwards.
// Needs: root, useradd/userdel, runuser, Debian's distccd, gcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAgents } from '../helpers/agents.js';
import type { ClientRun } from '../helpers/client.js';
import { CLIENT_BIN } from '../helpers/paths.js';
import { freePort, startDistccd, type RunningDaemon } from '../helpers/daemon.js';
import { alive, until } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const hasTools = ['useradd', 'userdel', 'runuser'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const skip = !isRoot
  ? 'needs root (to make a second user)'
  : !hasTools
    ? 'needs useradd, userdel, runuser'
    : false;

// Unique per run: other checkouts may run these tests at the same time.
const attacker = `tsda${process.pid % 1000000}`;
let attackerUid = -1;
let real: RunningDaemon;
let work: string;
const uid = process.getuid?.() ?? 0;

before(async () => {
  if (skip) return;
  execFileSync('useradd', ['-m', attacker]);
  attackerUid = Number(execFileSync('id', ['-u', attacker]).toString().trim());
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-users-'));
  writeFileSync(join(work, 'u.c'), 'int f(int x) { return x * 7; }\n');
  execFileSync('gcc', ['-O2', '-c', 'u.c', '-o', 'local.o'], { cwd: work });
  real = await startDistccd(await freePort());
});

after(async () => {
  await real?.stop();
  if (skip) return;
  await stopAgents(...victimTmps);
  // Only processes of the account this file made (each attacker is also
  // killed by its handle): userdel refuses a user with processes left.
  try {
    execFileSync('pkill', ['-KILL', '-u', attacker], { stdio: 'ignore' });
  } catch {
    /* nothing of its left */
  }
  execFileSync('userdel', ['-r', attacker], { stdio: 'ignore' });
});

const victimTmps: string[] = [];

/** A victim's world: TMPDIR mode 1777 as /tmp (the agent's directory goes there), its own DISTCC_DIR. */
function victim(): { env: NodeJS.ProcessEnv; tmp: string; agentFile: string; distccDir: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'tsdistcc-victim-tmp-'));
  victimTmps.push(tmp);
  chmodSync(tmp, 0o1777);
  const distccDir = mkdtempSync(join(tmpdir(), 'tsdistcc-victim-dd-'));
  chmodSync(distccDir, 0o755); // as ~/.distcc usually is
  return {
    env: {
      TMPDIR: tmp,
      XDG_RUNTIME_DIR: '',
      DISTCC_DIR: distccDir,
      TSDISTCC_AGENT_IDLE: '60',
    },
    tmp,
    agentFile: join(tmp, `tsdistcc-agent-${uid}`, 'agent'),
    distccDir,
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

/** A directory of the attacker's own, for what it records. */
function attackerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-attacker-'));
  chownSync(dir, attackerUid, attackerUid);
  chmodSync(dir, 0o755);
  return dir;
}

/** Runs a Node script as the attacker; resolves once it prints `ready`. */
async function asAttacker(
  script: string,
  args: string[],
): Promise<ChildProcess & { out: () => string }> {
  const child = spawn(
    'runuser',
    ['-u', attacker, '--', process.execPath, '-e', script, '--', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await until(
    'the attacker is ready',
    () => out.includes('ready') || child.exitCode !== null,
    20_000,
  );
  assert.ok(out.includes('ready'), `attacker failed to start: ${out}`);
  return Object.assign(child, { out: () => out });
}

/** The victim compiles u.c; a call still running after `timeoutMs` is killed (by its pid). */
function compile(
  v: ReturnType<typeof victim>,
  out: string,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(
      CLIENT_BIN,
      ['gcc', '-O2', '-c', 'u.c', '-o', out],
      {
        cwd: work,
        timeout: timeoutMs,
        env: {
          ...process.env,
          DISTCC_HOSTS: `127.0.0.1:${real.port}/2`,
          DISTCC_FALLBACK: '0',
          DISTCC_SKIP_LOCAL_RETRY: '1',
          DISTCC_BACKOFF_PERIOD: '0',
          ...v.env,
          ...env,
        },
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr: err?.killed ? `hung: killed after ${timeoutMs} ms. ${stderr}` : stderr,
        }),
    );
  });
}

function sameAsLocal(out: string): boolean {
  return (
    existsSync(join(work, out)) &&
    readFileSync(join(work, out)).equals(readFileSync(join(work, 'local.o')))
  );
}

// The attacker's flood: connections that each send a header with a wrong
// token and a word count of 2^32-1, then hundreds of megabytes of short
// words, as fast as the agent takes them. In both protocol versions.
const FLOOD = `
const net = require('node:net');
const [port, conns, mb] = process.argv.slice(1).map(Number);
const words = Buffer.alloc(1 << 20, 'ab\\0');
const bad = 'f'.repeat(48);
let open = conns;
for (let i = 0; i < conns; i++) {
  const s = net.connect(port, '127.0.0.1');
  let sent = 0;
  let closed = false;
  const pump = () => {
    while (!closed && sent < mb) {
      sent++;
      if (!s.write(words)) return s.once('drain', pump);
    }
    s.end();
  };
  s.on('connect', () => {
    s.write(i % 2 ? 'TSDISTCC-AGENT 1 ' + bad + ' 1 4294967295\\n'
                  : 'TSDISTCC-AGENT 2 1-2-3-4\\n' + bad + ' 1 4294967295\\x00');
    pump();
  });
  s.on('error', () => {});
  s.on('close', () => { closed = true; if (--open === 0) { console.log('done'); process.exit(0); } });
}
console.log('ready');
setTimeout(() => { console.log('gave up'); process.exit(0); }, 90000);
`;

/** The agent's peak resident memory in kB. */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

test(
  'a header flood without the token: the agent stays small and up, and serves its user meanwhile',
  { skip },
  async (t) => {
    const v = victim();
    const first = await compile(v, 'flood1.o');
    assert.equal(first.code, 0, first.stderr);
    const agent = agentOf(v.agentFile);
    const flood = await asAttacker(FLOOD, [String(agent.port), '6', '256']);
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const started = Date.now();
      const next = await compile(v, 'flood2.o');
      const took = Date.now() - started;
      assert.equal(next.code, 0, next.stderr);
      assert.ok(sameAsLocal('flood2.o'));
      assert.ok(alive(agent.pid), `the agent died under the flood (attacker: ${flood.out()})`);
      assert.equal(agentOf(v.agentFile).pid, agent.pid, 'served by the same agent');
      assert.ok(took < 15_000, `served in ${took} ms during the flood`);
      const rss = peakRss(agent.pid);
      t.diagnostic(`agent peak RSS ${rss} kB, served in ${took} ms`);
      assert.ok(rss < 256 * 1024, `the agent's peak RSS is ${rss} kB`);
    } finally {
      flood.kill();
      await new Promise<void>((resolve) =>
        flood.exitCode !== null ? resolve() : flood.once('exit', () => resolve()),
      );
      stopAgent(v.agentFile);
    }
  },
);

// The attacker's listener on a dead agent's port: it records what it gets,
// and answers as the agent would (in whichever protocol the launcher
// speaks) with commands that create a marker file as whoever runs them; or,
// `silent`, holds the connection and says nothing.
const IMPOSTOR = `
const net = require('node:net');
const fs = require('node:fs');
const [port, record, marker, mode] = process.argv.slice(1);
const server = net.createServer((s) => {
  let got = Buffer.alloc(0);
  let answered = false;
  s.on('data', (d) => {
    got = Buffer.concat([got, d]);
    fs.appendFileSync(record, d);
    const nl = got.indexOf(10);
    if (answered || nl < 0 || mode === 'silent') return;
    answered = true;
    const line = got.subarray(0, nl).toString();
    const commands = 'run 4\\n/usr/bin:/bin\\x000\\x00touch\\x00' + marker + '\\x00'
      + 'cpp 5\\n' + marker + '.cpp\\x00/usr/bin:/bin\\x000\\x00echo\\x00x\\x00' + 'exit 0\\n';
    s.write(line.startsWith('TSDISTCC-AGENT 2') ? 'proof\\n' + commands : commands);
  });
  s.on('error', () => {});
});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
server.on('error', (e) => { console.log('listen failed ' + e.message); process.exit(1); });
setTimeout(() => process.exit(0), 60000);
`;

for (const mode of ['answering', 'silent']) {
  test(
    `a dead agent's port taken by another user (${mode}): the launcher sends it nothing and obeys nothing`,
    { skip },
    async () => {
      const v = victim();
      const first = await compile(v, 'stale1.o');
      assert.equal(first.code, 0, first.stderr);
      const agent = agentOf(v.agentFile);
      process.kill(agent.pid, 'SIGKILL');
      await until('the agent is dead', () => !alive(agent.pid));
      const mine = mkdtempSync(join(tmpdir(), 'tsdistcc-victim-only-')); // 0700, the victim's
      const marker = join(mine, 'pwned');
      const dir = attackerDir();
      const record = join(dir, 'record');
      const impostor = await asAttacker(IMPOSTOR, [String(agent.port), record, marker, mode]);
      try {
        const started = Date.now();
        const next = await compile(v, 'stale2.o');
        // A silent one costs the launcher's wait for the proof (5 s), once.
        assert.ok(Date.now() - started < 15_000, `${Date.now() - started} ms`);
        assert.equal(
          existsSync(marker) || existsSync(`${marker}.cpp`),
          false,
          'no command of the impostor ran',
        );
        const got = existsSync(record) ? readFileSync(record, 'latin1') : '';
        assert.ok(!got.includes(agent.token), `the impostor got the token: ${JSON.stringify(got)}`);
        assert.ok(
          !got.includes('u.c'),
          `the impostor got the command line: ${JSON.stringify(got)}`,
        );
        assert.equal(next.code, 0, next.stderr);
        assert.ok(sameAsLocal('stale2.o'), 'the compile was done all the same');
        assert.notEqual(
          agentOf(v.agentFile).port,
          agent.port,
          'by a new agent on a port of its own',
        );
      } finally {
        impostor.kill();
        stopAgent(v.agentFile);
      }
    },
  );
}

// The attacker takes lock names first: the abstract socket names today's
// client derives from its lock files' paths (the hash is public), every
// tsdistcc name it sees in /proc/net/unix as the victim uses them, and it
// tries to put files where the victim's locks live.
const SQUAT = `
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const paths = JSON.parse(process.argv[1]);
function hash(text, seed) {
  let h1 = 0xdeadbeef ^ seed, h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
const held = new Set();
const trying = new Set();
function squat(name) {
  if (held.has(name) || trying.has(name)) return;
  trying.add(name);
  const s = net.createServer();
  s.on('error', () => trying.delete(name));
  s.listen({ path: name }, () => { trying.delete(name); held.add(name); });
}
for (const p of paths) {
  squat('\\0tsdistcc-lock/' + hash(p, 1) + hash(p, 2));
  for (const d of [path.dirname(p), path.join(path.dirname(p), 'tsdistcc-' + process.argv[2])]) {
    try { fs.mkdirSync(d, { recursive: true, mode: 0o777 }); } catch {}
    try { fs.symlinkSync('/nonexistent', path.join(d, path.basename(p))); } catch {}
  }
}
setInterval(() => {
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\\n')) {
    const m = / @(tsdistcc[^@\\s]*)/.exec(line);
    if (m) squat('\\0' + m[1]);
  }
}, 5);
setTimeout(() => console.log('ready ' + held.size), 300);
setTimeout(() => process.exit(0), 90000);
`;

test(
  "another user's squatting on the lock names: the compile completes within the lock bound",
  { skip },
  async () => {
    const v = victim();
    const lockDir = join(v.distccDir, 'lock');
    const names = [
      ...[0, 1].map((n) => `cpu_tcp_127.0.0.1_${real.port}_${n}`),
      ...[...Array(8).keys()].map((n) => `cpu_localhost_${n}`),
    ];
    const paths = [...names.map((n) => join(lockDir, n)), `agent:${v.agentFile}`];
    const squatter = await asAttacker(SQUAT, [JSON.stringify(paths), String(uid)]);
    try {
      // Twice: the first call starts the agent (its names are new), the second
      // meets whatever the squatter saw of the first.
      for (const out of ['lock1.o', 'lock2.o']) {
        const started = Date.now();
        const run = await compile(v, out, { TSDISTCC_LOCK_TIMEOUT: '5' }, 30_000);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(sameAsLocal(out), out);
        assert.ok(Date.now() - started < 5_000 + 8_000, `${out} within the bound`);
      }
    } finally {
      squatter.kill();
      stopAgent(v.agentFile);
    }
  },
);

// A gcc that records, when it preprocesses, what its stdout is: mode, owner
// and type of the file, and mode and owner of the directory it is in.
const MODE_GCC = `#!/bin/sh
case " $* " in *" -E "*)
  out=$(readlink /proc/$$/fd/1)
  echo "$(stat -L -c '%a %u %F' /proc/$$/fd/1)|$(stat -c '%a %u' "$(dirname "$out")")|$out" >> "$MODE_GCC_LOG";;
esac
exec /usr/bin/gcc "$@"
`;

test(
  'preprocessed files are 0600 in a private directory, not in one another user planted',
  { skip },
  async () => {
    const v = victim();
    const bin = mkdtempSync(join(tmpdir(), 'tsdistcc-mode-bin-'));
    writeFileSync(join(bin, 'gcc'), MODE_GCC, { mode: 0o755 });
    const log = join(bin, 'log');
    // The attacker was first: a directory of its own where the client's private one would go.
    const planted = join(v.tmp, `tsdistcc-${uid}`);
    execFileSync('runuser', ['-u', attacker, '--', 'mkdir', '-m', '0777', planted]);
    try {
      for (const mode of [{}, { TSDISTCC_AGENT: '0' }]) {
        writeFileSync(log, '');
        const run = await compile(v, 'mode.o', {
          ...mode,
          PATH: `${bin}:${process.env.PATH}`,
          MODE_GCC_LOG: log,
          DISTCC_NO_REWRITE_CROSS: '1',
        });
        assert.equal(run.code, 0, run.stderr);
        const line = readFileSync(log, 'utf8').trim();
        const [file, dir, path] = line.split('|');
        assert.equal(file, `600 ${uid} regular empty file`, `${JSON.stringify(mode)}: ${line}`);
        assert.equal(dir, `700 ${uid}`, `${JSON.stringify(mode)}: a private directory: ${line}`);
        assert.ok(!path!.startsWith(`${planted}/`), `not in the planted directory: ${line}`);
        assert.deepEqual(readdirSync(planted), [], 'nothing left in the planted directory');
      }
    } finally {
      stopAgent(v.agentFile);
    }
  },
);
