// Issue 20 items 5 and 8, with raw requests. A client names its input file
// `x<LF>COMPILE_OK forged<ESC>[2J<U+202E><img ...>gnp.c`, its compiler and an
// option with the same; every place that shows them must show them escaped:
// the text log (stderr and --log-file), the JSON log, syslog datagrams, /jobs,
// the --stats page, /ui in headless Chromium, tsdistccmon --server. And the
// stats port answers only requests whose Host is this machine's (DNS
// rebinding). The compile itself is served, and its object is a local gcc's.
// Needs: gcc, Debian's distcc (its /usr/lib/distcc whitelist), python3
// (datagram receiver), chromium for /ui; loopback only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobsSnapshot } from '../../src/server/jobs-json.js';
import { exchange } from '../helpers/client.js';
import { freePort, openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { startReceiver, type Receiver } from '../helpers/dgram.js';
import { DAEMON_BIN, ROOT } from '../helpers/paths.js';
import { firstRaw } from '../helpers/raw-chars.js';
import { until } from '../helpers/wait.js';
import { parseReply, request, type ParsedReply } from '../helpers/wire.js';

const execFileP = promisify(execFile);
const MONITOR_BIN = `${ROOT}build/src/bin/tsdistccmon.js`;
const CHROMIUM = '/usr/bin/chromium';
const skipAll = ['/usr/bin/gcc', '/usr/lib/distcc/x86_64-linux-gnu-gcc'].find((p) => !existsSync(p))
  ? 'gcc and Debian package distcc are needed'
  : undefined;

const FORGE = '\nCOMPILE_OK forged\x1b[2J\u202e';
const INPUT = `x${FORGE}<img src=x onerror=alert(1)>gnp.c`;
/** INPUT as it must be shown, written out here (not by the code under test). */
const SHOWN = 'x\\nCOMPILE_OK forged\\x1b[2J\\u202e<img src=x onerror=alert(1)>gnp.c';
const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');
const CC = 'x86_64-linux-gnu-gcc';

// A compiler that compiles only once the gate file exists (at most 30 s).
const GATE_CC = `#!/bin/sh
i=0
while [ ! -e "$FORGERY_GATE" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
exec gcc "$@"
`;

/** The three requests: a compile of INPUT, a forged compiler name, a forged option. */
function forgedRequests(cc: string): Buffer[] {
  return [
    request(1, [cc, '-c', INPUT, '-o', 'x.o'], source),
    request(1, [`gcc${FORGE}`, '-c', 'y.c', '-o', 'y.o'], source),
    request(1, [cc, `-specs=/tmp/e${FORGE}.specs`, '-c', 'z.c', '-o', 'z.o'], source),
  ];
}

let scratch: string;
let localObject: Buffer;

/** A text log as it must be: every line a record of its own, the names escaped. */
function assertTextLog(text: string, what: string) {
  assert.equal(firstRaw(text, { lines: true }), undefined, `${what}: a raw character`);
  for (const line of text.split('\n').filter((l) => l !== '')) {
    assert.match(line, /^(?:<\d>)?\d{4}-\d\d-\d\dT[\d:.]+Z tsdistccd\[\d+\] [a-z]+: /, what);
  }
  assert.doesNotMatch(text, /^COMPILE_OK forged/m, `${what}: a forged line`);
  const ok = text.split('\n').find((l) => / COMPILE_OK exit:0 /.test(l));
  assert.ok(ok?.endsWith(` ${CC} ${SHOWN}`) || ok?.endsWith(` gate-cc ${SHOWN}`), ok);
  assert.ok(text.includes(`gcc\\nCOMPILE_OK forged\\x1b[2J\\u202e`), `${what}: the compiler`);
  assert.ok(text.includes(`/tmp/e\\nCOMPILE_OK forged\\x1b[2J\\u202e.specs`), `${what}: -specs`);
}

before(() => {
  if (skipAll) return;
  scratch = openTempDir('tsdistcc-forgery-');
  writeFileSync(join(scratch, 'x.i'), source);
  execFileSync('gcc', ['-c', 'x.i', '-o', 'local.o'], { cwd: scratch });
  localObject = readFileSync(join(scratch, 'local.o'));
});

/** Sends the three requests; the compile's reply must be a local gcc's object. */
async function sendForged(port: number, cc = CC): Promise<void> {
  const [compile, ...refused] = forgedRequests(cc);
  for (const r of refused) {
    const { reply, closedBy } = await exchange(port, r);
    assert.equal(reply.length, 0, 'a refused request gets no reply');
    assert.notEqual(closedBy, 'timeout');
  }
  assertLocalObject(parseReply((await exchange(port, compile!)).reply));
}

function assertLocalObject(r: ParsedReply) {
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(r.object.equals(localObject), 'the object of a local gcc of the same source');
}

// --- One daemon with the stats port, a job held in Compile -----------------

let ts: RunningDaemon | undefined;
let gate: string;
let held: Promise<ParsedReply> | undefined;

/** A raw HTTP request to the stats port; the whole answer. */
function statsGet(head: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ port: ts!.statsPort!, host: '127.0.0.1' }, () => s.write(head));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.search(/\r?\n\r?\n/);
      resolve({ head: text.slice(0, split), body: text.slice(split).replace(/^\r?\n\r?\n/, '') });
    });
  });
}

