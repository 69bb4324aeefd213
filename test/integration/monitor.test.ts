// The monitor against a real job: Debian's distcc client compiles through
// tsdistccd with a compiler that waits at a gate, so the job stays in
// Compile while the tests look at it from every side — distccmon-text and
// tsdistccmon on the client, /jobs, `tsdistccmon --server`, /ui in headless
// Chromium on the daemon — then the gate opens and /metrics must have
// counted it. Needs Debian's distcc and chromium packages (.ci/run installs
// them); loopback only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobsSnapshot } from '../../src/server/jobs-json.js';
import { runDistcc, type ClientRun } from '../helpers/client.js';
import {
  freshDistccDir,
  openTempDir,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { parsePrometheus, type Exposition } from '../monitor/prometheus-parser.js';

const execFileP = promisify(execFile);
const MONITOR_BIN = `${ROOT}build/src/bin/tsdistccmon.js`;
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_DIR = `${ROOT}test/output`;
const missing = ['/usr/bin/distcc', '/usr/bin/distccmon-text'].find((p) => !existsSync(p));
const skipAll = missing ? `${missing} (Debian package distcc) is not installed` : undefined;

let work: string;
let gate: string;
let daemon: RunningDaemon | undefined;
let distccDir: string;
let client: Promise<ClientRun> | undefined;
let metricsBefore: Exposition;

// A compiler that preprocesses at once but compiles only once the gate file
// exists (or after 30 s, so a failed test does not hang a job).
const GATE_CC = `#!/bin/sh
case " $* " in *" -E "*) exec gcc "$@";; esac
i=0
while [ ! -e "$MONITOR_GATE" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
exec gcc "$@"
`;

/** GET a path from the stats port, as a client from `localAddress`. */
function get(
  path: string,
  localAddress = '127.0.0.1',
): Promise<{ head: string; body: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ port: daemon!.statsPort!, host: '127.0.0.1', localAddress }, () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    );
    s.on('data', (d: Buffer) => chunks.push(d));
    // A refused client is cut off: a reset is an answer of no bytes.
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    s.on('close', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, split), body: text.slice(split + 4), raw });
    });
  });
}

async function metrics(): Promise<Exposition> {
  const r = await get('/metrics');
  assert.match(r.head, /^HTTP\/1\.0 200 OK\r\n/);
  assert.match(r.head, /\r\nContent-Type: text\/plain; version=0\.0\.4; charset=utf-8\r\n/);
  return parsePrometheus(r.body);
}

async function jobs(): Promise<JobsSnapshot> {
  const r = await get('/jobs');
  assert.match(r.head, /\r\nContent-Type: application\/json/);
  return JSON.parse(r.body) as JobsSnapshot;
}

async function monText(): Promise<string> {
  const r = await execFileP('distccmon-text', [], {
    env: { ...process.env, DISTCC_DIR: distccDir },
  });
  return r.stdout;
}

async function tsdistccmon(args: string[]): Promise<string> {
  const r = await execFileP(process.execPath, [MONITOR_BIN, ...args], {
    env: { ...process.env, DISTCC_DIR: distccDir },
  });
  return r.stdout;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (skipAll) return;
  work = openTempDir('tsdistcc-monitor-');
  const bin = join(work, 'bin');
  const whitelist = join(work, 'whitelist');
  mkdirSync(bin);
  mkdirSync(whitelist);
  for (const dir of [bin, whitelist]) {
    writeFileSync(join(dir, 'gate-cc'), GATE_CC);
    chmodSync(join(dir, 'gate-cc'), 0o755);
  }
  chmodSync(work, 0o755);
  writeFileSync(join(work, 'slow.c'), 'int slow(void) { return 42; }\n');
  gate = join(work, 'gate');
  daemon = await startTsdistccd(
    [
      '--allow',
      '127.0.0.1',
      // On all addresses, as by default: the IPv4 client arrives as
      // ::ffff:127.0.0.1 and must be shown as 127.0.0.1 everywhere.
      '--listen',
      '::',
      '--log-level',
      'info',
      '--jobs',
      '2',
      '--stats',
      '--stats-port',
      '0',
      '--whitelist-dir',
      whitelist,
      // gate-cc and its gate are in this test's TMPDIR, which the sandbox hides.
      '--sandbox',
      'none',
    ],
    { DISTCCD_PATH: `${bin}:/usr/bin:/bin`, MONITOR_GATE: gate },
  );
  distccDir = freshDistccDir();
  metricsBefore = await metrics();
  client = runDistcc(
    ['gate-cc', '-c', 'slow.c', '-o', 'slow.o'],
    `127.0.0.1:${daemon.port}`,
    work,
    {
      DISTCC_DIR: distccDir,
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  );
  // The client shows Compile once it has sent the job.
  await eventually('distccmon-text shows the job in Compile', async () =>
    (await monText()).includes(' Compile ') ? true : undefined,
  );
});

after(async () => {
  if (gate) writeFileSync(gate, '');
  await client;
  await daemon?.stop();
});

test('tsdistccmon prints what distccmon-text prints while distcc compiles', async (t) => {
  if (skipAll) return t.skip(skipAll);
  // Retried until both looked at the same moment (the job stays in Compile).
  const [theirs, ours] = await eventually('the same output', async () => {
    const a = await monText();
    const b = await tsdistccmon([]);
    return a === b && a.includes(' Compile ') ? [a, b] : undefined;
  });
  assert.equal(ours, theirs);
  assert.match(ours, /^ *\d+ {2}Compile {5}slow\.c {40}127\.0\.0\.1\[0\]\n\n$/);
});

