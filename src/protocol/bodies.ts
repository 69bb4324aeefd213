// Protocol bodies: plain for version 1, one raw LZO1X-1 block for version 2
// (distcc src/compress.c). An empty body is length 0 on the wire, never the
// three bytes LZO makes of nothing. Big bodies are coded in worker threads so
// one large job does not stall the other connections.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import { writeAll } from '../system/write-all.js';
import { lzoCompress, lzoDecompress } from './lzo.js';
import { LzoStreamDecoder } from './lzo-stream.js';
import type { LzoAnswer, LzoTask } from './lzo-worker.js';

/** Bodies up to this size are coded inline: a worker round trip costs more. */
export const INLINE_LIMIT = 128 * 1024;

type Pending = { resolve: (data: Buffer) => void; reject: (err: Error) => void };

class LzoPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #next = 0;
  readonly #size = Math.max(1, Math.min(4, availableParallelism()));

  run(op: LzoTask['op'], data: Uint8Array, maxOutput: number): Promise<Buffer> {
    const id = this.#nextId++;
    const worker = this.#worker();
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, op, data, maxOutput } satisfies LzoTask);
    });
  }

  #worker(): Worker {
    if (this.#workers.length < this.#size) {
      const worker = new Worker(new URL('./lzo-worker.js', import.meta.url));
      worker.on('message', (answer: LzoAnswer) => this.#settle(answer));
      worker.on('error', (err) => this.#failAll(err));
      worker.unref();
      this.#workers.push(worker);
      return worker;
    }
    const worker = this.#workers[this.#next++ % this.#workers.length]!;
    return worker;
  }

  #settle(answer: LzoAnswer): void {
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    if (this.#pending.size === 0) for (const w of this.#workers) w.unref();
    if ('error' in answer) pending.reject(new ProtocolError(answer.error));
    else
      pending.resolve(Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.length));
  }

  #failAll(err: Error): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(err);
    }
  }
}

let pool: LzoPool | undefined;

async function code(op: LzoTask['op'], data: Uint8Array, maxOutput: number): Promise<Buffer> {
  if (data.length <= INLINE_LIMIT) {
    try {
      return op === 'compress' ? lzoCompress(data) : lzoDecompress(data, maxOutput);
    } catch (err) {
      throw new ProtocolError((err as Error).message, { cause: err });
    }
  }
  pool ??= new LzoPool();
  return pool.run(op, data, maxOutput);
}

/** The wire form of a body for `version`: empty stays empty, v2+ is LZO. */
export async function encodeBody(version: number, data: Buffer): Promise<Buffer> {
  if (version < 2 || data.length === 0) return data;
  return code('compress', data, 0);
}

/** The plain bytes of a body received for `version`, at most `maxOutput` of them. */
export async function decodeBody(
  version: number,
  wire: Buffer,
  maxOutput: number,
): Promise<Buffer> {
  if (version < 2 || wire.length === 0) return wire;
  return code('decompress', wire, maxOutput);
}

/** Compressed bodies up to this size are decoded at once (they make at most 255 times as much). */
const AT_ONCE = 64 * 1024;

/**
 * Decodes an LZO body (a pump FILE) straight into the file `fd`, at most
 * `maxOutput` bytes, in bounded steps: a small body at once, a bigger one
 * piece by piece (protocol/lzo-stream.ts), so that what it expands to is
 * never held in memory. Resolves with the bytes written.
 */
export async function decodeBodyInto(fd: number, wire: Buffer, maxOutput: number): Promise<number> {
  if (wire.length === 0) return 0;
  if (wire.length <= AT_ONCE) {
    let data: Buffer;
    try {
      data = lzoDecompress(wire, maxOutput);
    } catch (err) {
      throw new ProtocolError((err as Error).message, { cause: err });
    }
    writeAll(fd, data);
    return data.length;
  }
  let written = 0;
  const lzo = new LzoStreamDecoder({
    maxOutput,
    sink: (piece) => {
      writeAll(fd, piece);
      written += piece.length;
      return true;
    },
  });
  try {
    // Between steps other connections run: a bomb's 511 MiB is 511 steps.
    let ok = lzo.push(wire);
    while (!ok) {
      await new Promise<void>((r) => setImmediate(r));
      ok = lzo.resume();
    }
    lzo.end();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new ProtocolError((err as Error).message, { cause: err });
  }
  return written;
}
