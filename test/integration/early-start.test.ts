// Early start: gcc is started once a request's arguments are in and reads
// the source from a pipe when it comes. Each test sends the arguments, then
// waits (as distcc's client does while it preprocesses), then the body.
// Needs: gcc, Debian's distcc package (its /usr/lib/distcc whitelist).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { pyLzoCompress, pyLzoDecompress } from '../helpers/python-lzo.js';
import { parseReply, request, type ParsedReply } from '../helpers/wire.js';
import { until } from '../helpers/wait.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const source = Buffer.from(
  '# 1 "e.c"\nstatic int t[64];\nint early(int x) { for (int i = 0; i < 64; i++) t[i] = i * x; return t[x & 63]; }\n',
);

/** A request split where the arguments end and the DOTI token begins. */
function split(version: number, argv: string[], body: Buffer): [Buffer, Buffer] {
  const whole = request(version, argv, body);
  const at = whole.length - body.length - 12;
  return [whole.subarray(0, at), whole.subarray(at)];
}

type Conversation = { socket: Socket; reply: Promise<Buffer> };

function open(port: number, head: Buffer): Promise<Conversation> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const reply = new Promise<Buffer>((done) => {
      socket.on('data', (d) => chunks.push(d));
      socket.on('close', () => done(Buffer.concat(chunks)));
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(head);
      resolve({ socket, reply });
    });
    socket.once('error', reject);
  });
}

function localObject(dir: string, flags: string[]): Buffer {
  writeFileSync(join(dir, 'e.i'), source);
  execFileSync('gcc', [...flags, '-c', 'e.i', '-o', 'local.o'], { cwd: dir });
  return readFileSync(join(dir, 'local.o'));
}

const jobDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('tsdistccd_'));

/** The job directories whose compiler has started: argv-gcc and gated-gcc touch `started` there. */
const startedIn = (tmp: string) => jobDirs(tmp).filter((d) => existsSync(join(tmp, d, 'started')));

/**
 * A daemon with the fixture compilers whitelisted and its own TMPDIR. The
 * compilers run in the sandbox, where their job directory is the one place
 * they can write: they mark their start there, and gated-gcc waits for a
 * `gate` there.
 */
async function daemon(...flags: string[]) {
  const tmp = openTempDir('tsdistcc-early-');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...flags, ...WHITELIST], {
    TMPDIR: tmp,
    ARGV_GCC_MARK: 'started',
    GATED_GCC_MARK: 'started',
    GATED_GCC_GATE: 'gate',
  });
  const started = () => startedIn(tmp).length > 0;
  const openGate = () => {
    for (const d of startedIn(tmp)) writeFileSync(join(tmp, d, 'gate'), '');
  };
  return { ts, tmp, started, openGate };
}

test('gcc starts before the source is in, reads it from a pipe, and gives the local object (protocol 1 and 2)', async () => {
  const { ts, tmp, started } = await daemon();
  try {
    const expected = localObject(tmp, ['-O2']);
    for (const version of [1, 2]) {
      await until('the last job directory is gone', () => !started());
      const body = version === 2 ? pyLzoCompress(source) : source;
      const [head, tail] = split(version, ['argv-gcc', '-O2', '-c', 'e.c', '-o', 'e.o'], body);
      const c = await open(ts.port, head);
      // The compiler runs while the "client" is still preprocessing.
      await until('the compiler started before the body was sent', started);
      await new Promise((r) => setTimeout(r, 200));
      c.socket.write(tail);
      const r = parseReply(await c.reply);
      assert.equal(r.status, 0, r.stderr.toString());
      assert.match(r.stderr.toString(), / -x cpp-output - .*stdin=fifo/);
      const object = version === 2 ? pyLzoDecompress(r.object) : r.object;
      assert.ok(object.equals(expected), `protocol ${version}: the object of a local gcc`);
    }
    await until('job directories removed', () => jobDirs(tmp).length === 0);
  } finally {
    await ts.stop();
  }
});

test('--no-early-start: gcc reads a file written after the source is in', async () => {
  const { ts, tmp } = await daemon('--no-early-start');
  try {
    const [head, tail] = split(1, ['argv-gcc', '-O2', '-c', 'e.c', '-o', 'e.o'], source);
    const c = await open(ts.port, head);
    await new Promise((r) => setTimeout(r, 100));
    c.socket.write(tail);
    const r = parseReply(await c.reply);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /argv: -pipe -O2 -c \S+\/input\.i -o \S+ stdin=other/);
    assert.ok(r.object.equals(localObject(tmp, ['-O2'])));
  } finally {
    await ts.stop();
  }
});

