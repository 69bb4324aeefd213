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
}>;

export const defaultLimits: RequestLimits = Object.freeze({
  maxArgs: 4096,
  maxArgLength: 64 * 1024,
  maxBodySize: 512 * 1024 * 1024,
  maxFiles: 20_000,
});
