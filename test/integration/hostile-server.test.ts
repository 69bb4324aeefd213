// The client against a hostile server (issue 20, item 7): a raw TCP server
// on 127.0.0.1 that answers every request with crafted bytes — an LZO bomb,
// bodies whose lengths add up past the limit, a reply trickled a byte at a
// time — to the plain client and to the agent. The job must fail on that
// host like any protocol error, with a message that says why, fall back to
// a local compile whose object equals gcc's, and the client's memory must
// stay bounded (measured: /usr/bin/time for the plain client, VmHWM for the
// agent). And the object goes only to the -o path, never through what is
// there.
// Needs: gcc, /usr/bin/time, root for the device-node test.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lzoDecompress } from '../../src/protocol/lzo.js';
import { freshDistccDir } from '../helpers/daemon.js';
import { CLIENT_BIN } from '../helpers/paths.js';
import { tok } from '../helpers/wire.js';

const MiB = 1024 * 1024;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-hostile-'));
  writeFileSync(join(work, 'h.c'), 'int h(int x) { return x * 11; }\n');
  execFileSync('gcc', ['-O2', '-c', 'h.c', '-o', 'local.o'], { cwd: work });
});

/**
 * An LZO1X stream that decompresses to about `bytes` zero bytes at 255:1:
 * four literals, then M3 matches at distance 1 whose lengths are long runs
 * of zero extension bytes, then the end marker.
 */
function lzoBomb(bytes: number): Buffer {
  const zeros = 1 << 16;
  const match = Buffer.concat([
    Buffer.from([0x20]),
    Buffer.alloc(zeros),
    Buffer.from([0xff, 0, 0]),
  ]);
  const per = 31 + 255 * zeros + 255 + 2;
  const count = Math.ceil(bytes / per);
  return Buffer.concat([
    Buffer.from([0x11 + 4, 0, 0, 0, 0]),
    ...Array<Buffer>(count).fill(match),
    Buffer.from([0x11, 0, 0]),
  ]);
}

test('the LZO bomb is what it says: a valid stream, 255:1', () => {
  const bomb = lzoBomb(64 * MiB);
  const out = lzoDecompress(bomb, 128 * MiB);
  assert.ok(out.length >= 64 * MiB && out.length < 80 * MiB, `${out.length}`);
  assert.ok(out.every((b) => b === 0));
  assert.ok(out.length / bomb.length > 250);
});

type Hostile = { port: number; requests: () => number; close: () => Promise<void> };

/** A server that reads each request to its end (DOTI and its body), then lets `answer` write. */
async function hostileServer(answer: (socket: Socket) => void): Promise<Hostile> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const at = got.indexOf('DOTI');
      if (at < 0 || got.length < at + 12) return;
      const len = parseInt(got.subarray(at + 4, at + 12).toString(), 16);
      if (got.length < at + 12 + len) return;
      socket.off('data', onData);
      requests++;
      answer(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Writes `parts` with backpressure, the big ones in 1 MiB pieces, until done or closed. */
function send(socket: Socket, parts: (Buffer | { bytes: number })[]): void {
  const piece = Buffer.alloc(MiB, 'x');
  const queue = [...parts];
  let left = 0;
  const pump = (): void => {
    while (!socket.destroyed) {
      if (left === 0) {
        const next = queue.shift();
        if (!next) return;
        if (Buffer.isBuffer(next)) {
          if (!socket.write(next)) {
            socket.once('drain', pump);
            return;
          }
          continue;
        }
        left = next.bytes;
      }
      const n = Math.min(left, piece.length);
      left -= n;
      if (!socket.write(piece.subarray(0, n))) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const REPLIES = {
  /** 4 MB of LZO that would be a 1 GiB object. */
  'an LZO bomb': (socket: Socket) => {
    const bomb = lzoBomb(1024 * MiB);
    send(socket, [
      tok('DONE', 2),
      tok('STAT', 0),
      tok('SERR', 0),
      tok('SOUT', 0),
      tok('DOTO', bomb.length),
      bomb,
    ]);
  },
  /** 300 MiB of stdout and a 300 MiB object: each under 512 MiB, together over it. */
  'bodies over the limit together': (socket: Socket) =>
    send(socket, [
      tok('DONE', 1),
      tok('STAT', 0),
      tok('SERR', 0),
      tok('SOUT', 300 * MiB),
      { bytes: 300 * MiB },
      tok('DOTO', 300 * MiB),
      { bytes: 300 * MiB },
    ]),
  /** A well-formed start of a reply, one byte a second. */
  'a trickle': (socket: Socket) => {
    const bytes = Buffer.concat([
      tok('DONE', 1),
      tok('STAT', 0),
      tok('SERR', 0),
      tok('SOUT', 0),
      tok('DOTO', 100),
    ]);
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(bytes.subarray(i % bytes.length, (i % bytes.length) + 1));
      i++;
    }, 1000);
    socket.once('close', () => clearInterval(timer));
  },
} as const;

type Run = { code: number; stderr: string; maxRssKb: number; ms: number };

function baseEnv(port: number, version: 1 | 2, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DISTCC_HOSTS: `127.0.0.1:${port}${version === 2 ? ',lzo' : ''}`,
    DISTCC_DIR: freshDistccDir(),
    DISTCC_BACKOFF_PERIOD: '60',
    DISTCC_IO_TIMEOUT: '3',
    ...extra,
  };
}

/** The plain client under /usr/bin/time: exit code, stderr, peak RSS. */
function runPlain(env: NodeJS.ProcessEnv, out: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'MAXRSS %M', CLIENT_BIN, 'gcc', '-O2', '-c', 'h.c', '-o', out],
      { cwd: work, env: { ...env, TSDISTCC_AGENT: '0' }, timeout: 60_000, maxBuffer: 64 * MiB },
      (err, _stdout, stderr) => {
        const rss = /MAXRSS (\d+)/.exec(stderr);
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stderr,
          maxRssKb: Number(rss?.[1] ?? -1),
          ms: Date.now() - started,
        });
      },
    );
  });
}

