// The soak run, by hand (not in CI): N compiles in a row through one
// tsdistccd (default 10,000), then the socket fuzzer's mix at it, sampling
// the daemon's RSS and open descriptors; prints a Markdown section to add to
// bench/RESULTS.md. Loopback only.
//
//   npm run build && node bench/soak.js [--jobs 10000]

import { spawn } from 'node:child_process';
import { mkdtempSync, chmodSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const i = process.argv.indexOf('--jobs');
const JOBS = i > 0 ? Number(process.argv[i + 1]) : 10_000;

const tmp = mkdtempSync(join(tmpdir(), 'tsdistcc-soak-'));
chmodSync(tmp, 0o1777);
const daemon = spawn(
  process.execPath,
  [
    join(ROOT, 'build/src/bin/tsdistccd.js'),
    '--no-detach',
    '--log-stderr',
    '--listen',
    '127.0.0.1',
    '--port',
    '0',
    '--allow',
    '127.0.0.1',
  ],
  { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] },
);
const port = await new Promise((resolve) => {
  let text = '';
  daemon.stderr.on('data', (d) => {
    text += d;
    const m = /listening on [^ ]+:(\d+)/.exec(text);
    if (m) resolve(Number(m[1]));
  });
});
const pid = daemon.pid;

const tok = (name, n) => Buffer.from(name + n.toString(16).padStart(8, '0'));
function request(argv, body) {
  const parts = [tok('DIST', 1), tok('ARGC', argv.length)];
  for (const a of argv) parts.push(tok('ARGV', Buffer.byteLength(a)), Buffer.from(a));
  parts.push(tok('DOTI', body.length), body);
  return Buffer.concat(parts);
}
function exchange(bytes, end = false) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = connect(port, '127.0.0.1', () => (end ? s.end(bytes) : s.write(bytes)));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const fds = () => readdirSync(`/proc/${pid}/fd`).length;

const samples = [];
const t0 = Date.now();
let failed = 0;
for (let j = 0; j < JOBS; j++) {
  const body = Buffer.from(`# 1 "s${j}.c"\nint s${j}(int x) { return x * ${j}; }\n`);
  const reply = await exchange(
    request(['x86_64-linux-gnu-gcc', '-c', `s${j}.c`, '-o', `s${j}.o`], body),
  );
  if (reply.subarray(12, 24).toString() !== 'STAT00000000') failed++;
  if (j % 1000 === 999 || j === 0) samples.push({ after: j + 1, rss: rss(), fds: fds() });
}
const seconds = (Date.now() - t0) / 1000;

// The fuzzer's mix, 10,000 at 100 concurrent.
const good = request(['x86_64-linux-gnu-gcc', '-c', 'f.c', '-o', 'f.o'], Buffer.from('int f;\n'));
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
let sent = 0;
const rssBeforeFuzz = rss();
async function worker() {
  while (sent < 10_000) {
    sent++;
    const b = Buffer.from(good.subarray(0, Math.floor(rand() * good.length)));
    if (b.length) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
    await exchange(b, true);
  }
}
await Promise.all(Array.from({ length: 100 }, worker));
const afterFuzz = { rss: rss(), fds: fds() };
await new Promise((r) => setTimeout(r, 2000));
const left = readdirSync(tmp).length;
daemon.kill('SIGTERM');

console.log(
  [
    `## Soak — ${new Date().toISOString()}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Command: \`node bench/soak.js --jobs ${JOBS}\` (raw protocol-1 requests on loopback, real gcc).`,
    '',
    `- ${JOBS} compiles in a row in ${seconds.toFixed(0)} s, ${failed} failed.`,
    `- RSS / open descriptors after N jobs: ${samples.map((s) => `${s.after}: ${Math.round(s.rss / 1024)} MB / ${s.fds}`).join(', ')}.`,
    `- Then 10,000 truncated and bit-flipped requests, 100 at a time: RSS ${Math.round(rssBeforeFuzz / 1024)} MB → ${Math.round(afterFuzz.rss / 1024)} MB, ${afterFuzz.fds} descriptors; daemon alive: ${daemon.exitCode === null}.`,
    `- Files left in TMPDIR at the end: ${left}.`,
    '',
  ].join('\n'),
);
