// LZO1X codec: a port of miniLZO's LZO1X-1 compressor (`lzo1x_1_compress`) and
// of the LZO1X safe decompressor (`lzo1x_decompress_safe`), from the LZO
// real-time data compression library by Markus F.X.J. Oberhumer (GPL-2.0+).
//
// distcc protocol 2 sends every compressed body as one raw LZO1X-1 block: no
// header, no checksum. A pure TypeScript port avoids a native addon, and with it
// a compiler at install time and install scripts in the dependency tree.
//
// The compressor reproduces liblzo2/miniLZO 2.10 byte for byte as built for a
// little-endian 64-bit target (x86-64): LZO_DETERMINISTIC, so the input is
// compressed in chunks of at most 49152 bytes with the dictionary cleared per
// chunk and the pending literal count carried across; D_BITS = 14 with the
// 0x1824429d multiplicative hash; and the 8-byte-at-a-time match extension
// (LZO_OPT_UNALIGNED64), whose early stop near a chunk's end decides the
// exact match lengths there. Builds of LZO for other targets can emit
// different (equally valid) streams; the decompressor reads them all.

const M2_MAX_LEN = 8;
const M3_MAX_LEN = 33;
const M4_MAX_LEN = 9;
const M2_MAX_OFFSET = 0x0800;
const M3_MAX_OFFSET = 0x4000;
const M3_MARKER = 32;
const M4_MARKER = 16;

const D_BITS = 14;
const D_MASK = (1 << D_BITS) - 1;
const CHUNK_SIZE = 49152;

/** Mutable position state shared between lzoCompress and one chunk's core. */
interface CoreState {
  op: number;
  t: number;
}

/** Copies src[from, from + n) to dst at `to`; a loop for short runs. */
export function copyBytes(
  dst: Uint8Array,
  to: number,
  src: Uint8Array,
  from: number,
  n: number,
): void {
  if (n > 32) {
    dst.set(src.subarray(from, from + n), to);
  } else {
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
  }
}

/** Writes the LZO run-length extension: a zero byte per 255, then the rest. */
function writeZeroRun(out: Uint8Array, op: number, n: number): number {
  while (n > 255) {
    n -= 255;
    out[op++] = 0;
  }
  out[op++] = n;
  return op;
}

/**
 * lzo1x_1_compress_core: compresses src[inStart, inStart + inLen) with
 * `state.t` literals pending before it. Returns through `state` the new output
 * position and the number of literals left pending at the chunk's end.
 */
function compressCore(
  src: Uint8Array,
  inStart: number,
  inLen: number,
  out: Uint8Array,
  state: CoreState,
  dict: Uint16Array,
): void {
  let op = state.op;
  let ti = state.t;
  const inEnd = inStart + inLen;
  const ipEnd = inEnd - 20;
  let ip = inStart;
  let ii = ip;
  ip += ti < 4 ? 4 - ti : 0;

  // The C loop enters at its `literal:` label, so the first position tried
  // is one past the start; after a match it resumes at `next:` (no step).
  let step = true;
  for (;;) {
    if (step) ip += 1 + ((ip - ii) >> 5);
    step = true;
    if (ip >= ipEnd) break;

    const dv = src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24);
    const dindex = (Math.imul(0x1824429d, dv) >>> (32 - D_BITS)) & D_MASK;
    const mPos = inStart + dict[dindex]!;
    dict[dindex] = ip - inStart;
    if (
      dv !==
      (src[mPos]! | (src[mPos + 1]! << 8) | (src[mPos + 2]! << 16) | (src[mPos + 3]! << 24))
    ) {
      continue;
    }

    // A match: first flush the pending literal run.
    ii -= ti;
    ti = 0;
    const t = ip - ii;
    if (t !== 0) {
      if (t <= 3) {
        out[op - 2] = out[op - 2]! | t;
      } else if (t <= 18) {
        out[op++] = t - 3;
      } else {
        out[op++] = 0;
        op = writeZeroRun(out, op, t - 18);
      }
      copyBytes(out, op, src, ii, t);
      op += t;
    }

    // Extend the match past its 4 known bytes, 8 bytes at a time as the
    // UNALIGNED64 build does: the bound is checked only after each 8-byte
    // step, and when it trips the length stays at that multiple of 8.
    let mLen = 4;
    let k = 0;
    while (k < 8 && src[ip + mLen + k] === src[mPos + mLen + k]) k++;
    if (k === 8) {
      for (;;) {
        mLen += 8;
        if (ip + mLen >= ipEnd) {
          k = 0;
          break;
        }
        k = 0;
        while (k < 8 && src[ip + mLen + k] === src[mPos + mLen + k]) k++;
        if (k !== 8) break;
      }
    }
    mLen += k;

    let mOff = ip - mPos;
    ip += mLen;
    ii = ip;
    if (mLen <= M2_MAX_LEN && mOff <= M2_MAX_OFFSET) {
      mOff -= 1;
      out[op++] = ((mLen - 1) << 5) | ((mOff & 7) << 2);
      out[op++] = mOff >>> 3;
    } else if (mOff <= M3_MAX_OFFSET) {
      mOff -= 1;
      if (mLen <= M3_MAX_LEN) {
        out[op++] = M3_MARKER | (mLen - 2);
      } else {
        out[op++] = M3_MARKER;
        op = writeZeroRun(out, op, mLen - M3_MAX_LEN);
      }
      out[op++] = (mOff << 2) & 0xff;
      out[op++] = (mOff >>> 6) & 0xff;
    } else {
      mOff -= 0x4000;
      if (mLen <= M4_MAX_LEN) {
        out[op++] = M4_MARKER | ((mOff >>> 11) & 8) | (mLen - 2);
      } else {
        out[op++] = M4_MARKER | ((mOff >>> 11) & 8);
        op = writeZeroRun(out, op, mLen - M4_MAX_LEN);
      }
      out[op++] = (mOff << 2) & 0xff;
      out[op++] = (mOff >>> 6) & 0xff;
    }
    step = false;
  }

  state.op = op;
  state.t = inEnd - (ii - ti);
}

