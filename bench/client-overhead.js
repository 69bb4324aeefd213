// Per-invocation cost of the client: hello-sized compiles through Debian's
// distcc client and through tsdistcc (agent, and plain with
// TSDISTCC_AGENT=0), all to the same Debian distccd on loopback, interleaved
// one after the other, plus a local gcc as the floor. Reports medians and
// writes them to bench/RESULTS.md. Not a test: nothing is asserted.
//
//   node bench/client-overhead.js [--runs 60] [--no-write]
//   (needs distcc, gcc; loopback only)

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 60);
const WRITE = !process.argv.includes('--no-write');

const work = mkdtempSync(join(tmpdir(), 'tsdistcc-client-bench-'));
chmodSync(work, 0o1777);
writeFileSync(
  join(work, 'hello.c'),
  '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
);

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} never answered`);
}

const port = await freePort();
const distccd = spawn(
  'distccd',
  [
    '--daemon',
    '--no-detach',
    '--listen',
    '127.0.0.1',
    '--port',
    String(port),
    '--allow',
    '127.0.0.1',
  ],
  { stdio: 'ignore' },
);
await waitForPort(port);

const runtime = mkdtempSync(join(tmpdir(), 'tsdistcc-rt-'));
function env(extra) {
  const dir = join(work, `dd-${Object.keys(extra).join('-') || 'x'}`);
  mkdirSync(dir, { recursive: true });
  return {
    ...process.env,
    DISTCC_HOSTS: `127.0.0.1:${port}`,
    DISTCC_DIR: dir,
    DISTCC_FALLBACK: '0',
    XDG_RUNTIME_DIR: runtime,
    ...extra,
  };
}

const LAUNCHER = join(ROOT, 'bin/tsdistcc');
const ARGS = ['gcc', '-c', 'hello.c', '-o', 'hello.o'];
const contenders = {
  local: { cmd: 'gcc', args: ARGS.slice(1), env: process.env },
  distcc: { cmd: 'distcc', args: ARGS, env: env({}) },
  'tsdistcc (agent)': { cmd: LAUNCHER, args: ARGS, env: env({ TSDISTCC_AGENT_IDLE: '300' }) },
  'tsdistcc (plain)': { cmd: LAUNCHER, args: ARGS, env: env({ TSDISTCC_AGENT: '0' }) },
};

function once({ cmd, args, env }) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: work, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
// Warm up: page cache, distccd's children, and the agent (its first call starts it).
for (let i = 0; i < 3; i++) for (const c of Object.values(contenders)) once(c);
for (let i = 0; i < RUNS; i++) {
  for (const [name, c] of Object.entries(contenders)) times[name].push(once(c));
}
distccd.kill('SIGTERM');
try {
  const agentFile = join(runtime, `tsdistcc-agent-${process.getuid()}`, 'agent');
  process.kill(Number(readFileSync(agentFile, 'utf8').split(' ')[2]), 'SIGTERM');
} catch {
  /* no agent */
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const rows = Object.keys(contenders).map((k) => {
  const ratio = k === 'local' ? '' : (m[k] / m.distcc).toFixed(2) + '×';
  const over = k === 'local' ? '' : (m[k] - m.local).toFixed(1);
  return `| ${k} | ${m[k].toFixed(1)} | ${over} | ${ratio} |`;
});
const section = [
  `## Client: hello.c, ${RUNS} compiles each, interleaved — ${new Date().toISOString()}`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  `Command: \`node bench/client-overhead.js --runs ${RUNS}\`. Server: Debian's distccd on loopback for all.`,
  '',
  '| client | median ms per job | over local gcc, ms | vs distcc |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n');
console.log(section);

if (WRITE) {
  const resultsFile = join(ROOT, 'bench/RESULTS.md');
  const text = readFileSync(resultsFile, 'utf8');
  const at = text.indexOf('\n## ', text.indexOf('## What the numbers say'));
  const cut = at < 0 ? text.length : at + 1;
  writeFileSync(resultsFile, text.slice(0, cut) + section + '\n' + text.slice(cut));
}
