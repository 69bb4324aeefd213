// What requests can make the daemon hold (issue 20 item 4): attacks that
// used to take it down, all at once, while Debian's distcc client compiles
// through it. Before: 24 connections of maximal ARGV ran V8 out of heap,
// protocol-2 bodies were held whole (6 x 480 MiB, 2.9 GiB), a 2 MB LZO
// body expanded to 511 MiB in memory, and a byte every few seconds kept a
// connection (and a place under --max-connections) for ever.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { runDistcc } from '../helpers/client.js';
import { ROOT } from '../helpers/paths.js';
import { alive } from '../helpers/wait.js';
import { tok } from '../helpers/wire.js';

const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const MiB = 1024 * 1024;

/** The header of a request up to its DOTI token (`length` the body's claimed length). */
function header(version: number, argv: string[], length: number): Buffer {
  const parts = [tok('DIST', version), tok('ARGC', argv.length)];
  for (const a of argv) {
    const b = Buffer.from(a);
    parts.push(tok('ARGV', b.length), b);
  }
  parts.push(tok('DOTI', length));
  return Buffer.concat(parts);
}

/**
 * An LZO1X stream of `n` zero bytes in about n/255 bytes: one literal, one
 * match at distance 1 whose length is a run of zero bytes (255 each), the
 * end marker. What distcc's own decoder would expand without a bound.
 */
export function lzoBomb(n: number): Buffer {
  const rest = n - 1 - 2 - 31; // the match copies t + 2 bytes, t = 31 + 255 k + b
  const k = Math.floor((rest - 1) / 255);
  const b = rest - 255 * k;
  const buf = Buffer.alloc(2 + 1 + k + 1 + 2 + 3);
  buf[0] = 18; // a first literal run of 1
  buf[2] = 0x20; // M3, its length in the zero run that follows
  buf[3 + k] = b;
  buf[3 + k + 3] = 0x11; // end marker
  return buf;
}

/** An LZO1X stream that is one literal run of `data` (random data does not compress). */
function lzoLiterals(data: Buffer): Buffer {
  const t = data.length - 3 - 15; // a run of t + 18 literals, t = 255 k + b
  const k = Math.floor((t - 1) / 255);
  const b = t - 255 * k;
  return Buffer.concat([
    Buffer.alloc(1 + k), // 0: a literal run, its length in the zero run
    Buffer.from([b]),
    data,
    Buffer.from([0x11, 0, 0]),
  ]);
}

function open(port: number, sockets: Socket[]): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
    sockets.push(s);
  });
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n';

async function realClientCompiles(ts: RunningDaemon, work: string): Promise<void> {
  const run = await runDistcc(
    ['gcc', '-O2', '-c', 'hello.c', '-o', 'remote.o'],
    `127.0.0.1:${ts.port}`,
    work,
  );
  assert.equal(run.code, 0, `distcc failed: ${run.stderr}`);
  execFileSync('gcc', ['-O2', '-c', 'hello.c', '-o', 'local.o'], { cwd: work });
  assert.ok(
    readFileSync(join(work, 'remote.o')).equals(readFileSync(join(work, 'local.o'))),
    'the object of a local gcc',
  );
  await ts.waitForLog(/COMPILE_OK .* hello\.c/);
}

