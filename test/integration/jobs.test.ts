// How compilers are run: as the unprivileged user, niced, in the job
// directory, stdin from /dev/null; how many at once; and big LZO bodies.
// Needs: gcc, Debian's distcc package.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRaw, exchange, runDistcc } from '../helpers/client.js';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { parseReply, request } from '../helpers/wire.js';
import { alive, pidWith, uniqueMark, until } from '../helpers/wait.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');
const isRoot = process.getuid?.() === 0;

test('the compiler runs niced by --nice, in its job directory with TMPDIR there too, stdin /dev/null, and (as root) not as root', async () => {
  const tmp = openTempDir('tsdistcc-probe-');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--nice', '7', ...WHITELIST], {
    TMPDIR: tmp,
  });
  try {
    const { reply } = await exchange(
      ts.port,
      request(1, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    const r = parseReply(reply);
    assert.equal(r.status, 0, r.stderr.toString());
    const probe = /probe: uid=(\d+) nice=(\d+) cwd=(\S+) tmpdir=(\S+) stdin=(\S+)/.exec(
      r.stderr.toString(),
    );
    assert.ok(probe, r.stderr.toString());
    // gcc's own temporary files (ccXXXX.s) then go with the job directory,
    // even when the compiler is killed before it can remove them.
    assert.equal(probe[4], probe[3]);
    const ownNice = Number(execFileSync('nice', { encoding: 'utf8' }));
    assert.equal(Number(probe[2]), Math.min(19, ownNice + 7));
    assert.ok(probe[3]!.startsWith(`${tmp}/tsdistccd_`), probe[3]);
    assert.equal(probe[5], '/dev/null');
    if (isRoot) assert.notEqual(Number(probe[1]), 0, 'the compiler ran as root');
  } finally {
    await ts.stop();
  }
});

test(
  '--user names the account compilers run as when started as root',
  { skip: !isRoot && 'needs root' },
  async () => {
    const ts = await startTsdistccd(['--allow', '127.0.0.1', '--user', 'nobody', ...WHITELIST]);
    try {
      const r = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
      const nobody = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
      assert.match(r.stderr.toString(), new RegExp(`probe: uid=${nobody} `));
      assert.match(ts.log(), /user nobody/);
    } finally {
      await ts.stop();
    }
  },
);

test(
  '--user root is refused: compilers never run as root',
  { skip: !isRoot && 'needs root' },
  async () => {
    const ts = startTsdistccd(['--allow', '127.0.0.1', '--user', 'root']);
    await assert.rejects(ts, /exited 112 at start:[^]*--user must not be root/);
  },
);

test('--jobs 1 --queue-limit 0: a second job while one runs is refused (REJ_OVERLOAD)', async () => {
  const mark = uniqueMark('hang');
  const ts = await startTsdistccd(
    ['--allow', '127.0.0.1', '--jobs', '1', '--queue-limit', '0', ...WHITELIST],
    {
      HANG_MARK: mark,
    },
  );
  const first = connect(ts.port, '127.0.0.1');
  try {
    first.on('error', () => {});
    first.write(request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source));
    await pidWith(mark);
    const second = await exchange(
      ts.port,
      request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(second.reply.length, 0);
    assert.notEqual(second.closedBy, 'timeout');
    await ts.waitForLog(/REJ_OVERLOAD/);
  } finally {
    first.destroy();
    await ts.stop();
  }
});

test('--jobs 1 with a queue: jobs wait for the slot and all get answers', async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--jobs', '1', ...WHITELIST]);
  try {
    const replies = await Promise.all(
      [1, 2, 3].map(() =>
        exchange(ts.port, request(2, ['slow-cc', '-c', 'x.c', '-o', 'x.o'], Buffer.alloc(0))),
      ),
    );
    for (const { reply } of replies) assert.equal(parseReply(reply).status, 0);
  } finally {
    await ts.stop();
  }
});

test('--lifetime stops the daemon by itself, exit 0', async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--lifetime', '1']);
  const code = await new Promise((resolve) => ts.child.once('exit', resolve));
  assert.equal(code, 0);
  assert.match(ts.log(), /--lifetime 1s over/);
});

test('IPv6: --listen ::1 --allow ::1 serves a client on ::1', async () => {
  const ts = await startTsdistccd(['--allow', '::1', '--listen', '::1']);
  try {
    const r = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = connect({ host: '::1', port: ts.port }, () =>
        s.write(request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source)),
      );
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', () => {});
    });
    assert.equal(parseReply(r).status, 0);
    await ts.waitForLog(/client: ::1:\d+ COMPILE_OK/);
  } finally {
    await ts.stop();
  }
});

