import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Phase,
  STATE_SIZE,
  StateFile,
  decodeState,
  encodeState,
  formatStateLine,
  formatStates,
  layoutFor,
  readStates,
  type TaskState,
} from '../../src/state/binstate.js';

// Debian's distcc 3.4 monitor is the reference reader.
const MON_TEXT = '/usr/bin/distccmon-text';
const noMonText = existsSync(MON_TEXT)
  ? undefined
  : 'distccmon-text (Debian package distcc) is not installed';
const x64 = process.arch === 'x64' ? undefined : 'the byte layout checked here is x86-64';

// A test-only writer of `struct dcc_task_state`, field by field at the offsets
// distcc 3.4's src/state.h gives on x86-64 (LP64, little-endian) and i386.
function cStruct64(f: {
  size?: number;
  magic?: number;
  cpid: number;
  file: string;
  host: string;
  slot: number;
  phase: number;
}): Buffer {
  const b = Buffer.alloc(296);
  b.writeBigUInt64LE(BigInt(f.size ?? 296), 0);
  b.writeBigUInt64LE(BigInt(f.magic ?? 0x44494800), 8);
  b.writeBigUInt64LE(BigInt(f.cpid), 16);
  b.write(f.file, 24, 127, 'latin1');
  b.write(f.host, 152, 127, 'latin1');
  b.writeInt32LE(f.slot, 280);
  b.writeUInt32LE(f.phase, 284);
  return b;
}

function cStruct32(f: {
  cpid: number;
  file: string;
  host: string;
  slot: number;
  phase: number;
}): Buffer {
  const b = Buffer.alloc(280);
  b.writeUInt32LE(280, 0);
  b.writeUInt32LE(0x44494800, 4);
  b.writeUInt32LE(f.cpid, 8);
  b.write(f.file, 12, 127, 'latin1');
  b.write(f.host, 140, 127, 'latin1');
  b.writeInt32LE(f.slot, 268);
  b.writeUInt32LE(f.phase, 272);
  return b;
}

const tmpDirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-binstate-'));
  tmpDirs.push(dir);
  return dir;
}

// Processes that stay alive while the test runs, so their pids pass kill(pid, 0).
const sleepers: ChildProcess[] = [];
function livePid(i: number): number {
  const pid = sleepers[i]?.pid;
  assert.ok(pid !== undefined, `sleeper ${i} has no pid`);
  return pid;
}

/** A pid that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid > 0);
  return r.pid;
}

before(() => {
  for (let i = 0; i < 4; i++) sleepers.push(spawn('sleep', ['30'], { stdio: 'ignore' }));
});

after(() => {
  for (const s of sleepers) s.kill('SIGKILL');
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** One poll of distccmon-text (no delay argument) on `dir`. */
function monText(dir: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, DISTCC_DIR: dir };
  delete env.DISTCC_VERBOSE;
  const r = spawnSync(MON_TEXT, [], { env, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `distccmon-text failed: ${r.stderr}`);
  return r.stdout;
}

function put(dir: string, s: TaskState): string {
  const f = new StateFile(dir, s.pid);
  f.write(s);
  return f.path;
}

function makeStale(path: string, ageS = 61): void {
  const t = Date.now() / 1000 - ageS;
  utimesSync(path, t, t);
}

// ---- the codec --------------------------------------------------------------

test('layout: 296 bytes on LP64, 280 on ILP32, byte order as given', () => {
  assert.equal(layoutFor('x64', 'LE').size, 296);
  assert.equal(layoutFor('arm64', 'LE').size, 296);
  assert.equal(layoutFor('ia32', 'LE').size, 280);
  assert.equal(layoutFor('arm', 'LE').size, 280);
  assert.deepEqual(layoutFor('x64', 'LE'), {
    word: 8,
    littleEndian: true,
    file: 24,
    host: 152,
    slot: 280,
    phase: 284,
    size: 296,
  });
  assert.deepEqual(layoutFor('ia32', 'LE'), {
    word: 4,
    littleEndian: true,
    file: 12,
    host: 140,
    slot: 268,
    phase: 272,
    size: 280,
  });
  assert.equal(layoutFor('s390x', 'BE').littleEndian, false);
});

test('STATE_SIZE is 296 on x86-64', (t) => {
  if (x64) return t.skip(x64);
  assert.equal(STATE_SIZE, 296);
});

test('encodeState: the x86-64 struct, byte for byte', () => {
  const s: TaskState = { pid: 4242, file: 'hello.c', host: 'build1', slot: 3, phase: Phase.SEND };
  assert.deepEqual(
    encodeState(s, layoutFor('x64', 'LE')),
    cStruct64({ cpid: 4242, file: 'hello.c', host: 'build1', slot: 3, phase: 4 }),
  );
});

