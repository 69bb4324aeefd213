// Incremental decoder of a server's reply, protocols 1 and 2 (distcc
// src/clirpc.c dcc_retrieve_results):
//   DONE ver, STAT wait-status, SERR len bytes, SOUT len bytes, DOTO len bytes
// Bodies stay in wire form (LZO for version 2); the caller decodes them. The
// DONE version must echo the request's. Any other token, a bad number or a
// body over the limit throws ProtocolError.

import { ProtocolError } from '../errors.js';
import { TOKEN_LENGTH, Token, decodeToken } from './token.js';

export type WireReplyParts = {
  version: number;
  status: number;
  stderr: Buffer;
  stdout: Buffer;
  object: Buffer;
};

const ORDER = [Token.DONE, Token.STAT, Token.SERR, Token.SOUT, Token.DOTO] as const;
const HAS_BODY = new Set<string>([Token.SERR, Token.SOUT, Token.DOTO]);

export class ReplyDecoder {
  readonly #version: number;
  readonly #maxBody: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #step = 0;
  #bodyLength = -1;
  #values: number[] = [];
  #bodies: Buffer[] = [];
  #reply: WireReplyParts | undefined;

  constructor(version: number, maxBody = 512 * 1024 * 1024) {
    this.#version = version;
    this.#maxBody = maxBody;
  }

  /** The token the decoder waits for: for an EOF or timeout message. */
  get waitingFor(): string {
    return ORDER[this.#step] ?? 'nothing';
  }

  /** Takes the next chunk; returns the reply once complete. */
  push(chunk: Buffer): WireReplyParts | undefined {
    if (this.#reply) {
      if (chunk.length > 0) throw new ProtocolError('unexpected bytes after the reply');
      return this.#reply;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (!this.#reply && this.#advance()) {
      /* take every complete item */
    }
    return this.#reply;
  }

  #take(n: number): Buffer | undefined {
    if (this.#buffered < n) return undefined;
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = all.length > n ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return all.subarray(0, n);
  }

  #advance(): boolean {
    const expected = ORDER[this.#step]!;
    if (this.#bodyLength >= 0) {
      const body = this.#take(this.#bodyLength);
      if (!body) return false;
      this.#bodies.push(Buffer.from(body));
      this.#bodyLength = -1;
      this.#next();
      return true;
    }
    const raw = this.#take(TOKEN_LENGTH);
    if (!raw) return false;
    const token = decodeToken(raw, 0);
    if (!token || token.name !== expected) {
      throw new ProtocolError(
        `expected ${expected} from the server, got \`${raw.toString('latin1').replace(/[^\x20-\x7e]/g, '?')}\``,
      );
    }
    if (expected === Token.DONE && token.value !== this.#version) {
      throw new ProtocolError(
        `the server answered protocol ${token.value} to a version ${this.#version} request`,
      );
    }
    this.#values.push(token.value);
    if (HAS_BODY.has(expected)) {
      if (token.value > this.#maxBody) {
        throw new ProtocolError(`${expected} of ${token.value} bytes is over the limit`);
      }
      this.#bodyLength = token.value;
      return true;
    }
    this.#next();
    return true;
  }

  #next(): void {
    this.#step++;
    if (this.#step < ORDER.length) return;
    this.#reply = {
      version: this.#values[0]!,
      status: this.#values[1]!,
      stderr: this.#bodies[0]!,
      stdout: this.#bodies[1]!,
      object: this.#bodies[2]!,
    };
  }
}
