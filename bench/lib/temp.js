// Work directories that go away when the benchmark exits, however it exits.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under TMPDIR; `mode` 0o1777 lets compilers running as nobody write there. */
export function tempDir(prefix, mode) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (mode !== undefined) chmodSync(dir, mode);
  made.push(dir);
  return dir;
}