test('encodeState: the i386 struct, byte for byte', () => {
  const s: TaskState = { pid: 77, file: 'a.cc', host: 'localhost', slot: 1, phase: Phase.COMPILE };
  assert.deepEqual(
    encodeState(s, layoutFor('ia32', 'LE')),
    cStruct32({ cpid: 77, file: 'a.cc', host: 'localhost', slot: 1, phase: 5 }),
  );
});

test('encodeState: big-endian words on s390x', () => {
  const b = encodeState(
    { pid: 5, file: 'x.c', host: 'h', slot: 2, phase: Phase.RECEIVE },
    layoutFor('s390x', 'BE'),
  );
  assert.equal(b.readBigUInt64BE(0), 296n);
  assert.equal(b.readBigUInt64BE(8), 0x44494800n);
  assert.equal(b.readBigUInt64BE(16), 5n);
  assert.equal(b.readInt32BE(280), 2);
  assert.equal(b.readUInt32BE(284), 6);
});

const basenames: [string, string][] = [
  ['/home/me/src/main.c', 'main.c'],
  ['src/util.c', 'util.c'],
  ['plain.c', 'plain.c'],
  // distcc src/filename.c dcc_find_basename(): a trailing slash keeps the whole name.
  ['odd/dir/', 'odd/dir/'],
  ['', ''],
];
for (const [path, want] of basenames) {
  test(`encodeState: file ${JSON.stringify(path)} is stored as ${JSON.stringify(want)}`, () => {
    const l = layoutFor('x64', 'LE');
    const got = decodeState(
      encodeState({ pid: 1, file: path, host: 'h', slot: 0, phase: Phase.CPP }, l),
      l,
    );
    assert.equal(got?.file, want);
  });
}

test('encodeState: names are cut to 127 bytes plus NUL, as strlcpy does', () => {
  const l = layoutFor('x64', 'LE');
  const file = `${'f'.repeat(200)}.c`;
  const host = 'h'.repeat(300);
  const b = encodeState({ pid: 1, file: `dir/${file}`, host, slot: 0, phase: Phase.CONNECT }, l);
  assert.deepEqual(
    b,
    cStruct64({ cpid: 1, file: file.slice(0, 127), host: host.slice(0, 127), slot: 0, phase: 2 }),
  );
  assert.equal(b[24 + 127], 0);
  assert.equal(b[152 + 127], 0);
});

test('decodeState: every phase round-trips, both layouts', () => {
  for (const l of [layoutFor('x64', 'LE'), layoutFor('ia32', 'LE'), layoutFor('ppc64', 'BE')]) {
    for (const phase of Object.values(Phase)) {
      const s: TaskState = { pid: 31337, file: 'über.c', host: 'fe80::1', slot: 7, phase };
      assert.deepEqual(decodeState(encodeState(s, l), l), s);
    }
  }
});

test('decodeState: native layout by default', () => {
  const s: TaskState = {
    pid: process.pid,
    file: 'n.c',
    host: 'localhost',
    slot: 0,
    phase: Phase.COMPILE,
  };
  assert.equal(encodeState(s).length, STATE_SIZE);
  assert.deepEqual(decodeState(encodeState(s)), s);
});

test('decodeState: wrong length, magic or struct_size is rejected', () => {
  const l = layoutFor('x64', 'LE');
  const good = cStruct64({ cpid: 9, file: 'f.c', host: 'h', slot: 0, phase: 5 });
  assert.ok(decodeState(good, l));
  assert.equal(decodeState(good.subarray(0, 295), l), undefined);
  assert.equal(decodeState(Buffer.concat([good, Buffer.alloc(1)]), l), undefined);
  assert.equal(decodeState(Buffer.alloc(0), l), undefined);
  assert.equal(
    decodeState(
      cStruct64({ magic: 0x44494801, cpid: 9, file: 'f', host: 'h', slot: 0, phase: 5 }),
      l,
    ),
    undefined,
  );
  assert.equal(
    decodeState(cStruct64({ size: 280, cpid: 9, file: 'f', host: 'h', slot: 0, phase: 5 }), l),
    undefined,
  );
  // unsigned long magic: the high half must be zero too.
  const high = Buffer.from(good);
  high.writeUInt32LE(1, 12);
  assert.equal(decodeState(high, l), undefined);
  // a 32-bit struct is not a 64-bit one
  assert.equal(
    decodeState(cStruct32({ cpid: 9, file: 'f', host: 'h', slot: 0, phase: 5 }), l),
    undefined,
  );
});