test('an IPv4 client of a dual-stack listener (::ffff:127.0.0.1) matches --allow 127.0.0.1 and is logged as 127.0.0.1', async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--listen', '::']);
  try {
    const { reply } = await exchange(
      ts.port,
      request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(parseReply(reply).status, 0);
    await ts.waitForLog(/client: 127\.0\.0\.1:\d+ COMPILE_OK/);
    assert.doesNotMatch(ts.log(), /::ffff:/);
  } finally {
    await ts.stop();
  }
});

test('a large source with ,lzo (bodies coded in worker threads) gives the local object', async () => {
  const work = mkdtempSync(join(tmpdir(), 'tsdistcc-big-'));
  const fns = Array.from(
    { length: 6000 },
    (_, i) => `int f${i}(int x) { return x * ${i} + ${i % 7}; }`,
  ).join('\n');
  writeFileSync(join(work, 'big.c'), `${fns}\nint main(void) { return f5(1); }\n`);
  const ts = await startTsdistccd(['--allow', '127.0.0.1']);
  try {
    const run = await runDistcc(
      ['gcc', '-c', 'big.c', '-o', 'big.o'],
      `127.0.0.1:${ts.port},lzo`,
      work,
    );
    assert.equal(run.code, 0, run.stderr);
    await ts.waitForLog(/COMPILE_OK .* big\.c/);
    execFileSync('gcc', ['-E', 'big.c', '-o', 'big.i'], { cwd: work });
    assert.ok(
      readFileSync(join(work, 'big.i')).length > 128 * 1024,
      'the source must be over the inline limit',
    );
    execFileSync('gcc', ['-c', 'big.i', '-o', 'local.o'], { cwd: work });
    assert.deepEqual(readFileSync(join(work, 'big.o')), readFileSync(join(work, 'local.o')));
  } finally {
    await ts.stop();
  }
});

test('--no-launcher (the daemon forks compilers itself) compiles, reports exec failures and kills on disconnect', async () => {
  const mark = uniqueMark('hang');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--no-launcher', ...WHITELIST], {
    HANG_MARK: mark,
  });
  try {
    const ok = await compileRaw(ts.port, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.match(ok.stderr.toString(), /stdin=\/dev\/null/);
    const ghost = await compileRaw(ts.port, ['ghost-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(ghost.status, 110 << 8);
    assert.match(ghost.stderr.toString(), /failed to exec ghost-cc: No such file or directory/);
    const socket = connect(ts.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source));
    const pid = await pidWith(mark);
    socket.destroy();
    await ts.waitForLog(/CLI_DISCONN/);
    await until('the compiler outlived its client', () => !alive(pid));
  } finally {
    await ts.stop();
  }
});

/**
 * The daemon's launcher: its perl child, or, sandboxed, the perl process that
 * is the first of a process namespace of its own (its parent has left).
 */
/**
 * The launcher of a daemon: its perl child, or, sandboxed, the perl that is
 * PID 1 of its own namespace above `compiler` (one of its jobs). Found from
 * the job, not by scanning /proc: other daemons on the machine have
 * launchers too, and the sandboxed one is not the daemon's child.
 */
function launcherOf(daemonPid: number, sandboxed: boolean, compiler: number): number {
  if (!sandboxed) {
    return Number(
      execFileSync('pgrep', ['-P', String(daemonPid), 'perl'], { encoding: 'utf8' }).trim(),
    );
  }
  for (let pid = compiler; pid > 1;) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/) ?? [];
    if (/^Name:\s+perl$/m.test(status) && nspid.length === 2 && nspid[1] === '1') return pid;
    pid = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1] ?? 0);
  }
  assert.fail(`no sandboxed launcher above the compiler ${compiler}`);
}

for (const sandbox of ['none', 'auto']) {
  test(`--sandbox ${sandbox}: if the launcher dies, its job fails (exit 110), nothing of it is left, and the next job gets a new launcher`, async () => {
    const mark = uniqueMark('hang');
    const ts = await startTsdistccd(['--allow', '127.0.0.1', '--sandbox', sandbox, ...WHITELIST], {
      HANG_MARK: mark,
    });
    try {
      const pending = exchange(ts.port, request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source));
      const orphan = await pidWith(mark);
      process.kill(launcherOf(ts.child.pid!, sandbox !== 'none', orphan), 'SIGKILL');
      const r = parseReply((await pending).reply);
      assert.equal(r.status, 110 << 8);
      assert.match(r.stderr.toString(), /failed to exec hang-cc: the launcher process died/);
      await ts.waitForLog(/launcher exited/);
      await until('the compiler of the lost job was left running', () => !alive(orphan));
      const next = await compileRaw(
        ts.port,
        ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
        source,
      );
      assert.equal(next.status, 0);
    } finally {
      await ts.stop();
    }
  });
}

