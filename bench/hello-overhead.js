// Per-job overhead: 50 sequential hello-sized compiles through Debian's
// distcc client to distccd and to tsdistccd, interleaved (one to each, in
// turn), plus a local gcc of the same file as the floor. Writes the numbers
// and both daemons' RSS to bench/RESULTS.md. Not a test: nothing is asserted.
//
//   npm run bench            (needs distcc, gcc; runs on loopback only)
//   node bench/hello-overhead.js --runs 100

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 50;

const work = mkdtempSync(join(tmpdir(), 'tsdistcc-bench-'));
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

function rssKb(pid) {
  // The daemon and all its children (distccd preforks one per job slot).
  const out = execFileSync('ps', ['-o', 'pid=,ppid=,rss=', '-e'], { encoding: 'utf8' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const tree = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, pp] of rows) if (tree.has(pp) && !tree.has(p)) (tree.add(p), (grew = true));
  }
  return rows.filter(([p]) => tree.has(p)).reduce((n, [, , rss]) => n + rss, 0);
}

const distccdPort = await freePort();
const tsPort = await freePort();
const common = [
  '--no-detach',
  '--listen',
  '127.0.0.1',
  '--allow',
  '127.0.0.1',
  '--log-file',
  '/dev/null',
];
const distccd = spawn('distccd', ['--daemon', '--port', String(distccdPort), ...common], {
  stdio: 'ignore',
});
const ts = spawn(
  process.execPath,
  [join(ROOT, 'build/src/bin/tsdistccd.js'), '--port', String(tsPort), ...common],
  {
    stdio: 'ignore',
  },
);
await Promise.all([waitForPort(distccdPort), waitForPort(tsPort)]);

function timeOne(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function distccEnv(port) {
  const dir = join(work, `dd-${port}`);
  mkdirSync(dir, { recursive: true });
  return {
    ...process.env,
    DISTCC_HOSTS: `127.0.0.1:${port}`,
    DISTCC_DIR: dir,
    DISTCC_FALLBACK: '0',
    DISTCC_SKIP_LOCAL_RETRY: '1',
    DISTCC_BACKOFF_PERIOD: '0',
  };
}

const times = { local: [], distccd: [], tsdistccd: [] };
const args = ['gcc', '-c', 'hello.c', '-o', 'hello.o'];
// Warm up both daemons and the page cache.
for (let i = 0; i < 3; i++) {
  timeOne('distcc', args, distccEnv(distccdPort));
  timeOne('distcc', args, distccEnv(tsPort));
}
for (let i = 0; i < RUNS; i++) {
  times.local.push(timeOne('gcc', ['-c', 'hello.c', '-o', 'hello.o'], process.env));
  // Alternate which daemon goes first, so neither always gets a warm cache.
  const order = i % 2 === 0 ? ['distccd', 'tsdistccd'] : ['tsdistccd', 'distccd'];
  for (const who of order) {
    times[who].push(timeOne('distcc', args, distccEnv(who === 'distccd' ? distccdPort : tsPort)));
  }
}
const rss = { distccd: rssKb(distccd.pid), tsdistccd: rssKb(ts.pid) };
distccd.kill('SIGTERM');
ts.kill('SIGTERM');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const mean = (a) => a.reduce((n, x) => n + x, 0) / a.length;
const m = Object.fromEntries(
  Object.entries(times).map(([k, v]) => [k, { median: median(v), mean: mean(v) }]),
);
const overhead = {
  distccd: m.distccd.median - m.local.median,
  tsdistccd: m.tsdistccd.median - m.local.median,
};
const gccVersion = execFileSync('gcc', ['-dumpversion'], { encoding: 'utf8' }).trim();
const distccVersion = execFileSync('distccd', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const fmt = (x) => x.toFixed(1);
const section = `## hello.c, ${RUNS} sequential compiles each, interleaved — ${new Date().toISOString()}

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version},
gcc ${gccVersion}, ${distccVersion}. Client: Debian's \`distcc\` for both daemons, loopback.
Command: \`npm run bench\` (\`node bench/hello-overhead.js --runs ${RUNS}\`).

| | median ms | mean ms | overhead over local gcc (median) | RSS after run (daemon + children) |
|---|---|---|---|---|
| local \`gcc -c\` | ${fmt(m.local.median)} | ${fmt(m.local.mean)} | — | — |
| distccd 3.4 | ${fmt(m.distccd.median)} | ${fmt(m.distccd.mean)} | ${fmt(overhead.distccd)} | ${(rss.distccd / 1024).toFixed(1)} MiB |
| tsdistccd | ${fmt(m.tsdistccd.median)} | ${fmt(m.tsdistccd.mean)} | ${fmt(overhead.tsdistccd)} | ${(rss.tsdistccd / 1024).toFixed(1)} MiB |

Ratio of per-job overhead, tsdistccd / distccd: **${(overhead.tsdistccd / overhead.distccd).toFixed(2)}**
(whole-job time ratio ${(m.tsdistccd.median / m.distccd.median).toFixed(3)}).
`;
process.stdout.write(section);
const resultsFile = join(ROOT, 'bench/RESULTS.md');
let previous = '';
try {
  previous = readFileSync(resultsFile, 'utf8');
} catch {
  previous =
    '# Benchmark results\n\nNewest first. Each section says the machine and the command.\n\n';
}
const [head, ...rest] = previous.split(/^(?=## )/m);
writeFileSync(resultsFile, [head, section + '\n', ...rest].join(''));