test('decodeState: a phase past Done, or negative, reads as Compile (mon.c)', () => {
  const l = layoutFor('x64', 'LE');
  for (const raw of [8, 100, 0xffffffff]) {
    const got = decodeState(
      cStruct64({ cpid: 9, file: 'f.c', host: 'h', slot: -1, phase: raw }),
      l,
    );
    assert.deepEqual(got, { pid: 9, file: 'f.c', host: 'h', slot: -1, phase: Phase.COMPILE });
  }
});

test('decodeState: names without a NUL stop at 127 bytes (mon.c)', () => {
  const l = layoutFor('x64', 'LE');
  const b = cStruct64({ cpid: 9, file: '', host: '', slot: 0, phase: 5 });
  b.fill(0x61, 24, 152);
  b.fill(0x62, 152, 280);
  const got = decodeState(b, l);
  assert.equal(got?.file, 'a'.repeat(127));
  assert.equal(got?.host, 'b'.repeat(127));
});

test('formatStateLine: printf("%6ld  %-10.10s  %-30.30s %24.24s[%d]")', () => {
  assert.equal(
    formatStateLine({ pid: 123, file: 'hello.c', host: 'build1', slot: 2, phase: Phase.COMPILE }),
    '   123  Compile     hello.c                                          build1[2]',
  );
  assert.equal(
    formatStateLine({
      pid: 1234567,
      file: 'x'.repeat(40),
      host: 'y'.repeat(30),
      slot: -1,
      phase: Phase.CPP,
    }),
    `1234567  Preprocess  ${'x'.repeat(30)} ${'y'.repeat(24)}[-1]`,
  );
  assert.equal(
    formatStateLine({ pid: 1, file: '', host: '', slot: 0, phase: Phase.STARTUP }),
    `     1  Startup     ${' '.repeat(30)} ${' '.repeat(24)}[0]`,
  );
});

test('formatStates: Done entries are left out, a blank line ends the poll', () => {
  const a: TaskState = { pid: 1, file: 'a.c', host: 'h', slot: 0, phase: Phase.SEND };
  const d: TaskState = { pid: 2, file: 'd.c', host: 'h', slot: 1, phase: Phase.DONE };
  assert.equal(formatStates([]), '\n');
  assert.equal(formatStates([a, d]), `${formatStateLine(a)}\n\n`);
});

// ---- StateFile --------------------------------------------------------------

test('StateFile: creates <dir>/state/binstate_<pid>, mode 0666 & ~umask', () => {
  const dir = freshDir();
  const f = new StateFile(dir, 4321);
  assert.equal(f.path, join(dir, 'state', 'binstate_4321'));
  f.write({ file: '/src/a.c', host: 'h1', slot: 1, phase: Phase.CONNECT });
  const umask = parseInt(execFileSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).trim(), 8);
  assert.equal(statSync(f.path).mode & 0o777, 0o666 & ~umask);
  assert.deepEqual(decodeState(readFileSync(f.path)), {
    pid: 4321,
    file: 'a.c',
    host: 'h1',
    slot: 1,
    phase: Phase.CONNECT,
  });
});

test('StateFile: each write replaces the struct; pid defaults to ours; remove is idempotent', () => {
  const dir = freshDir();
  const f = new StateFile(dir);
  assert.equal(f.path, join(dir, 'state', `binstate_${process.pid}`));
  f.write({
    file: 'a-very-long-name-indeed.c',
    host: 'a-long-host-name',
    slot: 3,
    phase: Phase.SEND,
  });
  f.write({ file: 'b.c', host: 'h', slot: 0, phase: Phase.RECEIVE });
  const bytes = readFileSync(f.path);
  assert.equal(bytes.length, STATE_SIZE);
  assert.deepEqual(decodeState(bytes), {
    pid: process.pid,
    file: 'b.c',
    host: 'h',
    slot: 0,
    phase: Phase.RECEIVE,
  });
  f.remove();
  assert.equal(existsSync(f.path), false);
  f.remove();
});

test('StateFile: a state directory removed meanwhile is made again', () => {
  const dir = freshDir();
  const f = new StateFile(dir, 99);
  f.write({ file: 'a.c', host: 'h', slot: 0, phase: Phase.CPP });
  rmSync(join(dir, 'state'), { recursive: true });
  f.write({ file: 'a.c', host: 'h', slot: 0, phase: Phase.COMPILE });
  assert.equal(decodeState(readFileSync(f.path))?.phase, Phase.COMPILE);
});