test('hundreds of idle connections do not keep a real client from being served; past --max-connections they are refused; idle ones time out', async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--max-connections', '300'], {
    DISTCC_IO_TIMEOUT: '2',
  });
  const idle: ReturnType<typeof connect>[] = [];
  try {
    for (let i = 0; i < 299; i++) {
      const s = connect(ts.port, '127.0.0.1');
      s.on('error', () => {});
      if (i % 2 === 0) s.write('DIST0000'); // half trickle a partial header
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const served = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
      source,
    );
    assert.equal(served.status, 0);
    assert.ok(Date.now() - started < 1500, 'the real client waited behind idle ones');
    // The 300 slots are full again once one more idles: the next is refused.
    const extra = connect(ts.port, '127.0.0.1');
    extra.on('error', () => {});
    idle.push(extra);
    await new Promise((r) => setTimeout(r, 200));
    const refused = await exchange(
      ts.port,
      request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(refused.reply.length, 0);
    await ts.waitForLog(/refused: 300 connections open, the --max-connections limit/);
    // After DISTCC_IO_TIMEOUT the idle ones are closed, and clients are served again.
    await ts.waitForLog(/timed out after 2s waiting for the request/, 8000);
    await new Promise((r) => setTimeout(r, 500));
    const again = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
      source,
    );
    assert.equal(again.status, 0);
  } finally {
    for (const s of idle) s.destroy();
    await ts.stop();
  }
});

test('a compiler killed by a signal is answered with that wait status, and the slot is freed', async () => {
  const ts = await startTsdistccd(['--allow', '127.0.0.1', '--jobs', '1', ...WHITELIST]);
  try {
    const crashed = await compileRaw(ts.port, ['crash-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(crashed.status & 0x7f, 11, `status ${crashed.status.toString(16)}`);
    assert.equal(crashed.object.length, 0);
    await ts.waitForLog(/COMPILE_ERROR exit:0 sig:11 .* crash-cc x\.c/);
    const next = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
      source,
    );
    assert.equal(next.status, 0);
  } finally {
    await ts.stop();
  }
});

test(
  'a full TMPDIR fails that job with a clear log line, leaves nothing behind, and the daemon carries on',
  { skip: !isRoot && 'mounting a tmpfs needs root' },
  async () => {
    const dir = openTempDir('tsdistcc-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=1777', 'tmpfs', dir]);
    try {
      // Fill it, leaving less than the source needs.
      writeFileSync(join(dir, 'filler'), Buffer.alloc(60 * 1024));
      const ts = await startTsdistccd(['--allow', '127.0.0.1'], { TMPDIR: dir });
      try {
        const big = Buffer.from(`# 1 "x.c"\n${'int x;\n'.repeat(3000)}`);
        const { reply, closedBy } = await exchange(
          ts.port,
          request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], big),
        );
        assert.equal(reply.length, 0, 'no reply: the client compiles locally');
        assert.notEqual(closedBy, 'timeout');
        await ts.waitForLog(/job failed inside tsdistccd: .*ENOSPC/);
        await until('no job directory left', () =>
          readdirSync(dir).every((n) => !n.startsWith('tsdistccd_')),
        );
        rmSync(join(dir, 'filler'));
        const ok = await compileRaw(
          ts.port,
          ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
          source,
        );
        assert.equal(ok.status, 0);
      } finally {
        await ts.stop();
      }
    } finally {
      execFileSync('umount', [dir]);
    }
  },
);

test('gcc gets -pipe (same object as a local gcc), not with --no-pipe; -save-temps is refused', async () => {
  const tmp = openTempDir('tsdistcc-pipe-');
  const on = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST], { TMPDIR: tmp });
  const off = await startTsdistccd(['--allow', '127.0.0.1', '--no-pipe', ...WHITELIST]);
  try {
    // No -g: the debug info would name the job directory as the compile's.
    const argv = ['argv-gcc', '-O2', '-c', 'x.c', '-o', 'x.o'];
    const piped = await compileRaw(on.port, argv, source);
    assert.equal(piped.status, 0, piped.stderr.toString());
    assert.match(piped.stderr.toString(), /^argv: -pipe -O2 -c /m);
    writeFileSync(join(tmp, 'x.i'), source);
    execFileSync('gcc', ['-O2', '-c', 'x.i', '-o', 'local.o'], { cwd: tmp });
    assert.ok(piped.object.equals(readFileSync(join(tmp, 'local.o'))), 'same object as local gcc');

    const plain = await compileRaw(off.port, argv, source);
    assert.match(plain.stderr.toString(), /^argv: -O2 -c /m);
    assert.ok(plain.object.equals(piped.object));

    // -save-temps (which -pipe would fight) writes beside the output: not a remote option.
    const saved = await exchange(
      on.port,
      request(1, ['argv-gcc', '-save-temps', '-c', 'x.c'], source),
    );
    assert.equal(saved.reply.length, 0);
    await on.waitForLog(/refused: argument `-save-temps` is not accepted for a remote compile/);
  } finally {
    await on.stop();
    await off.stop();
  }
});
