// One launcher's connection to the agent. The launcher (bin/tsdistcc, bash)
// sends who it is and its command line:
//   TSDISTCC-AGENT 1 TOKEN PID ARGC\n  then ARGC words, each NUL-terminated
// and then obeys commands, one line each, until `exit`:
//   out N\n BYTES      write N bytes to its stdout
//   err N\n BYTES      write N bytes to its stderr
//   cpp K\n WORDS      FILE PATH SAFEGUARD ARGV...: run ARGV with stdout into FILE,
//                      stdin /dev/null; answers `status CODE\n`
//   run K\n WORDS      PATH SAFEGUARD ARGV...: run ARGV as itself; answers `status CODE\n`
//   exit CODE\n        exit with CODE
// Compilers are the launcher's children, so they get its terminal, limits,
// process group and signals; the agent keeps slots, hosts and connections.
// The agent reads the launcher's environment and directory from /proc/PID,
// after checking the process belongs to the agent's own user.

import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Caller, ChildResult } from '../caller.js';
import { signalName } from '../caller.js';

export type LauncherRequest = { pid: number; argv: string[] };

const MAGIC = 'TSDISTCC-AGENT';
const MAX_HEADER = 64 * 1024 * 1024;

/** Incremental parser of the request; throws on anything malformed. */
export class RequestReader {
  #buf: Buffer = Buffer.alloc(0);
  #header: { token: string; pid: number; argc: number } | undefined;
  #words: string[] = [];

  push(chunk: Buffer): (LauncherRequest & { token: string }) | undefined {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    if (this.#buf.length > MAX_HEADER) throw new Error('request too large');
    if (!this.#header) {
      const nl = this.#buf.indexOf(0x0a);
      if (nl < 0) return undefined;
      const fields = this.#buf.subarray(0, nl).toString('utf8').split(' ');
      this.#buf = this.#buf.subarray(nl + 1);
      const [magic, version, token, pid, argc] = fields;
      if (magic !== MAGIC || version !== '1' || fields.length !== 5) {
        throw new Error('not a tsdistcc launcher');
      }
      const n = Number(argc);
      if (!/^\d+$/.test(pid ?? '') || !(n >= 1)) throw new Error('bad launcher header');
      this.#header = { token: token!, pid: Number(pid), argc: n };
    }
    for (;;) {
      if (this.#words.length === this.#header.argc) {
        const { token, pid } = this.#header;
        return { token, pid, argv: this.#words };
      }
      const nul = this.#buf.indexOf(0);
      if (nul < 0) return undefined;
      this.#words.push(this.#buf.subarray(0, nul).toString('utf8'));
      this.#buf = this.#buf.subarray(nul + 1);
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
