// One launcher's connection to the agent. The launcher (bin/tsdistcc, bash)
// first makes the agent prove it is the agent of this user, then says who it
// is and what to run:
//   launcher: TSDISTCC-AGENT 2 NONCE\n
//   agent:    creates DIR/proof.TOKEN.NONCE (O_EXCL, 0600), answers proof\n
//   launcher: checks that file is its user's, then
//             TOKEN PID ARGC\0  and ARGC words, each NUL-terminated
// and then obeys commands, one line each, until `exit`:
//   out N\n BYTES      write N bytes to its stdout
//   err N\n BYTES      write N bytes to its stderr
//   cpp K\n WORDS      FILE PATH SAFEGUARD ARGV...: run ARGV with stdout into FILE
//                      (made by the agent), stdin /dev/null; answers `status CODE\n`
//   run K\n WORDS      PATH SAFEGUARD ARGV...: run ARGV as itself; answers `status CODE\n`
//   exit CODE\n        exit with CODE
// Compilers are the launcher's children, so they get its terminal, limits,
// process group and signals; the agent keeps slots, hosts and connections.
// The agent reads the launcher's environment and directory from /proc/PID,
// after checking the process belongs to the agent's own user.
//
// Why the proof, and why this one. The launcher finds the agent through a
// port in DIR/agent; when that agent is dead, any local user may be
// listening on the port, and a launcher that spoke first would hand it the
// token and then run its commands as its own user. So the launcher sends
// nothing but a fresh nonce ($SRANDOM: getrandom(2)) until the other end has
// done what only this user can do: create a file in DIR (mode 0700, the
// user's). The file's name holds the token the launcher read, so a stranger
// cannot relay the nonce to another agent of the user and pass that agent's
// proof off as the one the launcher asked for. The check is bash's `[[ -O ]]`,
// a builtin: no fork, no measurable cost. An agent that sent a secret first
// would give it to whoever connects; bash has no hash for a challenge and
// response; a Unix socket in DIR would need a helper program per call.
//
// The agent, for its part, reads at most a short line before the token is
// checked, and bounds what follows it (words and bytes): a stranger gets
// nothing from it and cannot make it hold more than a few hundred bytes.

import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Caller, ChildResult } from '../caller.js';
import { signalName } from '../caller.js';

export type LauncherRequest = { pid: number; argv: string[] };

export type LauncherMessage =
  { kind: 'hello'; nonce: string } | ({ kind: 'request' } & LauncherRequest);

const MAGIC = 'TSDISTCC-AGENT';
/** The longest line before the token has been checked. */
const MAX_LINE = 160;
/** After it: at most this many words and bytes (Linux's own ARG_MAX is far less). */
export const MAX_WORDS = 1 << 20;
export const MAX_ARGV_BYTES = 64 * 1024 * 1024;

/** The nonce the launcher sends: its pid and three $SRANDOM values. */
export const NONCE = /^\d{1,10}(?:-\d{1,10}){3}$/;

/**
 * Incremental parser of what a launcher sends: the hello, then (once the
 * agent has answered it) the request. The token is checked by `tokenOk` as
 * soon as its line is complete, before any word is read. Throws on anything
 * malformed, on a wrong token and on anything over the bounds.
 */
export class RequestReader {
  readonly #tokenOk: (token: string) => boolean;
  #chunks: Buffer[] = [];
  #state: 'hello' | 'header' | 'words' | 'done' = 'hello';
  #header: { pid: number; argc: number } | undefined;
  #words: string[] = [];
  #bytes = 0;

  constructor(tokenOk: (token: string) => boolean) {
    this.#tokenOk = tokenOk;
  }

  push(chunk: Buffer): LauncherMessage[] {
    if (this.#state === 'done') {
      if (chunk.length > 0) throw new Error('bytes after the request');
      return [];
    }
    this.#chunks.push(chunk);
    const out: LauncherMessage[] = [];
    for (;;) {
      const message = this.#next();
      if (message === undefined) break;
      if (message) out.push(message);
    }
    return out;
  }

