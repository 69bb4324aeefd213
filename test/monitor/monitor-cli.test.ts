// tsdistccmon's client view against Debian's distccmon-text, run side by
// side: the same output for the same state files, the same usage errors and
// exit codes, the same DELAY rules (print once, or keep going).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Phase, StateFile, type TaskState } from '../../src/state/binstate.js';
import { ROOT } from '../helpers/paths.js';

const MON_TEXT = '/usr/bin/distccmon-text';
const MONITOR_BIN = `${ROOT}build/src/bin/tsdistccmon.js`;
const noMonText = existsSync(MON_TEXT)
  ? undefined
  : 'distccmon-text (Debian package distcc) is not installed';

type Run = { code: number | null; stdout: string; stderr: string; stillRunning: boolean };

/**
 * Runs a command. One still running after `limitMs`, or once its output
 * satisfies `enough`, is killed and said to be still running.
 */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  limitMs = 5000,
  enough: (stdout: string) => boolean = () => false,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stillRunning = false;
    const stop = () => {
      stillRunning = true;
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (enough(stdout)) stop();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(stop, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, stillRunning });
    });
  });
}

/** `work` over `items`, a few at a time: many Node processes at once only measure the load. */
async function fewAtATime<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all([worker(), worker(), worker()]);
}

const tmpDirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistccmon-'));
  tmpDirs.push(dir);
  return dir;
}

function envWith(vars: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...vars };
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete env[k];
  return env;
}

type Limit = [limitMs?: number, enough?: (stdout: string) => boolean];
const monText = (args: string[], env: NodeJS.ProcessEnv, ...limit: Limit) =>
  run(MON_TEXT, args, env, ...limit);
const ours = (args: string[], env: NodeJS.ProcessEnv, ...limit: Limit) =>
  run(process.execPath, [MONITOR_BIN, ...args], env, ...limit);

