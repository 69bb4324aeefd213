// The --pid-file: written once the daemon serves, removed when it stops.
// Opened as root-safe files are (open-nofollow.ts): never through a link.

import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  ftruncateSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
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

/**
 * Removes the pid file at exit; returns undefined if it is gone, else what
 * to log. After dropping privileges the daemon may not remove it: a pid file
 * in a directory --user cannot write (/run itself) stays. It is then emptied
 * if it can be (opened without following a link, never created), so that no
 * stale pid is left in it, and the caller says so: never silently.
 */
export function removePidFile(path: string): string | undefined {
  try {
    rmSync(path, { force: true });
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    let emptied = false;
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (fstatSync(fd).isFile()) {
          ftruncateSync(fd, 0);
          emptied = true;
        }
      } finally {
        closeSync(fd);
      }
    } catch {
      /* not ours to write either */
    }
    return `cannot remove the pid file ${path}: ${code} (its directory is not writable by the account the daemon runs as; put --pid-file in a directory that account owns, e.g. /run/tsdistccd/)${emptied ? '; emptied it instead' : ''}`;
  }
}
