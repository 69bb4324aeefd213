// A job's input file written as the body arrives (server/body-stream.ts),
// for a job whose compiler is not started early: the body goes to the job
// directory, not into the daemon's memory, while the request is read and
// while the job waits for a slot. Created new (O_EXCL, never through a
// link) and private (0600). Writes are synchronous: each is one piece off
// the socket or out of the LZO decoder (at most 256 KiB) into the page cache.

import { closeSync, constants, openSync } from 'node:fs';
import { writeAll } from '../system/write-all.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

export class InputSpool {
  #fd: number | undefined;
  #bytes = 0;
  #error: Error | undefined;

  /** Called after each write with the bytes written so far. */
  onWrite: (bytes: number) => void = () => {};

  constructor(path: string) {
    this.#fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Why writing failed (ENOSPC...), if it did: the job cannot run. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Always true: the file takes what it is given (or the error is kept). */
  write = (piece: Buffer): boolean => {
    if (this.#fd === undefined || this.#error) return true;
    try {
      writeAll(this.#fd, piece);
      this.#bytes += piece.length;
    } catch (err) {
      this.#error = err as Error;
      this.close();
    }
    this.onWrite(this.#bytes);
    return true;
  };

  whenDrained = (then: () => void): void => then();

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