/**
 * Compresses `input` as one raw LZO1X-1 block, byte-identical to miniLZO's
 * `lzo1x_1_compress` (x86-64 build). Empty input gives the bare end marker.
 */
export function lzoCompress(input: Uint8Array): Buffer {
  const inLen = input.length;
  // LZO's documented worst case for incompressible input.
  const out = Buffer.allocUnsafe(inLen + (inLen >>> 4) + 64 + 3);
  const dict = new Uint16Array(1 << D_BITS);
  const state: CoreState = { op: 0, t: 0 };

  let ip = 0;
  let l = inLen;
  while (l > 20) {
    const ll = l <= CHUNK_SIZE ? l : CHUNK_SIZE;
    // The C pointer-wraparound guard `ll_end + ((t + ll) >> 5) <= ll_end`
    // also holds when (t + ll) >> 5 is 0: fewer than 32 bytes, counting the
    // pending literals, are left as literals without a search.
    if ((state.t + ll) >>> 5 === 0) break;
    dict.fill(0);
    compressCore(input, ip, ll, out, state, dict);
    ip += ll;
    l -= ll;
  }
  let op = state.op;
  const t = state.t + l;

  if (t > 0) {
    const ii = inLen - t;
    if (op === 0 && t <= 238) {
      out[op++] = 17 + t;
    } else if (t <= 3) {
      out[op - 2] = out[op - 2]! | t;
    } else if (t <= 18) {
      out[op++] = t - 3;
    } else {
      out[op++] = 0;
      op = writeZeroRun(out, op, t - 18);
    }
    copyBytes(out, op, input, ii, t);
    op += t;
  }

  out[op++] = M4_MARKER | 1;
  out[op++] = 0;
  out[op++] = 0;

  const result = Buffer.allocUnsafe(op);
  result.set(out.subarray(0, op));
  return result;
}

// Decoder states, named after the labels of lzo1x_d.ch.
const S_TOP = 0; // expecting a literal run or a match
const S_FIRST_LITERAL_RUN = 1; // just after a literal run
const S_MATCH = 2; // `t` holds a match instruction byte
const S_MATCH_NEXT = 3; // `t` (1..3) trailing literals to copy, then a match

// Error texts, exported so lzo-stream.ts words the same conditions alike.
export function inputOverrun(ip: number, inLen: number): Error {
  return new Error(`lzo: input overrun at byte ${ip} of ${inLen} (truncated or corrupt stream)`);
}

export function outputOverrun(maxOutput: number): Error {
  return new Error(`lzo: output overrun: stream decodes to more than maxOutput (${maxOutput})`);
}

/**
 * Index of the first non-zero byte at or after ip: a run-length extension is
 * zero bytes worth 255 each, closed by a non-zero byte.
 */
function skipZeros(input: Uint8Array, ip: number): number {
  const inLen = input.length;
  while (ip < inLen && input[ip] === 0) ip++;
  if (ip >= inLen) throw inputOverrun(ip, inLen);
  return ip;
}

/** A larger copy of out[0, op) with room for `need` bytes, at most maxOutput. */
function grow(out: Buffer, op: number, need: number, maxOutput: number): Buffer {
  if (need > maxOutput) throw outputOverrun(maxOutput);
  const grown = Buffer.allocUnsafe(Math.max(need, Math.min(out.length * 2, maxOutput)));
  grown.set(out.subarray(0, op));
  return grown;
}

/**
 * Decompresses one raw LZO1X block (any LZO1X compressor's output) like
 * `lzo1x_decompress_safe`. Throws on input overrun, a look-behind before the
 * start of the output, a missing end marker, trailing input after it, or an
 * output larger than `maxOutput` bytes; memory use is bounded by `maxOutput`.
 */
