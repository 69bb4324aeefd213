// Drives an LzoStreamDecoder the way a caller must (resume while paused, then
// end) and checks the contract on the way: no call makes more than
// outputPerCall bytes, every piece but the last is pieceSize long, and every
// paused call is followed by progress.

import assert from 'node:assert/strict';
import { DEFAULT_PIECE_SIZE, LzoStreamDecoder } from '../../src/protocol/lzo-stream.js';

export interface DriveOptions {
  maxOutput: number;
  pieceSize?: number;
  outputPerCall?: number;
  /** Asked after each piece: false makes the sink ask for a pause. */
  keepGoing?: () => boolean;
}

export interface DriveResult {
  output: Buffer;
  pieces: number;
  calls: number;
  /** The most output one push() or resume() made. */
  maxCallOutput: number;
}

/** Feeds `chunks` in order and ends the stream; throws what the decoder throws. */
export function drive(chunks: Iterable<Uint8Array>, options: DriveOptions): DriveResult {
  const pieceSize = options.pieceSize ?? DEFAULT_PIECE_SIZE;
  // The pieces are kept as handed over, uncopied: the contract says they are ours.
  const pieces: Buffer[] = [];
  let shortPiece = false;
  const decoder = new LzoStreamDecoder({
    maxOutput: options.maxOutput,
    pieceSize: options.pieceSize,
    outputPerCall: options.outputPerCall,
    sink: (piece) => {
      assert.ok(!shortPiece, 'a piece after a short one');
      assert.ok(piece.length > 0 && piece.length <= pieceSize, `piece of ${piece.length}`);
      if (piece.length < pieceSize) shortPiece = true;
      pieces.push(piece);
      return options.keepGoing ? options.keepGoing() : true;
    },
  });
  const perCall = options.outputPerCall ?? 1024 * 1024;
  let calls = 0;
  let maxCallOutput = 0;
  const call = (f: () => boolean): boolean => {
    const before = decoder.outputBytes;
    const piecesBefore = pieces.length;
    const done = f();
    calls++;
    const made = decoder.outputBytes - before;
    maxCallOutput = Math.max(maxCallOutput, made);
    assert.ok(made <= perCall, `one call made ${made} bytes, over ${perCall}`);
    assert.equal(decoder.paused, !done);
    return done || made > 0 || pieces.length > piecesBefore;
  };
  for (const chunk of chunks) {
    let done = call(() => decoder.push(chunk));
    let idle = 0;
    while (decoder.paused) {
      if (!call(() => decoder.resume())) idle++;
      assert.ok(idle <= 1, 'resume() made no progress twice');
      done = !decoder.paused;
    }
    assert.ok(done);
  }
  decoder.end();
  assert.ok(decoder.done);
  const output = Buffer.concat(pieces);
  assert.equal(output.length, decoder.outputBytes);
  return { output, pieces: pieces.length, calls, maxCallOutput };
}

/** `data` cut at the given offsets (any order, duplicates and 0 allowed). */
export function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const cut of [...points, data.length]) {
    chunks.push(data.subarray(prev, cut));
    prev = cut;
  }
  return chunks;
}

/** xorshift32: deterministic randomness, so any failure reproduces. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `data` in chunks of random sizes from 1 to maxChunk. */
export function randomChunks(data: Uint8Array, maxChunk: number, next: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length;) {
    const n = 1 + (next() % maxChunk);
    chunks.push(data.subarray(i, i + n));
    i += n;
  }
  return chunks;
}