test('/jobs and tsdistccmon --server show the running job', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const snap = await jobs();
  assert.equal(snap.running, 1);
  assert.equal(snap.queued, 0);
  assert.equal(snap.server.slots, 2);
  assert.equal(snap.server.pid, daemon!.child.pid);
  assert.equal(snap.jobs.length, 1);
  const job = snap.jobs[0]!;
  assert.equal(job.client, '127.0.0.1');
  assert.equal(job.compiler, 'gate-cc');
  assert.equal(job.input, 'slow.c');
  assert.equal(job.phase, 'compile');
  assert.equal(job.slot, 0);
  assert.ok(job.elapsed > 0 && job.elapsed >= job.phaseElapsed, JSON.stringify(job));

  const server = `127.0.0.1:${daemon!.statsPort}`;
  const text = await tsdistccmon(['--server', server]);
  const lines = text.split('\n');
  assert.match(
    lines[0]!,
    new RegExp(
      `^ +${job.id}  compile     slow\\.c {40}127\\.0\\.0\\.1\\[0\\] +\\d+\\.\\ds  gate-cc$`,
    ),
  );
  assert.match(lines[1]!, /^running 1 of 2 slots, queued 0; ended: 0 compiled, /);
  // The daemon's log names the client as IPv4 too.
  await daemon!.waitForLog(/client: 127\.0\.0\.1:\d+ connected/);
  assert.doesNotMatch(daemon!.log(), /::ffff:/);
  assert.deepEqual(lines.slice(2), ['', '']);

  const json = JSON.parse(await tsdistccmon(['--server', server, '--json'])) as JobsSnapshot;
  assert.deepEqual(
    json.jobs.map((j) => [j.id, j.input, j.phase, j.slot]),
    [[job.id, 'slow.c', 'compile', 0]],
  );
});

test('/ui in headless Chromium shows the running job, loading nothing from elsewhere', async (t) => {
  if (skipAll) return t.skip(skipAll);
  if (!existsSync(CHROMIUM))
    return t.skip(`${CHROMIUM} (Debian package chromium) is not installed`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const origin = `http://127.0.0.1:${daemon!.statsPort}`;
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    const response = await page.goto(`${origin}/ui`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    const row = page.locator('#slots tr[data-phase="compile"][data-input="slow.c"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await row.getAttribute('data-slot'), '0');
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[0], '0');
    assert.equal(cells[2], 'slow.c');
    assert.equal(cells[3], 'gate-cc');
    assert.match(cells[4]!, /^127\.0\.0\.1:\d+$/);
    // Slot 1 is idle; the header says live; the graphs are drawn from /history.
    assert.equal(await page.locator('#slots tr[data-slot="1"]').getAttribute('data-phase'), 'idle');
    await page.locator('#live.ok').waitFor();
    assert.ok(requests.includes(`${origin}/history`), requests.join('\n'));
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'monitor-ui.png'), fullPage: true });
    t.diagnostic(`screenshot: test/output/monitor-ui.png`);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(`${origin}/`)),
      [],
      'requests to other places',
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the stats port answers no address off the allow list', async (t) => {
  if (skipAll) return t.skip(skipAll);
  for (const path of ['/jobs', '/metrics', '/ui', '/history', '/']) {
    const r = await get(path, '127.0.0.2');
    assert.equal(r.raw.length, 0, `${path} answered 127.0.0.2`);
  }
  await daemon!.waitForLog(/stats: 127\.0\.0\.2 denied by access list/);
});

test("/metrics is Prometheus text and counts the job when it ends; / is still distccd's page", async (t) => {
  if (skipAll) return t.skip(skipAll);
  const during = await metrics();
  assert.equal(during.value('tsdistccd_jobs_running'), 1);
  assert.equal(during.value('tsdistccd_connections_open'), 1);
  writeFileSync(gate, '');
  const result = await client!;
  assert.equal(result.code, 0, result.stderr);
  await daemon!.waitForLog(/COMPILE_OK .* gate-cc slow\.c/);
  const after = await eventually('the job has left the board', async () => {
    const m = await metrics();
    return m.value('tsdistccd_connections_open') === 0 ? m : undefined;
  });
  const moved = (name: string, labels?: Record<string, string>) =>
    after.value(name, labels) - metricsBefore.value(name, labels);
  assert.equal(moved('tsdistccd_jobs_total', { result: 'COMPILE_OK' }), 1);
  assert.equal(moved('tsdistccd_jobs_total', { result: 'COMPILE_ERROR' }), 0);
  assert.equal(moved('tsdistccd_connections_total'), 1);
  assert.equal(moved('tsdistccd_job_duration_seconds_count'), 1);
  assert.equal(moved('tsdistccd_job_duration_seconds_bucket', { le: '+Inf' }), 1);
  assert.equal(moved('tsdistccd_job_duration_seconds_bucket', { le: '0.1' }), 0, 'it waited');
  assert.ok(moved('tsdistccd_job_duration_seconds_sum') > 0.1);
  // The request carried the preprocessed source; the reply the object file.
  assert.ok(moved('tsdistccd_received_bytes_total') > 100);
  assert.ok(moved('tsdistccd_sent_bytes_total') > 500);
  assert.equal(after.value('tsdistccd_jobs_running'), 0);
  assert.equal(after.value('tsdistccd_jobs_queued'), 0);

  const snap = await jobs();
  assert.deepEqual(snap.jobs, []);
  assert.equal(snap.totals.COMPILE_OK, 1);

  const page = await get('/');
  assert.match(page.raw.toString(), /^HTTP\/1\.0 200 OK\nContent-Type: text\/plain\n/);
  assert.match(page.raw.toString(), /\ndcc_compile_ok 1\n/);
});
