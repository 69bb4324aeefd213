// The --pid-file: written once the daemon serves, removed when it stops.

import { chownSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes the pid; `owner` (the account privileges will be dropped to) gets
 * the file, so that it can still remove it at exit from a sticky directory.
 */
export function writePidFile(
  path: string,
  pid = process.pid,
  owner?: { uid: number; gid: number },
): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
  if (owner) chownSync(path, owner.uid, owner.gid);
}

export function removePidFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    /* after dropping root it may not be ours to remove */
  }
}