test('StateFile: a DISTCC_DIR that is gone is not made again (state/ is, one level, as distcc)', () => {
  const dir = join(freshDir(), 'missing');
  const f = new StateFile(dir, 4321);
  assert.throws(() => f.write({ file: 'a.c', host: 'h1', slot: 1, phase: Phase.CONNECT }), {
    exitCode: 107,
  });
  assert.equal(existsSync(dir), false);
});

test('StateFile: an unwritable place is an I/O error (exit 107) naming the file', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'state'), 'not a directory');
  const f = new StateFile(dir, 5);
  assert.throws(() => f.write({ file: 'a.c', host: 'h', slot: 0, phase: Phase.CPP }), {
    name: 'TsdistccError',
    exitCode: 107,
    message: `cannot write monitor state file ${f.path}`,
  });
});

// ---- readers: ours against distccmon-text ------------------------------------

test('readStates: no state directory is no jobs', () => {
  assert.deepEqual(readStates(join(freshDir(), 'nothing')), []);
});

test('distccmon-text prints each phase as formatStateLine does', (t) => {
  if (noMonText) return t.skip(noMonText);
  const dir = freshDir();
  const pid = livePid(0);
  for (const phase of Object.values(Phase)) {
    const s: TaskState = { pid, file: '/work/src/hello.c', host: 'build1', slot: 2, phase };
    put(dir, s);
    const want = { ...s, file: 'hello.c' };
    // Done is never printed, whatever the pid.
    const lines = phase === Phase.DONE ? '' : `${formatStateLine(want)}\n`;
    assert.equal(monText(dir), `${lines}\n`, `phase ${phase}`);
    assert.deepEqual(readStates(dir), [want]);
  }
});

test('distccmon-text cuts long names as formatStateLine does', (t) => {
  if (noMonText) return t.skip(noMonText);
  const dir = freshDir();
  const cases: Omit<TaskState, 'pid'>[] = [
    {
      file: `${'long_'.repeat(40)}.c`,
      host: `${'very-long-host-name.'.repeat(3)}example`,
      slot: 0,
      phase: Phase.SEND,
    },
    // 30 bytes end inside a two-byte character; both sides cut the same bytes.
    { file: `x${'ñ'.repeat(20)}.c`, host: `ü${'h'.repeat(30)}`, slot: 12345, phase: Phase.COMPILE },
  ];
  for (const c of cases) {
    const s: TaskState = { ...c, pid: livePid(1) };
    put(dir, s);
    const got = monText(dir);
    assert.equal(got, `${formatStateLine(s)}\n\n`);
    assert.equal(got, formatStates(readStates(dir)));
  }
});

test('distccmon-text and readStates sort by host (strcmp) then slot', (t) => {
  if (noMonText) return t.skip(noMonText);
  const dir = freshDir();
  const jobs: TaskState[] = [
    { pid: livePid(0), file: 'zeta.c', host: 'zeta', slot: 0, phase: Phase.COMPILE },
    { pid: livePid(1), file: 'a3.c', host: 'alpha', slot: 3, phase: Phase.SEND },
    { pid: livePid(2), file: 'a1.c', host: 'alpha', slot: 1, phase: Phase.CONNECT },
    // strcmp: 'B' (0x42) sorts before 'a'
    { pid: livePid(3), file: 'b.c', host: 'Beta', slot: 9, phase: Phase.RECEIVE },
  ];
  for (const j of jobs) put(dir, j);
  const sorted = [jobs[3]!, jobs[2]!, jobs[1]!, jobs[0]!];
  assert.deepEqual(readStates(dir), sorted);
  assert.equal(monText(dir), sorted.map((s) => `${formatStateLine(s)}\n`).join('') + '\n');
});

test('a state file 61 s old is dropped and unlinked by both readers', (t) => {
  if (noMonText) return t.skip(noMonText);
  const live: TaskState = {
    pid: livePid(0),
    file: 'fresh.c',
    host: 'h',
    slot: 0,
    phase: Phase.COMPILE,
  };
  const stale: TaskState = {
    pid: livePid(1),
    file: 'stale.c',
    host: 'h',
    slot: 1,
    phase: Phase.COMPILE,
  };
  for (const reader of ['distccmon-text', 'readStates'] as const) {
    const dir = freshDir();
    put(dir, live);
    const path = put(dir, stale);
    makeStale(path);
    if (reader === 'distccmon-text') assert.equal(monText(dir), `${formatStateLine(live)}\n\n`);
    else assert.deepEqual(readStates(dir), [live]);
    assert.equal(existsSync(path), false, `${reader} left the stale file`);
  }
});

