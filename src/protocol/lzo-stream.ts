// Streaming LZO1X decompressor: decodes one raw LZO1X block (a distcc protocol-2
// body, distcc src/compress.c) piece by piece as it arrives, in memory bounded
// by a fixed window whatever the sizes of the input and of the output.
//
//   const d = new LzoStreamDecoder({ maxOutput, sink: (piece) => pipe.write(piece) });
//   for each chunk off the socket:
//     if (!d.push(chunk)) { stop reading; later (after 'drain' or setImmediate)
//                           call d.resume() until it returns true; read on }
//   when the whole body has been pushed (and push/resume last returned true):
//     d.end();   // throws unless the end marker was reached
//
// Contract:
// - `sink(piece)` receives the output in order, called from within push() and
//   resume(); the last piece comes from the call that decodes the end marker
//   (end() only checks). Pieces are `pieceSize` bytes (default 256 KiB), the
//   last one shorter; an empty output gives no piece at all. A piece
//   is the consumer's to keep or even modify (hand it to a stream's write() as
//   is, no copy needed): it is a view of a window the decoder has let go of,
//   and it keeps that window's 48 KiB of history alive while it is held.
//   Returning false asks for a pause: the decoder stops right after that piece.
// - push(chunk) and resume() return true when all input given so far has been
//   used (push the next chunk, or call end()). They return false when the
//   decoder stopped on purpose: the sink asked for a pause, or the call made
//   `outputPerCall` bytes of output (default 1 MiB, so a bomb's 64 KiB chunk
//   that expands 255 times does not hold the event loop). Then call resume()
//   later, and only resume(), until it returns true (push() and end() throw
//   meanwhile). A paused decoder keeps a reference to the rest of the chunk
//   (no copy): don't modify a pushed chunk. The sink must not call the decoder.
//   resume() never returns false without having made output, so it always ends.
// - Memory: one window of 48 KiB of history plus one piece (304 KiB by
//   default), a new one per piece, and a reference to the current chunk. Long literal runs and matches are copied in bounded
//   steps; length-extension zero runs are counted as they arrive, never held.
// - Errors, with lzoDecompress's texts: output over `maxOutput` (thrown as
//   soon as an instruction's length is known to exceed it, even before its
//   zero run ends), a look-behind before the start of the output, bytes after
//   the end marker (at the push that brings them), a stream that ends before
//   its end marker (at end()). After any throw, including the sink's, the
//   decoder is dead and every call throws that error again.
//
// The decoding is lzo1x_decompress_safe's (see lzo.ts), as a resumable state
// machine: a fast loop decodes whole instructions while the chunk and the
// window have room for them, and a byte-at-a-time path takes over at a
// chunk's edge, at a window's end, or when the call's output budget runs out.

import { copyBytes, inputOverrun, outputOverrun } from './lzo.js';

/** Output kept behind the write point: LZO1X looks back at most 0xbfff bytes. */
const HISTORY = 0xc000;

export const DEFAULT_PIECE_SIZE = 256 * 1024;
export const DEFAULT_OUTPUT_PER_CALL = 1024 * 1024;

/** Receives each piece of output in order; false asks the decoder to pause. */
export type LzoSink = (piece: Buffer) => boolean;

export interface LzoStreamOptions {
  /** The most output bytes the stream may decode to; more is an error. */
  readonly maxOutput: number;
  readonly sink: LzoSink;
  /** Bytes per piece handed to the sink (default 256 KiB). */
  readonly pieceSize?: number;
  /** Output bytes one push() or resume() makes at most before pausing (default 1 MiB). */
  readonly outputPerCall?: number;
}

// Decoder states. The first three are instruction boundaries, where the
// fast loop may run; they differ in what an instruction byte < 16 means.
const S_TOP = 0; // a literal run or a match
const S_AFTER_LIT = 1; // after a literal run: < 16 is a 3-byte M1
const S_AFTER_TRAIL = 2; // after a match's trailing literals: < 16 is a 2-byte M1
const S_START = 3; // the stream's first byte, which may be a literal count
const S_LIT_EXT = 4; // zero bytes extending a literal run's length
const S_MATCH_EXT = 5; // zero bytes extending an M3 or M4 match's length
const S_DIST_LO = 6; // an M3 or M4's two distance bytes
const S_DIST_HI = 7;
const S_BYTE2 = 8; // an M2 or M1's second byte
const S_COPY_LIT = 9; // `len` literals to copy, then state `next`
const S_COPY_MATCH = 10; // `len` bytes to copy from `dist` back, then `trail` literals
const S_ENDED = 11; // the end marker was read; the last piece is not out yet
const S_DONE = 12;