const get = (path: string) => statsGet(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);

before(async () => {
  if (skipAll) return;
  const work = openTempDir('tsdistcc-forgery-stats-');
  const whitelist = join(work, 'whitelist');
  mkdirSync(whitelist);
  writeFileSync(join(whitelist, 'gate-cc'), GATE_CC);
  chmodSync(join(whitelist, 'gate-cc'), 0o755);
  chmodSync(work, 0o755);
  gate = join(work, 'gate');
  ts = await startTsdistccd(
    ['--allow', '127.0.0.1', '--log-level', 'info', '--stats', '--stats-port', '0']
      // gate-cc and its gate are in this test's TMPDIR, which the sandbox hides.
      .concat(['--whitelist-dir', whitelist, '--sandbox', 'none']),
    { DISTCCD_PATH: `${whitelist}:/usr/bin:/bin`, FORGERY_GATE: gate },
  );
  const [compile, ...refused] = forgedRequests('gate-cc');
  for (const r of refused) await exchange(ts.port, r);
  held = exchange(ts.port, compile!).then((r) => parseReply(r.reply));
  // Held by gate-cc in Compile until the stderr-log test opens the gate.
  const end = Date.now() + 15_000;
  while (Date.now() < end && !(await get('/jobs')).body.includes('"phase":"compile"')) {
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (gate) writeFileSync(gate, '');
  await held?.catch(() => {});
  await ts?.stop();
});

test('/jobs: ASCII-only JSON that gives the names back exactly', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const r = await get('/jobs');
  assert.equal(firstRaw(r.body.trimEnd()), undefined, 'raw characters in the /jobs bytes');
  assert.doesNotMatch(r.body, /[^\x20-\x7e\n]/);
  const job = (JSON.parse(r.body) as JobsSnapshot).jobs.find((j) => j.phase === 'compile');
  assert.equal(job?.input, INPUT);
  assert.equal(job?.compiler, 'gate-cc');
});

test('tsdistccmon --server prints the names escaped; --json is ASCII-only and exact', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const server = `127.0.0.1:${ts!.statsPort}`;
  const { stdout } = await execFileP(process.execPath, [MONITOR_BIN, '--server', server]);
  assert.equal(firstRaw(stdout, { lines: true }), undefined, JSON.stringify(stdout));
  const lines = stdout.split('\n');
  assert.equal(lines.length, 4, stdout);
  assert.match(lines[0]!, / {2}compile {5}x\\nCOMPILE_OK forged\\x1b\[2J\\u2 +127\.0\.0\.1\[0\] /);
  assert.match(lines[1]!, /^running 1 of \d+ slots/);
  const json = await execFileP(process.execPath, [MONITOR_BIN, '--server', server, '--json']);
  assert.doesNotMatch(json.stdout, /[^\x20-\x7e\n]/);
  const snap = JSON.parse(json.stdout) as JobsSnapshot;
  assert.equal(snap.jobs.find((j) => j.phase === 'compile')?.input, INPUT);
});

