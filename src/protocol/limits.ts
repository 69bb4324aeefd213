// Bounds on what a client may claim. distccd has none (it mallocs whatever
// length a header says); we refuse the request instead.

export type RequestLimits = Readonly<{
  /** Most ARGV entries in one request. */
  maxArgs: number;
  /** Longest single ARGV string, in bytes. */
  maxArgLength: number;
  /** Largest body on the wire (DOTI, or all FILEs of a pump request), in bytes, and largest after decompression. */
  maxBodySize: number;
  /** Most files and links in one pump request (NFIL). */
  maxFiles: number;
  /**
   * Most bytes of all ARGV strings (and CDIR) of one request together: a
   * real command line is bounded by the kernel's ARG_MAX (2 MiB by default),
   * while 4096 arguments of 64K each would be 256 MiB.
   */
  maxArgBytes: number;
}>;

/** Most bytes the ARGV strings of one request take together, unless one argument may be longer. */
export const ARG_BYTES = 2 * 1024 * 1024;

export const defaultLimits: RequestLimits = Object.freeze({
  maxArgs: 4096,
  maxArgLength: 64 * 1024,
  maxBodySize: 512 * 1024 * 1024,
  maxFiles: 20_000,
  maxArgBytes: ARG_BYTES,
});