test('four attacks at once: the daemon stays under 512 MB and serves a real client', async () => {
  const tmp = openTempDir('tsdistcc-resources-');
  const work = openTempDir('tsdistcc-resources-work-');
  writeFileSync(join(work, 'hello.c'), HELLO);
  const ts = await startTsdistccd(
    ['--allow', '127.0.0.1', '--jobs', '2', '--max-connections', '64', ...WHITELIST],
    { TMPDIR: tmp },
  );
  const sockets: Socket[] = [];
  try {
    // Tricklers: a byte every 4 s each.
    const tricklers = await Promise.all(Array.from({ length: 30 }, () => open(ts.port, sockets)));
    const drip = setInterval(() => {
      for (const s of tricklers) if (!s.destroyed) s.write('D');
    }, 4000);
    try {
      await new Promise((r) => setTimeout(r, 2500));

      // 24 connections each sending 8 MiB of 64K arguments (of 4096 claimed).
      const arg = Buffer.alloc(64 * 1024, 'a');
      const argv = Buffer.concat([
        tok('DIST', 1),
        tok('ARGC', 4096),
        ...Array.from({ length: 128 }, () => [tok('ARGV', arg.length), arg]).flat(),
      ]);
      for (let i = 0; i < 24; i++) (await open(ts.port, sockets)).write(argv);

      // 6 protocol-2 bodies of 100 MiB, 90 % of each sent and held.
      const body = lzoLiterals(randomBytes(100 * MiB));
      for (let i = 0; i < 6; i++) {
        const s = await open(ts.port, sockets);
        s.write(header(2, ['clang', '-c', `big${i}.c`, '-o', `big${i}.o`], body.length));
        s.write(body.subarray(0, Math.floor(body.length * 0.9)));
      }

      // 6 LZO bombs: 2 MB each that would decode to 512 MiB + 64 KiB.
      const bomb = lzoBomb(512 * MiB + 64 * 1024);
      for (let i = 0; i < 6; i++) {
        const s = await open(ts.port, sockets);
        s.write(header(2, ['gcc', '-c', `bomb${i}.c`, '-o', `bomb${i}.o`], bomb.length));
        s.write(bomb);
      }

      // What was sent is in (or refused) by now; the attacks are still open.
      await new Promise((r) => setTimeout(r, 3000));
      // More tricklers, past --max-connections: the cap is full of them.
      tricklers.push(
        ...(await Promise.all(Array.from({ length: 40 }, () => open(ts.port, sockets)))),
      );
      await realClientCompiles(ts, work);
      assert.ok(alive(ts.child.pid!), 'the daemon is up');
      const peak = peakRss(ts.child.pid!);
      assert.ok(peak < 512 * MiB, `peak RSS ${Math.round(peak / MiB)} MiB`);
      // Each attack was stopped by its rule, with a line that says which.
      await ts.waitForLog(/over the limit of 2097152/, 30_000);
      await ts.waitForLog(/output overrun: stream decodes to more than maxOutput/, 30_000);
      await ts.waitForLog(
        /dropped: .*the --max-connections limit, and its request is the slowest/,
        30_000,
      );
    } finally {
      clearInterval(drip);
    }
  } finally {
    for (const s of sockets) s.destroy();
    await ts.stop();
  }
});

test('a request that trickles: the command line has its deadline, the whole request its own', async () => {
  const tmp = openTempDir('tsdistcc-resources-');
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST], {
    TMPDIR: tmp,
    DISTCC_IO_TIMEOUT: '3',
  });
  const sockets: Socket[] = [];
  try {
    // A byte a second: the idle timeout (3 s between pieces) never fires.
    const head = header(1, ['gcc', '-c', 'x.c', '-o', 'x.o'], 1000);
    const inHeader = await open(ts.port, sockets);
    const inBody = await open(ts.port, sockets);
    inBody.write(head);
    let at = 0;
    const drip = setInterval(() => {
      inHeader.write(head.subarray(at, at + 1));
      at++;
      inBody.write('x');
    }, 1000);
    try {
      await ts.waitForLog(
        /timed out after 3s waiting for the request: its command line must arrive within that/,
      );
      await ts.waitForLog(
        /timed out after \ds waiting for the request: \d+ bytes came, and a request may take DISTCC_IO_TIMEOUT \(3s\) and 1s per MiB/,
      );
      assert.ok(alive(ts.child.pid!), 'the daemon is up');
    } finally {
      clearInterval(drip);
    }
  } finally {
    for (const s of sockets) s.destroy();
    await ts.stop();
  }
});
