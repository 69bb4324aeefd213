// A protocol 0-2 body on its way from the socket to where it is used (an
// early-started compiler's pipe, or the job's input file) as it arrives:
// the daemon keeps no copy of it. A version 2 body is LZO and is decoded on
// the way, in bounded steps (protocol/lzo-stream.ts): decompression stops at
// --max-body-size, and a 2 MB "bomb" costs 2 MB of socket reads, not 511 MiB
// of memory.
//
// The connection pushes each raw piece and stops reading while `blocked`;
// `whenUnblocked` says when to read on. `finished()` resolves once every
// decoded byte is out, and rejects on a bad LZO stream.

import { ProtocolError } from '../errors.js';
import { LzoStreamDecoder } from '../protocol/lzo-stream.js';

/** Where a decoded body goes: write() false asks to wait for whenDrained(). */
export type BodyOutput = Readonly<{
  write: (piece: Buffer) => boolean;
  whenDrained: (then: () => void) => void;
}>;

export class BodyStream {
  readonly #out: BodyOutput;
  readonly #lzo: LzoStreamDecoder | undefined;
  /** Raw pieces that came while the decoder was paused. */
  #queue: Buffer[] = [];
  #blocked = false;
  #waiters: (() => void)[] = [];
  #error: Error | undefined;
  #ending = false;
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** The output asked to wait (write() said false). */
  #outFull = false;

  constructor(version: number, maxOutput: number, out: BodyOutput) {
    this.#out = out;
    if (version >= 2) {
      this.#lzo = new LzoStreamDecoder({
        maxOutput,
        sink: (piece) => {
          if (out.write(piece)) return true;
          this.#outFull = true;
          return false;
        },
      });
    }
  }

  /** Whether the connection should stop reading until whenUnblocked. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Takes the next raw piece off the socket. Never throws: an error shows in finished(). */
  push(piece: Buffer): void {
    if (this.#error) return;
    if (!this.#lzo) {
      let ok: boolean;
      try {
        ok = this.#out.write(piece);
      } catch (err) {
        this.#fail(err as Error);
        return;
      }
      if (!ok && !this.#blocked) {
        this.#block(() => this.#out.whenDrained(() => this.#unblock()));
      }
      return;
    }
    this.#queue.push(piece);
    if (!this.#blocked) this.#run();
  }

  whenUnblocked(then: () => void): void {
    if (!this.#blocked) then();
    else this.#waiters.push(then);
  }

  /** After the last push: resolves once all of the body is out. */
  finished(): Promise<void> {
    this.#ending = true;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
      this.#check();
    });
  }

  #block(wait: () => void): void {
    this.#blocked = true;
    wait();
  }

  #unblock(): void {
    this.#blocked = false;
    if (this.#lzo) this.#run();
    if (this.#blocked) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    this.#check();
  }

  /** Decodes queued pieces until done, or until it must wait. */
  #run(): void {
    const lzo = this.#lzo!;
    try {
      for (;;) {
        let ok: boolean;
        if (lzo.paused) ok = lzo.resume();
        else {
          const next = this.#queue.shift();
          if (next === undefined) break;
          ok = lzo.push(next);
        }
        if (ok) continue;
        if (this.#outFull) {
          this.#outFull = false;
          this.#block(() => this.#out.whenDrained(() => this.#unblock()));
        } else {
          // A call's output budget: let other connections run, then go on.
          this.#block(() => setImmediate(() => this.#unblock()));
        }
        return;
      }
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #fail(err: Error): void {
    this.#error ??=
      err instanceof ProtocolError ? err : new ProtocolError(`bad DOTI body: ${err.message}`);
    this.#queue = [];
    this.#blocked = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    this.#check();
  }

  #check(): void {
    const settle = this.#settle;
    if (!settle) return;
    if (this.#error) {
      this.#settle = undefined;
      settle.reject(this.#error);
      return;
    }
    if (!this.#ending || this.#blocked || this.#queue.length > 0) return;
    if (this.#lzo) {
      try {
        this.#lzo.end();
      } catch (err) {
        this.#fail(err as Error);
        return;
      }
    }
    this.#settle = undefined;
    settle.resolve();
  }
}