test('readStates: staleness is counted in whole seconds from `now`', () => {
  const dir = freshDir();
  const s: TaskState = { pid: livePid(0), file: 'a.c', host: 'h', slot: 0, phase: Phase.CPP };
  const path = put(dir, s);
  const mtime = Math.floor(statSync(path).mtimeMs / 1000) * 1000;
  assert.deepEqual(readStates(dir, mtime + 60_999), [s]);
  assert.ok(existsSync(path));
  assert.deepEqual(readStates(dir, mtime + 61_000), []);
  assert.equal(existsSync(path), false);
});

test('a dead pid is skipped by both readers, its file left alone; Done is not checked', (t) => {
  if (noMonText) return t.skip(noMonText);
  const dir = freshDir();
  const dead = deadPid();
  const path = put(dir, { pid: dead, file: 'dead.c', host: 'h', slot: 0, phase: Phase.COMPILE });
  assert.equal(monText(dir), '\n');
  assert.deepEqual(readStates(dir), []);
  assert.ok(existsSync(path));
  // mon.c lists a Done job without asking whether its pid lives; mon-text hides it.
  const done: TaskState = { pid: dead, file: 'dead.c', host: 'h', slot: 0, phase: Phase.DONE };
  put(dir, done);
  assert.equal(monText(dir), '\n');
  assert.deepEqual(readStates(dir), [done]);
});

test('a pid we may not signal (init; EPERM unless root) counts as alive', (t) => {
  if (noMonText) return t.skip(noMonText);
  const dir = freshDir();
  const s: TaskState = { pid: 1, file: 'init.c', host: 'h', slot: 0, phase: Phase.SEND };
  put(dir, s);
  assert.equal(monText(dir), `${formatStateLine(s)}\n\n`);
  assert.deepEqual(readStates(dir), [s]);
});

/** The same mixed directory, made afresh for each reader (both unlink). */
function mixedDir(): { dir: string; kept: string[] } {
  const dir = freshDir();
  const state = join(dir, 'state');
  const l = layoutFor('x64', 'LE');
  const alive: TaskState[] = [
    { pid: livePid(0), file: 'one.c', host: 'node-b', slot: 1, phase: Phase.COMPILE },
    { pid: livePid(1), file: 'two.cc', host: 'node-a', slot: 0, phase: Phase.SEND },
    { pid: livePid(2), file: 'three.c', host: 'localhost', slot: 1, phase: Phase.CPP },
  ];
  for (const s of alive) put(dir, s);
  put(dir, { pid: livePid(3), file: 'done.c', host: 'node-a', slot: 2, phase: Phase.DONE });
  put(dir, { pid: deadPid(), file: 'dead.c', host: 'node-a', slot: 3, phase: Phase.RECEIVE });
  makeStale(put(dir, { pid: 1, file: 'old.c', host: 'node-c', slot: 0, phase: Phase.COMPILE }));
  const good = encodeState(
    { pid: 1, file: 'x.c', host: 'node-d', slot: 0, phase: Phase.COMPILE },
    l,
  );
  writeFileSync(join(state, 'binstate_short'), good.subarray(0, 100));
  writeFileSync(join(state, 'binstate_empty'), '');
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0x12345678, 8);
  writeFileSync(join(state, 'binstate_magic'), badMagic);
  // not named binstate_*: ignored even though it is a good struct
  writeFileSync(join(state, 'other_1'), good);
  // one read() of sizeof bytes: trailing bytes do not matter
  writeFileSync(join(state, 'binstate_long'), Buffer.concat([good, Buffer.from('trailing')]));
  mkdirSync(join(state, 'binstate_dir'));
  const kept = readdirSync(state).filter((n) => n !== 'binstate_1'); // the stale one
  return { dir, kept: kept.sort() };
}

test('readStates agrees with distccmon-text on a mixed directory', (t) => {
  if (noMonText) return t.skip(noMonText);
  if (x64) return t.skip(x64);
  const forMon = mixedDir();
  const forUs = mixedDir();
  const printed = monText(forMon.dir);
  const read = readStates(forUs.dir);
  assert.equal(formatStates(read), printed);
  assert.deepEqual(
    read.map((s) => `${s.host}[${s.slot}] ${s.file}`),
    [
      'localhost[1] three.c',
      'node-a[0] two.cc',
      'node-a[2] done.c',
      'node-b[1] one.c',
      'node-d[0] x.c',
    ],
  );
  // Both unlinked the stale file and nothing else.
  for (const m of [forMon, forUs]) {
    assert.deepEqual(readdirSync(join(m.dir, 'state')).sort(), m.kept);
  }
});
