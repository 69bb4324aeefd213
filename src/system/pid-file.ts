// The --pid-file: written once the daemon serves, removed when it stops.

import { rmSync, writeFileSync } from 'node:fs';

export function writePidFile(path: string, pid = process.pid): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
}

export function removePidFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    /* after dropping root it may not be ours to remove */
  }
}