  #buffer(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #line(end: number): string | undefined {
    const buf = this.#buffer();
    const nl = buf.indexOf(end);
    if (nl < 0) {
      if (buf.length > MAX_LINE) throw new Error('line too long');
      return undefined;
    }
    if (nl > MAX_LINE) throw new Error('line too long');
    this.#chunks = [buf.subarray(nl + 1)];
    return buf.subarray(0, nl).toString('latin1');
  }

  /** The next message, null for progress without one, undefined when more bytes are needed. */
  #next(): LauncherMessage | null | undefined {
    switch (this.#state) {
      case 'hello': {
        const line = this.#line(0x0a);
        if (line === undefined) return undefined;
        const [magic, version, nonce, ...rest] = line.split(' ');
        if (magic !== MAGIC || version !== '2' || rest.length > 0 || !NONCE.test(nonce ?? '')) {
          throw new Error('not a tsdistcc launcher');
        }
        this.#state = 'header';
        return { kind: 'hello', nonce: nonce! };
      }
      case 'header': {
        const line = this.#line(0);
        if (line === undefined) return undefined;
        const [token, pid, argc, ...rest] = line.split(' ');
        // The token first: nothing else of a stranger's is looked at.
        if (!this.#tokenOk(token ?? '')) throw new Error('wrong token');
        if (rest.length > 0 || !/^\d{1,10}$/.test(pid ?? '') || !/^\d{1,7}$/.test(argc ?? '')) {
          throw new Error('bad launcher header');
        }
        const n = Number(argc);
        if (n < 1 || n > MAX_WORDS) throw new Error(`bad word count ${n}`);
        this.#header = { pid: Number(pid), argc: n };
        this.#state = 'words';
        return null;
      }
      case 'words': {
        const header = this.#header!;
        if (this.#words.length === header.argc) {
          this.#state = 'done';
          if (this.#buffer().length > 0) throw new Error('bytes after the request');
          return { kind: 'request', pid: header.pid, argv: this.#words };
        }
        // Chunks are joined only once a word's end is in: a long word is not copied per chunk.
        const last = this.#chunks[this.#chunks.length - 1];
        if (!last || last.indexOf(0) < 0) {
          const pending = this.#chunks.reduce((n, c) => n + c.length, 0);
          if (this.#bytes + pending > MAX_ARGV_BYTES) throw new Error('command line too long');
          return undefined;
        }
        const buf = this.#buffer();
        const nul = buf.indexOf(0);
        this.#bytes += nul + 1;
        if (this.#bytes > MAX_ARGV_BYTES) throw new Error('command line too long');
        this.#words.push(buf.subarray(0, nul).toString('utf8'));
        this.#chunks = [buf.subarray(nul + 1)];
        return null;
      }
      case 'done':
        return undefined;
    }
  }
}

export function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The launcher's environment, directory and umask, if it is a process of this user. */
export function inspectLauncher(pid: number): {
  env: NodeJS.ProcessEnv;
  cwd: string;
  umask: number;
} {
  const proc = `/proc/${pid}`;
  if (statSync(proc).uid !== process.getuid?.()) {
    throw new Error(`process ${pid} belongs to another user`);
  }
  const env: NodeJS.ProcessEnv = {};
  for (const entry of readFileSync(`${proc}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const umask = /^Umask:\s*([0-7]+)$/m.exec(readFileSync(`${proc}/status`, 'utf8'));
  return { env, cwd: readlinkSync(`${proc}/cwd`), umask: umask ? parseInt(umask[1]!, 8) : 0o022 };
}

/** The launcher as a Caller: its stdio and children, through the socket. */
export function launcherCaller(
  socket: Socket,
  request: LauncherRequest,
  who: { env: NodeJS.ProcessEnv; cwd: string; umask: number },
): Caller & { finish: (code: number) => void } {
  const waiting: ((r: ChildResult) => void)[] = [];
  let closed = false;
  let lineBuf = '';
  const gone: ChildResult = { code: 0, signal: 'SIGHUP' };

  socket.on('data', (chunk: Buffer) => {
    lineBuf += chunk.toString('latin1');
    for (let nl = lineBuf.indexOf('\n'); nl >= 0; nl = lineBuf.indexOf('\n')) {
      const line = lineBuf.slice(0, nl);
      lineBuf = lineBuf.slice(nl + 1);
      const m = /^status (\d+)$/.exec(line);
      const resolve = waiting.shift();
      if (!m || !resolve) {
        socket.destroy();
        return;
      }
      const code = Number(m[1]);
      // bash reports a child killed by signal N as 128 + N.
      resolve(
        code > 128 && code < 128 + 65
          ? { code: 0, signal: signalName(code - 128) }
          : { code, signal: undefined },
      );
    }
  });
  socket.on('close', () => {
    closed = true;
    for (const resolve of waiting.splice(0)) resolve(gone);
  });

  const send = (parts: (string | Buffer)[]) => {
    if (!closed)
      socket.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
  };
  const bytes = (kind: string) => (data: Buffer | string) => {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length > 0) send([`${kind} ${buf.length}\n`, buf]);
  };
  const command = (kind: string, words: readonly string[]) =>
    new Promise<ChildResult>((resolve) => {
      if (closed) return resolve(gone);
      waiting.push(resolve);
      send([`${kind} ${words.length}\n`, ...words.map((w) => `${w}\0`)]);
    });

  return {
    pid: request.pid,
    ...who,
    stdout: bytes('out'),
    stderr: bytes('err'),
    run: (argv, childEnv) =>
      command('run', [childEnv.PATH ?? '', childEnv._DISTCC_SAFEGUARD ?? '', ...argv]),
    preprocess: (argv, childEnv, outFile) =>
      command('cpp', [outFile, childEnv.PATH ?? '', childEnv._DISTCC_SAFEGUARD ?? '', ...argv]),
    finish: (code) => {
      send([`exit ${code}\n`]);
      socket.end();
    },
  };
}