const sleepers: ChildProcess[] = [];
before(() => {
  for (let i = 0; i < 3; i++) sleepers.push(spawn('sleep', ['60'], { stdio: 'ignore' }));
});
after(() => {
  for (const s of sleepers) s.kill('SIGKILL');
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

test('usage errors: the same exit code; one line saying what was wrong, then distccmon-text usage text', async (t) => {
  if (noMonText) return t.skip(noMonText);
  const env = envWith({ DISTCC_DIR: freshDir() });
  const cases: [string[], string][] = [
    [['1', '2'], 'one DELAY at most, got 2 arguments'],
    [['abc'], 'DELAY must be a number of seconds, got `abc`'],
    [['1x'], 'DELAY must be a number of seconds, got `1x`'],
    [['-'], 'DELAY must be a number of seconds, got `-`'],
    [['--'], 'DELAY must be a number of seconds, got `--`'],
    [['--bogus'], 'no option `--bogus`'],
    [['1 '], 'DELAY must be a number of seconds, got `1 `'],
    [['e'], 'DELAY must be a number of seconds, got `e`'],
    [['0x'], 'DELAY must be a number of seconds, got `0x`'],
    [[' '], 'DELAY must be a number of seconds, got ` `'],
    [['\x1b[2J'], 'DELAY must be a number of seconds, got `\\x1b[2J`'],
  ];
  await fewAtATime(cases, async ([args, problem]) => {
    const [theirs, mine] = await Promise.all([monText(args, env), ours(args, env)]);
    assert.equal(theirs.code, 1, `distccmon-text ${JSON.stringify(args)}`);
    assert.equal(mine.code, theirs.code, JSON.stringify(args));
    assert.equal(mine.stdout, '');
    const expected = `tsdistccmon: ${problem}\n${theirs.stderr.replace(/distccmon-text/g, 'tsdistccmon')}`;
    assert.ok(
      mine.stderr.startsWith(expected),
      `${JSON.stringify(args)}:\n${mine.stderr}\n---\n${expected}`,
    );
  });
});

test('DELAY: the same arguments print once or keep printing', async (t) => {
  if (noMonText) return t.skip(noMonText);
  const env = envWith({ DISTCC_DIR: freshDir() });
  const args = [
    [],
    [''],
    ['0'],
    ['-0'],
    ['0x0p3'],
    ['1e-400'],
    ['1e-50'],
    ['  0.0'],
    ['0.2'],
    ['-1'],
    ['nan'],
    ['inf'],
    ['+1'],
    ['.5'],
    ['0x1'],
  ];
  // Two updates prove it repeats (an empty directory's update is one empty
  // line); `-1` prints one and sleeps for 71 minutes: still there after 4 s.
  const twice = (out: string) => out.length >= 2;
  await fewAtATime(args, async (a) => {
    const [theirs, mine] = await Promise.all([
      monText(a, env, 4000, twice),
      ours(a, env, 4000, twice),
    ]);
    const what = JSON.stringify(a);
    assert.equal(mine.stillRunning, theirs.stillRunning, `still running: ${what}`);
    if (!theirs.stillRunning) {
      assert.equal(mine.code, theirs.code, what);
      assert.equal(mine.stdout, theirs.stdout, what);
    } else {
      // Each update of an empty directory is one empty line.
      assert.match(mine.stdout, /^\n+$/, what);
    }
  });
});

test('DELAY 0.2: one update every 0.2 s, each ending with an empty line', async () => {
  const dir = freshDir();
  new StateFile(dir, sleepers[0]!.pid).write({
    file: 'a.c',
    host: 'box',
    slot: 0,
    phase: Phase.COMPILE,
  });
  const once = `${String(sleepers[0]!.pid).padStart(6)}  Compile     a.c${' '.repeat(28)}${'box'.padStart(24)}[0]\n\n`;
  const started = Date.now();
  const r = await ours(['0.2'], envWith({ DISTCC_DIR: dir }), 10_000, (out) =>
    out.startsWith(once.repeat(3)),
  );
  assert.ok(r.stillRunning);
  assert.ok(Date.now() - started >= 400, 'three updates take two pauses of 0.2 s');
  assert.ok(
    r.stdout.split(once).every((u) => u === ''),
    r.stdout,
  );
});

function put(dir: string, s: TaskState): string {
  const f = new StateFile(dir, s.pid);
  f.write(s);
  return f.path;
}

function deadPid(): number {
  return spawnSync('true').pid;
}

test('the same lines as distccmon-text for the same state files', async (t) => {
  if (noMonText) return t.skip(noMonText);
  const [a, b, c] = sleepers.map((s) => s.pid!);
  const fill = (dir: string) => {
    put(dir, { pid: a!, file: 'src/kernel/sched/core.c', host: 'node-b', slot: 1, phase: 5 });
    put(dir, { pid: b!, file: 'two.cc', host: 'node-a', slot: 0, phase: Phase.SEND });
    put(dir, {
      pid: c!,
      file: 'a-file-name-longer-than-thirty-characters.c',
      host: 'a-host-name-longer-than-twenty-four.example.org',
      slot: 3,
      phase: Phase.CPP,
    });
    put(dir, { pid: deadPid(), file: 'dead.c', host: 'node-a', slot: 1, phase: 5 });
    put(dir, { pid: deadPid(), file: 'done.c', host: 'node-c', slot: 0, phase: Phase.DONE });
    // Alive (this process) but untouched for 61 s: dropped and unlinked.
    const stale = put(dir, { pid: process.pid, file: 'stale.c', host: 'x', slot: 0, phase: 5 });
    const old = Date.now() / 1000 - 61;
    utimesSync(stale, old, old);
  };
  const theirDir = freshDir();
  const myDir = freshDir();
  fill(theirDir);
  fill(myDir);
  const [theirs, mine] = await Promise.all([
    monText([], envWith({ DISTCC_DIR: theirDir })),
    ours([], envWith({ DISTCC_DIR: myDir })),
  ]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(mine.code, 0, mine.stderr);
  assert.equal(mine.stdout, theirs.stdout);
  assert.equal(mine.stderr, '');
  assert.equal(mine.stdout.split('\n').filter(Boolean).length, 3); // the live jobs only
  assert.ok(!existsSync(join(myDir, 'state', `binstate_${process.pid}`)));

  const json = await ours(['--json'], envWith({ DISTCC_DIR: myDir }));
  const doc = JSON.parse(json.stdout) as { jobs: { pid: number; phase: string; file: string }[] };
  assert.deepEqual(
    doc.jobs.map((j) => `${j.pid} ${j.phase} ${j.file}`),
    [
      `${c} Preprocess a-file-name-longer-than-thirty-characters.c`,
      `${b} Send two.cc`,
      `${a} Compile core.c`,
    ],
  );
});

test('the state directory: made as distccmon-text makes it; the same errors and exit codes', async (t) => {
  if (noMonText) return t.skip(noMonText);
  // DISTCC_DIR that exists: state/ is made inside.
  const dirs = [freshDir(), freshDir()];
  const [theirs, mine] = await Promise.all([
    monText([], envWith({ DISTCC_DIR: dirs[0] })),
    ours([], envWith({ DISTCC_DIR: dirs[1] })),
  ]);
  assert.equal(mine.code, theirs.code);
  assert.equal(mine.stdout, '\n');
  assert.ok(statSync(join(dirs[1]!, 'state')).isDirectory());

  // DISTCC_DIR that does not exist: exit 107, naming the state directory.
  const missing = join(freshDir(), 'nope');
  const [theirs2, mine2] = await Promise.all([
    monText([], envWith({ DISTCC_DIR: missing })),
    ours(['1'], envWith({ DISTCC_DIR: missing })),
  ]);
  assert.equal(theirs2.code, 107);
  assert.equal(mine2.code, 107);
  assert.equal(mine2.stdout, '');
  assert.match(
    mine2.stderr,
    new RegExp(
      `^tsdistccmon\\[\\d+\\] ERROR: mkdir '${missing}/state' failed: No such file or directory\\n$`,
    ),
  );

  // No DISTCC_DIR: $HOME/.distcc and its state/ are made.
  const home = freshDir();
  const [theirs3, mine3] = await Promise.all([
    monText([], envWith({ DISTCC_DIR: undefined, HOME: freshDir() })),
    ours([], envWith({ DISTCC_DIR: undefined, HOME: home })),
  ]);
  assert.equal(mine3.code, theirs3.code);
  assert.ok(statSync(join(home, '.distcc', 'state')).isDirectory());

  // Neither DISTCC_DIR nor HOME: exit 101.
  const [theirs4, mine4] = await Promise.all([
    monText([], envWith({ DISTCC_DIR: undefined, HOME: undefined })),
    ours([], envWith({ DISTCC_DIR: undefined, HOME: undefined })),
  ]);
  assert.equal(theirs4.code, 101);
  assert.equal(mine4.code, 101);
  assert.match(mine4.stderr, /HOME is not set/);
});

test('--help and --version print to stdout and exit 0', async () => {
  const help = await ours(['--help'], process.env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: tsdistccmon \[DELAY\]\n/);
  assert.match(help.stdout, /--server HOST\[:PORT\]/);
  const version = await ours(['--version'], process.env);
  assert.equal(version.code, 0);
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  assert.equal(version.stdout, `tsdistccmon ${pkg.version}\n`);
  const bad = await ours(['--server', 'host:99999'], process.env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tsdistccmon: --server wants HOST\[:PORT\], got `host:99999`\n/);
});

test('a closed stdout ends a repeating monitor quietly', async () => {
  const child = spawn(process.execPath, [MONITOR_BIN, '0.01'], {
    env: envWith({ DISTCC_DIR: freshDir() }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
  assert.equal(stderr, '');
});

test('tsdistccmon.1 documents every option of --help and renders without warnings', () => {
  const page = readFileSync(`${ROOT}man/tsdistccmon.1`, 'utf8').replace(/\\-/g, '-');
  const help = spawnSync(process.execPath, [MONITOR_BIN, '--help'], { encoding: 'utf8' }).stdout;
  const options = [...new Set(help.match(/--[a-z][a-z-]+/g) ?? [])];
  assert.ok(options.length >= 4, options.join(' '));
  for (const o of options) assert.ok(page.includes(`.B ${o}`), `${o} not in tsdistccmon.1`);
  for (const path of ['/jobs', '/metrics', '/history', '/ui']) assert.ok(page.includes(path), path);
  const r = spawnSync('man', ['--warnings', '-l', `${ROOT}man/tsdistccmon.1`], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '80' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'groff warnings');
});
