// Incremental decoder of a server's reply, protocols 1 and 2 (distcc
// src/clirpc.c dcc_retrieve_results):
//   DONE ver, STAT wait-status, SERR len bytes, SOUT len bytes, DOTO len bytes
// Bodies stay in wire form (LZO for version 2); the caller decodes them. The
// DONE version must echo the request's. Any other token, a bad number, or
// bodies that together would pass the limit throw ProtocolError, as soon as
// the length that passes it is read. A body goes straight into a buffer of
// its declared length as it arrives: memory is what the server has sent,
// once, and never more than the limit.

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
  readonly #maxBodies: number;
  /** A partial token. */
  #tokenBuf = Buffer.alloc(TOKEN_LENGTH);
  #tokenHave = 0;
  /** The body being filled, and how much of it is in. */
  #body: Buffer | undefined;
  #bodyHave = 0;
  #total = 0;
  #step = 0;
  #values: number[] = [];
  #bodies: Buffer[] = [];
  #reply: WireReplyParts | undefined;

  /** `maxBodies`: the most bytes SERR, SOUT and DOTO may have together. */
  constructor(version: number, maxBodies = 512 * 1024 * 1024) {
    this.#version = version;
    this.#maxBodies = maxBodies;
  }

  /** The token the decoder waits for: for an EOF or timeout message. */
  get waitingFor(): string {
    return ORDER[this.#step] ?? 'nothing';
  }

  /** Body bytes announced so far: what the reply will hold in memory. */
  get announced(): number {
    return this.#total;
  }

  /** Takes the next chunk; returns the reply once complete. */
  push(chunk: Buffer): WireReplyParts | undefined {
    let at = 0;
    while (at < chunk.length || (this.#body && this.#bodyHave === this.#body.length)) {
      if (this.#reply) throw new ProtocolError('unexpected bytes after the reply');
      if (this.#body) {
        const n = Math.min(this.#body.length - this.#bodyHave, chunk.length - at);
        chunk.copy(this.#body, this.#bodyHave, at, at + n);
        this.#bodyHave += n;
        at += n;
        if (this.#bodyHave === this.#body.length) {
          this.#bodies.push(this.#body);
          this.#body = undefined;
          this.#next();
        }
        continue;
      }
      const n = Math.min(TOKEN_LENGTH - this.#tokenHave, chunk.length - at);
      chunk.copy(this.#tokenBuf, this.#tokenHave, at, at + n);
      this.#tokenHave += n;
      at += n;
      if (this.#tokenHave === TOKEN_LENGTH) {
        this.#tokenHave = 0;
        this.#token(this.#tokenBuf);
      }
    }
    return this.#reply;
  }

  #token(raw: Buffer): void {
    const expected = ORDER[this.#step]!;
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
    if (!HAS_BODY.has(expected)) return this.#next();
    this.#total += token.value;
    if (this.#total > this.#maxBodies) {
      throw new ProtocolError(
        `${expected} of ${token.value} bytes makes the reply's bodies ${this.#total} bytes, over the limit of ${this.#maxBodies}`,
      );
    }
    // allocUnsafe: pages are only touched (and resident) as the bytes come in.
    this.#body = Buffer.allocUnsafe(token.value);
    this.#bodyHave = 0;
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
