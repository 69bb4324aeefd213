// distcc's 12-byte packet header: four ASCII token characters and eight hex
// digits (distcc src/io.c dcc_x_token_int). Senders write lowercase hex.

export const TOKEN_LENGTH = 12;

export const Token = {
  DIST: 'DIST',
  ARGC: 'ARGC',
  ARGV: 'ARGV',
  DOTI: 'DOTI',
  DONE: 'DONE',
  STAT: 'STAT',
  SERR: 'SERR',
  SOUT: 'SOUT',
  DOTO: 'DOTO',
  DOTD: 'DOTD',
  CDIR: 'CDIR',
  NFIL: 'NFIL',
  NAME: 'NAME',
  FILE: 'FILE',
  LINK: 'LINK',
} as const;

export function encodeToken(name: string, value: number): Buffer {
  if (name.length !== 4) throw new RangeError(`token name must be 4 characters, got \`${name}\``);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`token value must be a 32-bit unsigned integer, got ${value}`);
  }
  return Buffer.from(name + value.toString(16).padStart(8, '0'), 'latin1');
}

const HEX8 = /^[0-9a-fA-F]{8}$/;

/** Parses the 12 bytes at `offset`; returns undefined if the digits are not 8 hex digits. */
export function decodeToken(
  buf: Buffer,
  offset: number,
): { name: string; value: number } | undefined {
  const name = buf.toString('latin1', offset, offset + 4);
  const digits = buf.toString('latin1', offset + 4, offset + TOKEN_LENGTH);
  if (!HEX8.test(digits)) return undefined;
  return { name, value: parseInt(digits, 16) };
}