test('a client that leaves before its source: the started compiler is killed, nothing is left, the next job is served', async () => {
  const { ts, tmp, started } = await daemon();
  try {
    const [head] = split(1, ['argv-gcc', '-c', 'e.c', '-o', 'e.o'], source);
    const c = await open(ts.port, head);
    await until('the compiler started', started);
    c.socket.destroy();
    await until('job directory removed', () => jobDirs(tmp).length === 0);
    await until('no compiler left', () => !pgrepAny(tmp));
    assert.match(ts.log(), /closed the connection before a complete request/);

    const [h2, t2] = split(1, ['argv-gcc', '-O2', '-c', 'e.c', '-o', 'e.o'], source);
    const next = await open(ts.port, h2);
    next.socket.write(t2);
    const r: ParsedReply = parseReply(await next.reply);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(r.object.equals(localObject(tmp, ['-O2'])));
  } finally {
    await ts.stop();
  }
});

/** Whether a process still has `dir` in its command line. */
function pgrepAny(dir: string): boolean {
  try {
    execFileSync('pgrep', ['-f', dir]);
    return true;
  } catch {
    return false;
  }
}

test('a bad LZO body after an early start: refused without a reply, the compiler ended, nothing left', async () => {
  const { ts, tmp } = await daemon();
  try {
    const garbage = Buffer.alloc(300, 0xff);
    const [head, tail] = split(2, ['argv-gcc', '-c', 'e.c', '-o', 'e.o'], garbage);
    const c = await open(ts.port, head);
    await new Promise((r) => setTimeout(r, 200));
    c.socket.write(tail);
    assert.equal((await c.reply).length, 0, 'no reply');
    assert.match(ts.log(), /bad DOTI body/);
    await until('job directory removed', () => jobDirs(tmp).length === 0);
    await until('no compiler left', () => !pgrepAny(tmp));
  } finally {
    await ts.stop();
  }
});