export function lzoDecompress(input: Uint8Array, maxOutput: number): Buffer {
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
    throw new RangeError(`lzo: maxOutput must be a non-negative integer, got ${maxOutput}`);
  }
  const inLen = input.length;
  if (inLen === 0) throw inputOverrun(0, 0);
  let out: Buffer = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(inLen * 4, 256)));
  let ip = 0;
  let op = 0;
  let t = 0;
  let state = S_TOP;

  if (input[0]! > 17) {
    t = input[ip++]! - 17;
    if (t < 4) {
      state = S_MATCH_NEXT;
    } else {
      if (inLen - ip < t) throw inputOverrun(inLen, inLen);
      if (op + t > out.length) out = grow(out, op, op + t, maxOutput);
      copyBytes(out, op, input, ip, t);
      ip += t;
      op += t;
      state = S_FIRST_LITERAL_RUN;
    }
  }

  for (;;) {
    if (state === S_TOP) {
      if (ip >= inLen) throw inputOverrun(ip, inLen);
      t = input[ip++]!;
      if (t >= 16) {
        state = S_MATCH;
        continue;
      }
      // A literal run of t + 3 bytes (0 starts a length extension).
      if (t === 0) {
        const j = skipZeros(input, ip);
        t = 15 + 255 * (j - ip) + input[j]!;
        ip = j + 1;
      }
      t += 3;
      if (inLen - ip < t) throw inputOverrun(inLen, inLen);
      if (op + t > out.length) out = grow(out, op, op + t, maxOutput);
      copyBytes(out, op, input, ip, t);
      ip += t;
      op += t;
      state = S_FIRST_LITERAL_RUN;
      continue;
    }

    if (state === S_MATCH_NEXT) {
      // 1..3 literals trailing the previous instruction.
      if (inLen - ip < t) throw inputOverrun(inLen, inLen);
      if (op + t > out.length) out = grow(out, op, op + t, maxOutput);
      do out[op++] = input[ip++]!;
      while (--t > 0);
      if (ip >= inLen) throw inputOverrun(ip, inLen);
      t = input[ip++]!;
      state = S_MATCH;
    } else if (state === S_FIRST_LITERAL_RUN) {
      if (ip >= inLen) throw inputOverrun(ip, inLen);
      t = input[ip++]!; // state stays: an M1 here has its own meaning
    }

    // `t` is a match instruction: find its distance and length.
    let dist: number;
    let len: number;
    if (t >= 64) {
      // M2: 3..8 bytes, distance 1..0x800.
      if (ip >= inLen) throw inputOverrun(ip, inLen);
      dist = 1 + ((t >> 2) & 7) + (input[ip++]! << 3);
      len = (t >> 5) + 1;
    } else if (t >= 32) {
      // M3: distance 1..0x4000.
      len = t & 31;
      if (len === 0) {
        const j = skipZeros(input, ip);
        len = 31 + 255 * (j - ip) + input[j]!;
        ip = j + 1;
      }
      len += 2;
      if (inLen - ip < 2) throw inputOverrun(inLen, inLen);
      dist = 1 + (input[ip]! >> 2) + (input[ip + 1]! << 6);
      ip += 2;
    } else if (t >= 16) {
      // M4: distance 0x4001..0xbfff; distance 0x4000 is the end marker.
      len = t & 7;
      if (len === 0) {
        const j = skipZeros(input, ip);
        len = 7 + 255 * (j - ip) + input[j]!;
        ip = j + 1;
      }
      len += 2;
      if (inLen - ip < 2) throw inputOverrun(inLen, inLen);
      dist = ((t & 8) << 11) + (input[ip]! >> 2) + (input[ip + 1]! << 6);
      ip += 2;
      if (dist === 0) break;
      dist += 0x4000;
    } else {
      if (ip >= inLen) throw inputOverrun(ip, inLen);
      if (state === S_FIRST_LITERAL_RUN) {
        // M1 right after a literal run: 3 bytes, distance 0x801..0xc00.
        dist = 1 + M2_MAX_OFFSET + (t >> 2) + (input[ip++]! << 2);
        len = 3;
      } else {
        // M1 after a match's trailing literals: 2 bytes, distance 1..0x400.
        dist = 1 + (t >> 2) + (input[ip++]! << 2);
        len = 2;
      }
    }

    // Copy the match; an overlapping one repeats its pattern (LZ77).
    let from = op - dist;
    if (from < 0) {
      throw new Error(
        `lzo: look-behind overrun: distance ${dist} at output offset ${op} (corrupt stream)`,
      );
    }
    if (op + len > out.length) out = grow(out, op, op + len, maxOutput);
    if (dist >= len && len > 32) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      do out[op++] = out[from++]!;
      while (--len > 0);
    }

    // The low 2 bits of the instruction's second-last byte: trailing literals.
    t = input[ip - 2]! & 3;
    state = t === 0 ? S_TOP : S_MATCH_NEXT;
  }

  // The end marker: the whole input must have been used.
  if (ip !== inLen) {
    throw new Error(`lzo: ${inLen - ip} byte(s) of input after the end marker (corrupt stream)`);
  }
  if (op === out.length) return out;
  const result = Buffer.allocUnsafe(op);
  result.set(out.subarray(0, op));
  return result;
}
