// write(2) until all of `data` is in: a regular file or a pipe may take less
// than asked in one call.

import { writeSync } from 'node:fs';

export function writeAll(fd: number, data: Uint8Array): void {
  for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
}
