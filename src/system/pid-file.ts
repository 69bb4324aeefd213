// The --pid-file: written once the daemon serves, removed when it stops.
// Opened as root-safe files are (open-nofollow.ts): never through a link.

import { closeSync, fchownSync, ftruncateSync, rmSync, writeSync } from 'node:fs';
import { openNoFollow } from './open-nofollow.js';

/**
 * Writes the pid; `owner` (the account privileges will be dropped to) gets
 * the file if it was created here, so that it can still remove it at exit
 * from a sticky directory. An existing file (a stale one) keeps its owner.
 * ConfigError if the name is a link or not a plain file.
 */
export function writePidFile(
  path: string,
  pid = process.pid,
  owner?: { uid: number; gid: number },
): void {
  const { fd, created } = openNoFollow(path, '--pid-file', { append: false });
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${pid}\n`, 0);
    if (owner && created) fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

export function removePidFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    /* after dropping root it may not be ours to remove */
  }
}