/** Through a fresh agent: exit code, stderr, the agent's peak RSS. */
function runAgent(env: NodeJS.ProcessEnv, out: string): Promise<Run> {
  const runtime = mkdtempSync(join(tmpdir(), 'tsdistcc-rt-'));
  const agentFile = join(runtime, `tsdistcc-agent-${process.getuid?.() ?? 0}`, 'agent');
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      CLIENT_BIN,
      ['gcc', '-O2', '-c', 'h.c', '-o', out],
      {
        cwd: work,
        env: { ...env, XDG_RUNTIME_DIR: runtime },
        timeout: 60_000,
        maxBuffer: 64 * MiB,
      },
      (err, _stdout, stderr) => {
        let maxRssKb = -1;
        try {
          const pid = Number(readFileSync(agentFile, 'utf8').split(' ')[2]);
          const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
          maxRssKb = Number(m?.[1] ?? -1);
          process.kill(pid, 'SIGTERM');
        } catch {
          /* no agent: the plain client ran */
        }
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stderr,
          maxRssKb,
          ms: Date.now() - started,
        });
      },
    );
  });
}

function sameAsLocal(out: string): boolean {
  return (
    existsSync(join(work, out)) &&
    readFileSync(join(work, out)).equals(readFileSync(join(work, 'local.o')))
  );
}

const CASES: {
  reply: keyof typeof REPLIES;
  version: 1 | 2;
  message: RegExp;
  env?: NodeJS.ProcessEnv;
  rssMb: number;
}[] = [
  // The default limit (512 MiB): decoding stops there.
  {
    reply: 'an LZO bomb',
    version: 2,
    message: /decompresses to more than 536870912 bytes.*TSDISTCC_MAX_REPLY_SIZE/,
    rssMb: 1100,
  },
  // A lower limit bounds memory lower.
  {
    reply: 'an LZO bomb',
    version: 2,
    message: /decompresses to more than 16777216 bytes/,
    env: { TSDISTCC_MAX_REPLY_SIZE: '16M' },
    rssMb: 160,
  },
  {
    reply: 'bodies over the limit together',
    version: 1,
    message: /over the limit of 536870912/,
    rssMb: 500,
  },
  {
    reply: 'a trickle',
    version: 1,
    message: /DISTCC_IO_TIMEOUT bounds the whole reply/,
    rssMb: 160,
  },
];

for (const c of CASES) {
  for (const [how, run] of [
    ['plain', runPlain],
    ['agent', runAgent],
  ] as const) {
    const what = `${c.reply}${
      c.env
        ? ` (${Object.entries(c.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')})`
        : ''
    }`;
    test(`${how} client, ${what}: the job falls back and compiles here, memory bounded`, async (t) => {
      const server = await hostileServer(REPLIES[c.reply]);
      try {
        const out = `hostile-${how}.o`;
        const env = baseEnv(server.port, c.version, c.env ?? {});
        const r = await run(env, out);
        assert.equal(server.requests(), 1, 'the server got the job');
        assert.equal(r.code, 0, `exit ${r.code} after ${r.ms} ms: ${r.stderr}`);
        t.diagnostic(`peak RSS ${r.maxRssKb} kB, ${r.ms} ms`);
        assert.ok(r.maxRssKb > 0, 'memory measured');
        assert.ok(r.maxRssKb < c.rssMb * 1024, `peak RSS ${r.maxRssKb} kB, bound ${c.rssMb} MB`);
        assert.match(r.stderr, c.message);
        assert.match(
          r.stderr,
          /failed to distribute h\.c to 127\.0\.0\.1:\d+(,lzo)?, running locally instead/,
        );
        assert.ok(sameAsLocal(out), 'the object is the local compile');
        assert.ok(r.ms < 30_000, `${r.ms} ms`);
        // Backoff: the host is marked, as after any protocol error.
        const backoff = join(env.DISTCC_DIR!, 'lock', `backoff_tcp_127.0.0.1_${server.port}_0`);
        assert.ok(existsSync(backoff), 'the host is in backoff');
      } finally {
        await server.close();
      }
    });
  }
}

/** A server that compiles nothing but answers with `object` as a good object. */
function objectServer(object: Buffer): Promise<Hostile> {
  return hostileServer((socket) =>
    send(socket, [
      tok('DONE', 1),
      tok('STAT', 0),
      tok('SERR', 0),
      tok('SOUT', 0),
      tok('DOTO', object.length),
      object,
    ]),
  );
}

test(
  'the object goes to the -o path only: a device there stays a device',
  { skip: process.getuid?.() !== 0 ? 'needs root (mknod)' : false },
  async () => {
    const server = await objectServer(Buffer.from('not really an object'));
    try {
      const dev = join(work, 'null-device');
      execFileSync('mknod', [dev, 'c', '1', '3']);
      const r = await runPlain(baseEnv(server.port, 1, { DISTCC_FALLBACK: '0' }), dev);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(statSync(dev).isCharacterDevice(), '-o DEVICE is written into, not replaced');
    } finally {
      await server.close();
    }
  },
);
