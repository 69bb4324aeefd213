// Faults the daemon must ride out: a compiler that floods stderr, clients
// that leave during the upload or the reply, a daemon short of file
// descriptors, and a second SIGTERM. Each time: the right answer (or none),
// the slot freed, nothing left in TMPDIR, and the next job served.
// Needs: gcc, Debian's distcc package (its /usr/lib/distcc whitelist), prlimit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { compileRaw, exchange } from '../helpers/client.js';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { request } from '../helpers/wire.js';
import { alive, until } from '../helpers/wait.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');
const GCC = ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'];

async function withDaemon(
  args: string[],
  body: (ts: RunningDaemon, tmp: string) => Promise<void>,
  wrapper: string[] = [],
): Promise<void> {
  const tmp = openTempDir('tsdistcc-faults-');
  const ts = await startTsdistccd(
    ['--allow', '127.0.0.1', '--jobs', '1', ...WHITELIST, ...args],
    { TMPDIR: tmp },
    wrapper,
  );
  try {
    await body(ts, tmp);
  } finally {
    await ts.stop();
  }
}

const emptied = (tmp: string) => until('TMPDIR empty', () => readdirSync(tmp).length === 0, 15_000);

async function nextJobServed(ts: RunningDaemon): Promise<void> {
  const r = await compileRaw(ts.port, GCC, source);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(r.object.length > 0);
}

test('a compiler that writes 30 MB to stderr: all of it comes back, the object too', async () => {
  await withDaemon([], async (ts, tmp) => {
    const r = await compileRaw(ts.port, ['noisy-cc', '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0);
    assert.equal(r.stderr.length, 30 * 1024 * 1024);
    assert.ok(r.object.length > 0);
    await emptied(tmp);
    await nextJobServed(ts);
  });
});

test('a client that leaves during the upload: no compiler, nothing left, next job served', async () => {
  await withDaemon(['--log-level', 'info'], async (ts, tmp) => {
    const full = request(1, GCC, Buffer.concat([source, Buffer.alloc(1 << 20, 0x20)]));
    await new Promise<void>((resolve) => {
      const s = connect(ts.port, '127.0.0.1', () => {
        s.write(full.subarray(0, full.length >> 1), () => {
          s.destroy();
          resolve();
        });
      });
    });
    await ts.waitForLog(/127\.0\.0\.1:\d+ (?:disconnected|closed|EOF)[^\n]*/i);
    assert.doesNotMatch(ts.log(), /COMPILE_OK/);
    await emptied(tmp);
    await nextJobServed(ts);
  });
});

test('a client that leaves during a 30 MB reply: the daemon carries on, nothing left', async () => {
  await withDaemon([], async (ts, tmp) => {
    await new Promise<void>((resolve) => {
      const s: Socket = connect(ts.port, '127.0.0.1', () =>
        s.write(request(1, ['noisy-cc', '-c', 'x.c', '-o', 'x.o'], source)),
      );
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        // Well into SERR: leave without reading the rest.
        if (got > 256 * 1024) {
          s.destroy();
          resolve();
        }
      });
      s.on('error', () => resolve());
    });
    await emptied(tmp);
    await nextJobServed(ts);
    assert.ok(alive(ts.child.pid!));
  });
});

test('a small open-files limit: connections past what fits are refused with a log line, the daemon serves after', async () => {
  // The daemon under a limit of 100 open files (it needs ~50 idle), then 200 connections held open.
  await withDaemon(
    ['--max-connections', '1000'],
    async (ts, tmp) => {
      const held: Socket[] = [];
      await Promise.all(
        Array.from(
          { length: 200 },
          () =>
            new Promise<void>((resolve) => {
              const s = connect(ts.port, '127.0.0.1', () => resolve());
              s.on('error', () => resolve());
              s.on('close', () => resolve());
              held.push(s);
            }),
        ),
      );
      // While it is out of descriptors a compile may fail; the daemon must not.
      await exchange(ts.port, request(1, GCC, source), { timeoutMs: 5000 });
      assert.ok(alive(ts.child.pid!), 'still running');
      assert.match(ts.log(), /at most \d+ connections: the open-files limit is 100/);
      assert.match(ts.log(), /refused: \d+ connections open, the open-files limit/);
      for (const s of held) s.destroy();
      await until(
        'descriptors freed',
        () => readdirSync(`/proc/${ts.child.pid}/fd`).length < 70,
        15_000,
      );
      await nextJobServed(ts);
      await emptied(tmp);
    },
    ['prlimit', '--nofile=100:100', '--'],
  );
});

test('a second SIGTERM stops at once: the running compiler is killed, nothing left behind', async () => {
  await withDaemon(['--shutdown-grace', '60'], async (ts, tmp) => {
    const pending = exchange(ts.port, request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source));
    await until('the job runs', () => readdirSync(tmp).length > 0);
    const exited = new Promise<number | null>((resolve) => ts.child.once('exit', resolve));
    const started = Date.now();
    ts.child.kill('SIGTERM');
    await ts.waitForLog(/SIGTERM: no new jobs; waiting for 1 running/);
    ts.child.kill('SIGTERM');
    await exited;
    assert.ok(Date.now() - started < 10_000, 'did not wait for the grace period');
    // Cut off: the client gets no reply (and compiles locally).
    assert.equal((await pending).reply.length, 0);
    await emptied(tmp);
  });
});
