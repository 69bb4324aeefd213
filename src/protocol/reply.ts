// The server's reply, protocols 1 and 2 (distcc src/serve.c dcc_run_job):
//   DONE ver, STAT wait-status, SERR, SOUT, DOTO
// Bodies are passed already in their wire form (see bodies.ts).

import { Token, encodeToken } from './token.js';

export type WireReply = {
  version: number;
  /** Unix wait status: exit code << 8 | signal. */
  status: number;
  stderr: Buffer;
  stdout: Buffer;
  /** Empty when the compile failed: the client then writes no object. */
  object: Buffer;
  /** Protocol 3 only: the .d file, sent after DOTO on success. */
  dependencies?: Buffer;
};

/** The reply as a list of buffers, for one writev. */
export function encodeReply(reply: WireReply): Buffer[] {
  const parts = [
    encodeToken(Token.DONE, reply.version),
    encodeToken(Token.STAT, reply.status),
    encodeToken(Token.SERR, reply.stderr.length),
    reply.stderr,
    encodeToken(Token.SOUT, reply.stdout.length),
    reply.stdout,
    encodeToken(Token.DOTO, reply.object.length),
    reply.object,
  ];
  if (reply.dependencies) {
    parts.push(encodeToken(Token.DOTD, reply.dependencies.length), reply.dependencies);
  }
  return parts.filter((p) => p.length > 0);
}

/** The wait status a process exiting with `code` (or killed by `signal`) has. */
export function waitStatus(code: number, signal = 0): number {
  return ((code & 0xff) << 8) | (signal & 0x7f);
}
