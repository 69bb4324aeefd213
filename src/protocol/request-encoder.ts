// The client's request, protocols 1 and 2 (distcc src/clirpc.c):
//   DIST ver, ARGC n, n x ARGV len bytes, DOTI len bytes
// Pure functions: the header can go out while the preprocessor still runs,
// the DOTI part once its output is complete. Bodies come in wire form
// (encodeBody in bodies.ts compresses them for version 2).

import { Token, encodeToken } from './token.js';

/** DIST, ARGC and every ARGV: what a client sends before the source. */
export function encodeRequestHeader(version: number, argv: readonly string[]): Buffer {
  const parts = [encodeToken(Token.DIST, version), encodeToken(Token.ARGC, argv.length)];
  for (const arg of argv) {
    const bytes = Buffer.from(arg, 'utf8');
    parts.push(encodeToken(Token.ARGV, bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/** The DOTI token and its body (already in wire form). */
export function encodeSource(wireBody: Buffer): Buffer[] {
  const token = encodeToken(Token.DOTI, wireBody.length);
  return wireBody.length > 0 ? [token, wireBody] : [token];
}