test('/ui in Chromium shows the name escaped, as text: no element, no script from it', async (t) => {
  if (skipAll) return t.skip(skipAll);
  if (!existsSync(CHROMIUM))
    return t.skip(`${CHROMIUM} (Debian package chromium) is not installed`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    const problems: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`http://127.0.0.1:${ts!.statsPort}/ui`);
    const row = page.locator('#slots tr[data-phase="compile"]');
    await row.waitFor({ timeout: 10_000 });
    const cell = row.locator('td.input');
    assert.equal(await cell.textContent(), SHOWN);
    assert.equal(await cell.locator('*').count(), 0, 'elements inside the cell');
    assert.equal(await row.getAttribute('data-input'), SHOWN);
    assert.equal(await page.locator('img').count(), 0, 'an element from the name');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the text log (stderr) and the --stats page show the names escaped', async (t) => {
  if (skipAll) return t.skip(skipAll);
  writeFileSync(gate, '');
  assertLocalObject(await held!);
  await ts!.waitForLog(/ COMPILE_OK exit:0 .*\n/);
  assertTextLog(ts!.log(), 'stderr');
  const page = (await get('/')).body;
  assert.equal(firstRaw(page, { lines: true }), undefined);
  const inner = /<distccstats>\n([\s\S]*)<\/distccstats>\n$/.exec(page)?.[1] ?? '';
  for (const line of inner.trimEnd().split('\n')) assert.match(line, /^dcc_[a-zA-Z0-9_]+ /, line);
  assert.ok(inner.includes(`\ndcc_longest_job ${SHOWN}\n`), inner);
  assert.ok(inner.includes('\ndcc_longest_job_compiler gate-cc\n'), inner);
});

// --- Item 8: the stats port's Host check --------------------------------------