test('--jobs 1: compilers started early wait for the slot before they get their source; all answers right', async () => {
  const { ts, tmp } = await daemon('--jobs', '1');
  try {
    const expected = localObject(tmp, ['-O2']);
    const heads = await Promise.all(
      [0, 1, 2].map(() =>
        open(ts.port, split(1, ['argv-gcc', '-O2', '-c', 'e.c', '-o', 'e.o'], source)[0]),
      ),
    );
    // Three command lines in, no source yet: one compiler (--jobs) starts
    // early and waits; the other two are not started.
    await until('a compiler started early', () => startedIn(tmp).length > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(startedIn(tmp).length, 1, 'compilers started while the sources were out');
    const tail = split(1, ['argv-gcc', '-O2', '-c', 'e.c', '-o', 'e.o'], source)[1];
    for (const c of heads) c.socket.write(tail);
    const stdins: string[] = [];
    for (const c of heads) {
      const r = parseReply(await c.reply);
      assert.equal(r.status, 0, r.stderr.toString());
      assert.ok(r.object.equals(expected));
      stdins.push(/ stdin=(\w+)/.exec(r.stderr.toString())?.[1] ?? 'none');
    }
    // At most --jobs waited started early (reading a FIFO); the others went
    // the usual way, started once their source was in.
    assert.deepEqual(stdins.sort(), ['fifo', 'other', 'other']);
    // The job line is written once the reply is out, maybe after the client has it.
    await until('three jobs logged', () => (ts.log().match(/COMPILE_OK/g) ?? []).length === 3);
    await until('job directories removed', () => jobDirs(tmp).length === 0);
  } finally {
    await ts.stop();
  }
});

test('a compile error and a compiler option gcc rejects come back as with a file', async () => {
  const { ts, tmp } = await daemon();
  try {
    const bad = Buffer.from('# 1 "bad.c"\nint f(void) { return x; }\n');
    const [h1, t1] = split(1, ['argv-gcc', '-c', 'bad.c', '-o', 'bad.o'], bad);
    const c1 = await open(ts.port, h1);
    await new Promise((r) => setTimeout(r, 100));
    c1.socket.write(t1);
    const r1 = parseReply(await c1.reply);
    assert.equal(r1.status >> 8, 1);
    writeFileSync(join(tmp, 'bad.i'), bad);
    const local = spawnSync('gcc', ['-c', 'bad.i', '-o', 'bad.o'], { cwd: tmp, encoding: 'utf8' });
    assert.match(local.stderr, /error: .x. undeclared/);
    assert.equal(
      r1.stderr.toString().replace(/^argv: .*\n/, ''),
      local.stderr,
      "gcc's own message",
    );

    const [h2, t2] = split(1, ['argv-gcc', '-fno-such-option', '-c', 'e.c', '-o', 'e.o'], source);
    const c2 = await open(ts.port, h2);
    await new Promise((r) => setTimeout(r, 300));
    c2.socket.write(t2);
    const r2 = parseReply(await c2.reply);
    assert.equal(r2.status >> 8, 1);
    assert.match(r2.stderr.toString(), /unrecognized command-line option .-fno-such-option./);
    await until('job directories removed', () => jobDirs(tmp).length === 0);
  } finally {
    await ts.stop();
  }
});

test('a 2 MB source sent in pieces streams into the started compiler: the local object', async () => {
  const { ts, tmp } = await daemon();
  try {
    // One big initialized array: 2 MB of source that gcc compiles in a moment.
    const numbers = Array.from({ length: 300_000 }, (_, i) => String((i * 7919) % 100_003));
    const big = Buffer.from(
      `# 1 "big.c"\nconst int table[] = {\n${numbers.join(',\n')}\n};\nint pick(int i) { return table[i]; }\n`,
    );
    assert.ok(big.length > 2_000_000);
    const [head, tail] = split(1, ['argv-gcc', '-O0', '-c', 'big.c', '-o', 'big.o'], big);
    const c = await open(ts.port, head);
    await new Promise((r) => setTimeout(r, 100));
    for (let at = 0; at < tail.length; at += 256 * 1024) {
      c.socket.write(tail.subarray(at, at + 256 * 1024));
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = parseReply(await c.reply);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), / -x cpp-output - .*stdin=fifo/);
    writeFileSync(join(tmp, 'big.i'), big);
    execFileSync('gcc', ['-O0', '-c', 'big.i', '-o', 'big-local.o'], { cwd: tmp });
    assert.ok(r.object.equals(readFileSync(join(tmp, 'big-local.o'))), 'the object of a local gcc');
    await until('job directories removed', () => jobDirs(tmp).length === 0);
  } finally {
    await ts.stop();
  }
});

test('a compiler slow to read: the daemon stops reading the source, which waits in the socket, and the object is right', async () => {
  const { ts, tmp, started, openGate } = await daemon();
  try {
    // 64 MB, nearly all one comment (gcc skips it fast; blank lines take it
    // seconds): more than loopback's socket buffers (32 MB + 4 MB at most
    // here) and the pipe (1 MB) hold, so the client can only hand all of it
    // over if the daemon keeps what the compiler does not read.
    const code = Buffer.from('# 1 "slow.c"\nint slow(void) { return 42; }\n/*');
    const big = Buffer.alloc(64 * 1024 * 1024, 0x78);
    code.copy(big);
    big.write('*/\n', big.length - 3);
    const [head, tail] = split(1, ['gated-gcc', '-c', 'slow.c', '-o', 'slow.o'], big);
    const c = await open(ts.port, head);
    await until('the compiler started', started);
    c.socket.write(tail);
    // Whatever the daemon reads, it can only keep: the compiler reads nothing.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(
      c.socket.writableLength > 16 * 1024 * 1024,
      `the client still holds most of the source (${c.socket.writableLength} bytes unsent)`,
    );
    openGate();
    const r = parseReply(await c.reply);
    assert.equal(r.status, 0, r.stderr.toString());
    writeFileSync(join(tmp, 'slow.i'), big);
    execFileSync('gcc', ['-c', 'slow.i', '-o', 'slow-local.o'], { cwd: tmp });
    assert.ok(
      r.object.equals(readFileSync(join(tmp, 'slow-local.o'))),
      'the object of a local gcc',
    );
    await until('job directories removed', () => jobDirs(tmp).length === 0);
  } finally {
    await ts.stop();
  }
});