// What the slow path tells the driver.
const R_BOUNDARY = 0; // at an instruction boundary: try the fast loop
const R_NEED_INPUT = 1;
const R_STOP = 2; // the sink asked for a pause, or the budget is spent

const EMPTY = Buffer.alloc(0);

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`lzo: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function lookBehindOverrun(dist: number, produced: number): Error {
  return new Error(
    `lzo: look-behind overrun: distance ${dist} at output offset ${produced} (corrupt stream)`,
  );
}

function afterEndMarker(n: number): Error {
  return new Error(`lzo: ${n} byte(s) of input after the end marker (corrupt stream)`);
}

/**
 * Copies a match of n bytes from dist back to out[op..]. An overlapping match
 * repeats its dist-byte pattern; long ones are copied in spans that double,
 * each a whole number of patterns long, so each span's source is written.
 */
function copyMatch(out: Buffer, op: number, dist: number, n: number): void {
  const from = op - dist;
  if (n <= 32) {
    for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
  } else if (dist >= n) {
    out.copyWithin(op, from, from + n);
  } else {
    let done = 0;
    while (done < n) {
      const span = Math.min(n - done, done + dist);
      out.copyWithin(op + done, from, from + span);
      done += span;
    }
  }
}

export class LzoStreamDecoder {
  readonly #maxOutput: number;
  readonly #sink: LzoSink;
  readonly #pieceSize: number;
  readonly #outputPerCall: number;

  // The window: out[pieceStart, op) is output not yet handed to the sink,
  // out[low, pieceStart) the history before it. `emitted` is the number of
  // output bytes before out[pieceStart].
  #out: Buffer;
  #op = 0;
  #low = 0;
  #pieceStart = 0;
  #emitted = 0;

  // The chunk being decoded and the position in it.
  #in: Uint8Array = EMPTY;
  #ip = 0;
  #inputBytes = 0;

  #state = S_START;
  #t = 0; // the instruction byte
  #m1Far = false; // an M1 right after a literal run (3 bytes, far)
  #len = 0;
  #dist = 0;
  #lo = 0;
  #trail = 0;
  #next = S_TOP;

  #budget = 0;
  #paused = false;
  #busy = false;
  #ended = false;
  #error: Error | undefined = undefined;

  constructor(options: LzoStreamOptions) {
    this.#maxOutput = checkInteger('maxOutput', options.maxOutput, 0);
    if (typeof options.sink !== 'function') {
      throw new TypeError(`lzo: sink must be a function, got ${typeof options.sink}`);
    }
    this.#sink = options.sink;
    this.#pieceSize = checkInteger('pieceSize', options.pieceSize ?? DEFAULT_PIECE_SIZE, 1);
    this.#outputPerCall = checkInteger(
      'outputPerCall',
      options.outputPerCall ?? DEFAULT_OUTPUT_PER_CALL,
      1,
    );
    // The first piece has no history before it, so it starts at 0.
    this.#out = Buffer.allocUnsafe(Math.min(this.#pieceSize, this.#maxOutput));
  }

  /** Output bytes decoded so far (handed to the sink or waiting in the window). */
  get outputBytes(): number {
    return this.#emitted + this.#op - this.#pieceStart;
  }

  /** Input bytes pushed so far. */
  get inputBytes(): number {
    return this.#inputBytes;
  }

  /** True when a resume() is owed: the last push() or resume() returned false. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True once the end marker has been decoded and the last piece handed over. */
  get done(): boolean {
    return this.#state === S_DONE;
  }

  /** Decodes `chunk`; false means paused (call resume() later), see the top of the file. */
  push(chunk: Uint8Array): boolean {
    this.#enter('push');
    if (this.#paused) {
      this.#busy = false;
      throw new Error('lzo: push() while paused: call resume() until it returns true first');
    }
    this.#in = chunk;
    this.#ip = 0;
    this.#inputBytes += chunk.length;
    return this.#run();
  }

  /** Goes on after push() or resume() returned false; same return value as push(). */
  resume(): boolean {
    this.#enter('resume');
    return this.#run();
  }

  /** Checks that the stream ended with its end marker; call once all input is pushed. */
  end(): void {
    this.#enter('end');
    this.#busy = false;
    if (this.#paused) {
      throw new Error('lzo: end() while paused: call resume() until it returns true first');
    }
    if (this.#state !== S_DONE) {
      this.#error = inputOverrun(this.#inputBytes, this.#inputBytes);
      this.#release();
      throw this.#error;
    }
    this.#ended = true;
  }

  #enter(method: string): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#busy) throw new Error(`lzo: ${method}() called from the sink`);
    if (this.#ended) throw new Error(`lzo: ${method}() after end()`);
    this.#busy = true;
  }

  #release(): void {
    this.#out = EMPTY;
    this.#in = EMPTY;
    this.#op = this.#pieceStart = this.#low = this.#ip = 0;
  }

  #run(): boolean {
    this.#paused = false;
    this.#budget = this.#outputPerCall;
    try {
      for (;;) {
        if (this.#state <= S_AFTER_TRAIL) this.#fast();
        const r = this.#slow();
        if (r === R_NEED_INPUT) {
          this.#in = EMPTY;
          this.#ip = 0;
          return true;
        }
        if (r === R_STOP) {
          this.#paused = true;
          return false;
        }
      }
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#release();
      throw this.#error;
    } finally {
      this.#busy = false;
    }
  }

  /** Output bytes so far, as a plain expression for the error checks. */
  #produced(op: number): number {
    return this.#emitted + op - this.#pieceStart;
  }

  #startLiteral(len: number, next: number): void {
    if (this.#produced(this.#op) + len > this.#maxOutput) throw outputOverrun(this.#maxOutput);
    this.#len = len;
    this.#next = next;
    this.#state = S_COPY_LIT;
  }

  #startMatch(len: number, dist: number, trail: number): void {
    const produced = this.#produced(this.#op);
    if (dist > produced) throw lookBehindOverrun(dist, produced);
    if (produced + len > this.#maxOutput) throw outputOverrun(this.#maxOutput);
    this.#len = len;
    this.#dist = dist;
    this.#trail = trail;
    this.#state = S_COPY_MATCH;
  }

  /**
   * Decodes whole instructions from an instruction boundary while the chunk
   * holds them and the window and budget have room for their output. Leaves
   * at a boundary (the rest of an instruction is not in the chunk: it is left
   * unread for the slow path) or in a copy state (no room for all its output).
   */
  #fast(): void {
    const src = this.#in;
    const inEnd = src.length;
    const out = this.#out;
    const op0 = this.#op;
    const low = this.#low;
    const opLimit = Math.min(
      out.length,
      op0 + this.#budget,
      this.#maxOutput - this.#emitted + this.#pieceStart,
    );
    let ip = this.#ip;
    let op = op0;
    let state = this.#state;
    let start = ip;

    for (;;) {
      start = ip;
      if (ip >= inEnd) break;
      let t = src[ip++]!;
      let dist: number;
      let len: number;
      let trail: number;
      if (t < 16) {
        if (state === S_TOP) {
          // A literal run of t + 3 bytes (0 starts a length extension).
          if (t === 0) {
            let j = ip;
            while (j < inEnd && src[j] === 0) j++;
            if (j >= inEnd) break;
            t = 15 + 255 * (j - ip) + src[j]!;
            ip = j + 1;
          }
          t += 3;
          if (inEnd - ip < t || opLimit - op < t) {
            this.#ip = ip;
            this.#op = op;
            this.#budget -= op - op0;
            this.#startLiteral(t, S_AFTER_LIT);
            return;
          }
          copyBytes(out, op, src, ip, t);
          ip += t;
          op += t;
          state = S_AFTER_LIT;
          continue;
        }
        if (ip >= inEnd) break;
        if (state === S_AFTER_LIT) {
          // M1 right after a literal run: 3 bytes, distance 0x801..0xc00.
          dist = 0x801 + (t >> 2) + (src[ip++]! << 2);
          len = 3;
        } else {
          // M1 after a match's trailing literals: 2 bytes, distance 1..0x400.
          dist = 1 + (t >> 2) + (src[ip++]! << 2);
          len = 2;
        }
        trail = t & 3;
      } else if (t >= 64) {
        // M2: 3..8 bytes, distance 1..0x800.
        if (ip >= inEnd) break;
        dist = 1 + ((t >> 2) & 7) + (src[ip++]! << 3);
        len = (t >> 5) + 1;
        trail = t & 3;
      } else {
        // M3 (32..63): distance 1..0x4000; M4 (16..31): 0x4001..0xbfff, 0x4000 ends.
        const m3 = t >= 32;
        len = m3 ? t & 31 : t & 7;
        if (len === 0) {
          let j = ip;
          while (j < inEnd && src[j] === 0) j++;
          if (j >= inEnd) break;
          len = (m3 ? 31 : 7) + 255 * (j - ip) + src[j]!;
          ip = j + 1;
        }
        if (inEnd - ip < 2) break;
        len += 2;
        const lo = src[ip]!;
        dist = (lo >> 2) + (src[ip + 1]! << 6);
        ip += 2;
        trail = lo & 3;
        if (m3) {
          dist += 1;
        } else {
          dist += (t & 8) << 11;
          if (dist === 0) {
            this.#ip = ip;
            this.#op = op;
            this.#budget -= op - op0;
            this.#state = S_ENDED;
            return;
          }
          dist += 0x4000;
        }
      }

      if (op - dist < low || opLimit - op < len) {
        this.#ip = ip;
        this.#op = op;
        this.#budget -= op - op0;
        this.#startMatch(len, dist, trail);
        return;
      }
      copyMatch(out, op, dist, len);
      op += len;
      if (trail === 0) {
        state = S_TOP;
        continue;
      }
      if (inEnd - ip < trail || opLimit - op < trail) {
        this.#ip = ip;
        this.#op = op;
        this.#budget -= op - op0;
        this.#startLiteral(trail, S_AFTER_TRAIL);
        return;
      }
      do out[op++] = src[ip++]!;
      while (--trail > 0);
      state = S_AFTER_TRAIL;
    }

    // The instruction at `start` is not all in this chunk.
    this.#ip = start;
    this.#op = op;
    this.#budget -= op - op0;
    this.#state = state;
  }

  /**
   * Decodes byte by byte and copies in bounded steps until the next
   * instruction boundary, the end of the chunk, or a stop.
   */
  #slow(): number {
    const src = this.#in;
    const inEnd = src.length;
    for (;;) {
      switch (this.#state) {
        case S_START: {
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          const b = src[this.#ip]!;
          if (b <= 17) {
            this.#state = S_TOP;
            continue;
          }
          // A first byte over 17 is a literal count; under 4 it acts as trailing literals.
          this.#ip++;
          this.#startLiteral(b - 17, b - 17 < 4 ? S_AFTER_TRAIL : S_AFTER_LIT);
          continue;
        }

        case S_TOP:
        case S_AFTER_LIT:
        case S_AFTER_TRAIL: {
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          const t = src[this.#ip++]!;
          this.#t = t;
          if (t >= 64) {
            this.#state = S_BYTE2;
          } else if (t >= 16) {
            const len = t >= 32 ? t & 31 : t & 7;
            this.#len = len === 0 ? 0 : len + 2;
            this.#state = len === 0 ? S_MATCH_EXT : S_DIST_LO;
          } else if (this.#state === S_TOP) {
            if (t === 0) {
              this.#len = 0;
              this.#state = S_LIT_EXT;
            } else {
              this.#startLiteral(t + 3, S_AFTER_LIT);
            }
          } else {
            this.#m1Far = this.#state === S_AFTER_LIT;
            this.#state = S_BYTE2;
          }
          continue;
        }

        case S_LIT_EXT:
        case S_MATCH_EXT: {
          // Each zero adds 255 to the length, counted as it arrives.
          let ip = this.#ip;
          const from = ip;
          while (ip < inEnd && src[ip] === 0) ip++;
          this.#len += 255 * (ip - from);
          this.#ip = ip;
          if (this.#produced(this.#op) + this.#len > this.#maxOutput) {
            throw outputOverrun(this.#maxOutput);
          }
          if (ip >= inEnd) return R_NEED_INPUT;
          const b = src[this.#ip++]!;
          if (this.#state === S_LIT_EXT) {
            this.#startLiteral(15 + this.#len + b + 3, S_AFTER_LIT);
          } else {
            this.#len += (this.#t >= 32 ? 31 : 7) + b + 2;
            this.#state = S_DIST_LO;
          }
          continue;
        }

        case S_DIST_LO:
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          this.#lo = src[this.#ip++]!;
          this.#state = S_DIST_HI;
          continue;

        case S_DIST_HI: {
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          const t = this.#t;
          const lo = this.#lo;
          let dist = (lo >> 2) + (src[this.#ip++]! << 6);
          if (t >= 32) {
            dist += 1;
          } else {
            dist += (t & 8) << 11;
            if (dist === 0) {
              this.#state = S_ENDED;
              continue;
            }
            dist += 0x4000;
          }
          this.#startMatch(this.#len, dist, lo & 3);
          continue;
        }

        case S_BYTE2: {
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          const t = this.#t;
          const b = src[this.#ip++]!;
          if (t >= 64) this.#startMatch((t >> 5) + 1, 1 + ((t >> 2) & 7) + (b << 3), t & 3);
          else if (this.#m1Far) this.#startMatch(3, 0x801 + (t >> 2) + (b << 2), t & 3);
          else this.#startMatch(2, 1 + (t >> 2) + (b << 2), t & 3);
          continue;
        }

        case S_COPY_LIT: {
          if (this.#ip >= inEnd) return R_NEED_INPUT;
          const room = this.#room();
          if (room < 0) return R_STOP;
          const n = Math.min(this.#len, room, inEnd - this.#ip);
          copyBytes(this.#out, this.#op, src, this.#ip, n);
          this.#ip += n;
          this.#op += n;
          this.#budget -= n;
          this.#len -= n;
          if (this.#len === 0) {
            this.#state = this.#next;
            return R_BOUNDARY;
          }
          continue;
        }

        case S_COPY_MATCH: {
          const room = this.#room();
          if (room < 0) return R_STOP;
          const n = Math.min(this.#len, room);
          copyMatch(this.#out, this.#op, this.#dist, n);
          this.#op += n;
          this.#budget -= n;
          this.#len -= n;
          if (this.#len > 0) continue;
          if (this.#trail === 0) {
            this.#state = S_TOP;
            return R_BOUNDARY;
          }
          this.#startLiteral(this.#trail, S_AFTER_TRAIL);
          continue;
        }

        case S_ENDED: {
          if (this.#ip < inEnd) throw afterEndMarker(inEnd - this.#ip);
          this.#state = S_DONE;
          const piece = this.#out.subarray(this.#pieceStart, this.#op);
          this.#emitted += piece.length;
          this.#release();
          if (piece.length > 0 && !this.#sink(piece)) return R_STOP;
          return R_NEED_INPUT;
        }

        default:
          // S_DONE
          if (this.#ip < inEnd) throw afterEndMarker(inEnd - this.#ip);
          return R_NEED_INPUT;
      }
    }
  }

  /**
   * Room for output before the window's end, within the call's budget;
   * -1 when the call must stop (budget spent, or the sink asked for a pause).
   * A full window is handed to the sink first and its last HISTORY bytes
   * carried into a new one.
   */
  #room(): number {
    if (this.#budget <= 0) return -1;
    if (this.#op === this.#out.length) {
      const out = this.#out;
      const op = this.#op;
      const piece = out.subarray(this.#pieceStart, op);
      const keep = Math.min(HISTORY, op - this.#low);
      this.#emitted += piece.length;
      const left = this.#maxOutput - this.#emitted;
      const next = Buffer.allocUnsafe(HISTORY + Math.max(1, Math.min(this.#pieceSize, left)));
      next.set(out.subarray(op - keep, op), HISTORY - keep);
      this.#out = next;
      this.#op = this.#pieceStart = HISTORY;
      this.#low = HISTORY - keep;
      if (!this.#sink(piece)) return -1;
    }
    return Math.min(this.#out.length - this.#op, this.#budget);
  }
}