test('the stats port refuses a Host that is not this machine, with 421 and one log line', async (t) => {
  if (skipAll) return t.skip(skipAll);
  for (const host of ['evil.example', `evil.example:${ts!.statsPort}`, 'localhost.evil.example']) {
    for (const path of ['/jobs', '/ui', '/', '/metrics']) {
      const r = await statsGet(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.match(r.head, /^HTTP\/1\.0 421 Misdirected Request\r\n/, `${host} ${path}`);
      assert.doesNotMatch(r.body, /jobs|distccstats|<html/i);
    }
  }
  await ts!.waitForLog(
    /stats: 127\.0\.0\.1 refused: Host `evil\.example` is not a name or address of this machine\n/,
  );
  const forged = await statsGet(`GET /jobs HTTP/1.1\r\nHost: a\x1b[2J\r\n\r\n`);
  assert.match(forged.head, /^HTTP\/1\.0 421 /);
  await ts!.waitForLog(/refused: Host `a\\x1b\[2J` is not/);
  assert.equal(firstRaw(ts!.log(), { lines: true }), undefined);
});

test("the stats port answers IP literals, localhost, this machine's name, and no Host", async (t) => {
  if (skipAll) return t.skip(skipAll);
  const p = ts!.statsPort!;
  const heads = [
    `GET /jobs HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`,
    `GET /jobs HTTP/1.1\r\nHost: [::1]:${p}\r\n\r\n`,
    `GET /jobs HTTP/1.1\r\nHost: localhost:${p}\r\n\r\n`,
    `GET /jobs HTTP/1.1\r\nHost: ${hostname()}:${p}\r\n\r\n`,
    `GET /jobs HTTP/1.1\r\nHost: ${hostname().split('.')[0]!.toUpperCase()}\r\n\r\n`,
    `GET /jobs HTTP/1.0\r\n\r\n`,
    `GET /jobs HTTP/1.1\r\nConnection: close\r\n\r\n`,
  ];
  for (const head of heads) {
    const r = await statsGet(head);
    assert.match(r.head, /^HTTP\/1\.0 200 OK\r\n/, JSON.stringify(head));
    assert.ok((JSON.parse(r.body) as JobsSnapshot).server.pid > 0);
  }
  // distccd's clients send anything, or nothing: still its page.
  const bare = await statsGet('\n');
  assert.match(bare.head, /^HTTP\/1\.0 200 OK\nContent-Type: text\/plain/);
});

/** A stand-in stats port that answers every request with `reply`; the heads it got. */
async function fakeStatsPort(reply: string) {
  const heads: string[] = [];
  const server = createServer((s) => {
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        heads.push(head);
        s.end(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { heads, port: (server.address() as { port: number }).port, server };
}

test('tsdistccmon --server sends no Host, so any name it was given works', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const fake = await fakeStatsPort(
    'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n<distccstats>\n</distccstats>\n',
  );
  try {
    await execFileP(process.execPath, [MONITOR_BIN, '--server', `127.0.0.1:${fake.port}`]);
    assert.equal(fake.heads.length, 1);
    assert.match(fake.heads[0]!, /^GET \/jobs HTTP\/1\.1\r\n/);
    assert.doesNotMatch(fake.heads[0]!, /^host:/im);
  } finally {
    fake.server.close();
  }
});

test('tsdistccmon against a hostile server: what it prints on stderr is escaped too', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const fake = await fakeStatsPort(
    `HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"jobs":[{"input":"${FORGE}`,
  );
  try {
    const r = await execFileP(process.execPath, [MONITOR_BIN, '--server', `127.0.0.1:${fake.port}`])
      .then(() => assert.fail('a broken /jobs must fail'))
      .catch((err: { code: number; stdout: string; stderr: string }) => err);
    assert.equal(r.code, 109, r.stderr);
    assert.equal(firstRaw(r.stderr, { lines: true }), undefined, JSON.stringify(r.stderr));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /ERROR: 127\.0\.0\.1:\d+ sent \/jobs that is not JSON\n$/);
  } finally {
    fake.server.close();
  }
});

// --- The log destinations, each a daemon of its own --------------------------

type Spawned = { child: ChildProcess; port: number; stop: () => Promise<void> };

async function spawnDaemon(args: string[]): Promise<Spawned> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [DAEMON_BIN, '--no-detach', '--listen', '127.0.0.1', '--port', String(port)]
      .concat(['--allow', '127.0.0.1', '--log-level', 'info'])
      .concat(args),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await until(`tsdistccd listening on ${port}`, () => child.exitCode === null && probe(port));
  return {
    child,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const listening = new Set<number>();
/** Whether something accepts on `port` (learnt asynchronously: polled by until()). */
function probe(port: number): boolean {
  if (listening.has(port)) return true;
  const s = connect(port, '127.0.0.1', () => {
    listening.add(port);
    s.destroy();
  });
  s.on('error', () => s.destroy());
  return false;
}

test('--log-file: the text log has one line a record, the names escaped', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const file = join(openTempDir('tsdistcc-forgery-log-'), 'log');
  const d = await spawnDaemon(['--log-file', file]);
  try {
    await sendForged(d.port);
    await until('the COMPILE_OK line', () =>
      / COMPILE_OK exit:0 /.test(readFileSync(file, 'utf8')),
    );
  } finally {
    await d.stop();
  }
  assertTextLog(readFileSync(file, 'utf8'), '--log-file');
});

test('--log-format json: valid JSON lines, no raw character, the names escaped', async (t) => {
  if (skipAll) return t.skip(skipAll);
  const file = join(openTempDir('tsdistcc-forgery-json-'), 'log');
  const d = await spawnDaemon(['--log-file', file, '--log-format', 'json']);
  try {
    await sendForged(d.port);
    await until('the COMPILE_OK record', () =>
      /COMPILE_OK exit:0/.test(readFileSync(file, 'utf8')),
    );
  } finally {
    await d.stop();
  }
  const text = readFileSync(file, 'utf8');
  assert.equal(firstRaw(text, { lines: true }), undefined);
  const records = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; level: number });
  for (const r of records) assert.equal(firstRaw(r.msg), undefined, r.msg);
  const ok = records.find((r) => / COMPILE_OK exit:0 /.test(r.msg));
  assert.ok(ok?.msg.endsWith(` ${CC} ${SHOWN}`), JSON.stringify(ok));
  assert.ok(records.some((r) => r.msg.includes('/tmp/e\\nCOMPILE_OK forged\\x1b[2J\\u202e')));
});

test('syslog: each datagram one message with no raw character, the names escaped', async (t) => {
  if (skipAll) return t.skip(skipAll);
  let receiver: Receiver | undefined;
  let d: Spawned | undefined;
  try {
    const sock = join(openTempDir('tsdistcc-forgery-syslog-'), 'log.sock');
    receiver = await startReceiver(sock);
    d = await spawnDaemon(['--syslog-socket', sock]);
    await sendForged(d.port);
    const ok = await receiver.waitFor((m) => / COMPILE_OK exit:0 /.test(m));
    assert.match(ok, /^<29>[A-Z][a-z]{2} [ \d]\d [\d:]{8} tsdistccd\[\d+\]: notice: client: /);
    assert.ok(ok.endsWith(` ${CC} ${SHOWN}`), ok);
    await receiver.waitFor((m) => m.includes('/tmp/e\\nCOMPILE_OK forged\\x1b[2J\\u202e.specs'));
    for (const m of receiver.messages) assert.equal(firstRaw(m), undefined, JSON.stringify(m));
  } finally {
    await d?.stop();
    receiver?.close();
  }
});
