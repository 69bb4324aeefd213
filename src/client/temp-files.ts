// Preprocessed sources on their way to a server (distcc's distcc_XXXXXXXX.i
// in $TMPDIR). They hold the user's code, so they are created mode 0600 with
// O_EXCL|O_NOFOLLOW (a name somebody planted, a link above all, is never
// opened: another name is taken), in $TMPDIR/tsdistcc-UID, a directory only
// this user can enter (private-dir.ts). If someone else got that name first
// (a directory or link of theirs), a fresh directory made by mkdtemp (mode
// 0700, unpredictable name) serves this process instead, and is removed when
// it exits. The launcher, which runs the preprocessor, opens the file made
// here with `>|`: only the user can have replaced it.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import { privateDir, type PrivateDir } from './private-dir.js';

const fallbacks = new Map<string, PrivateDir>();

function removeFallbacks(): void {
  for (const dir of fallbacks.values()) rmSync(dir.path, { recursive: true, force: true });
}

/** The private directory for temp files under `tmpdir`. */
export function tempDir(tmpdir: string, onRefused: (why: string) => void = () => {}): PrivateDir {
  const path = join(tmpdir, `tsdistcc-${process.getuid?.() ?? 0}`);
  try {
    return privateDir(path);
  } catch (err) {
    if (!(err instanceof TsdistccError)) throw err;
    const known = fallbacks.get(tmpdir);
    if (known) return known;
    onRefused(`${err.message}; using a fresh directory instead`);
    let made: string;
    try {
      made = mkdtempSync(`${path}-`);
    } catch (cause) {
      throw new TsdistccError(
        `cannot make a directory in ${tmpdir}: ${(cause as Error).message}`,
        ExitCode.IO_ERROR,
        { cause },
      );
    }
    if (fallbacks.size === 0) process.once('exit', removeFallbacks);
    const dir = privateDir(made);
    fallbacks.set(tmpdir, dir);
    return dir;
  }
}

/**
 * Creates an empty file `PREFIX_RANDOM.EXT` in `dir`, mode 0600, never
 * through an existing name; returns its path. `random` is for tests.
 */
export function createTempFile(
  dir: PrivateDir,
  prefix: string,
  ext: string,
  random: () => string = () => randomBytes(4).toString('hex'),
): string {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let attempt = 0; ; attempt++) {
    const name = `${prefix}_${random()}.${ext}`;
    try {
      closeSync(openSync(dir.at(name), flags, 0o600));
      return join(dir.path, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 20) continue;
      throw new TsdistccError(
        `cannot create a temp file in ${dir.path}: ${(err as Error).message}`,
        ExitCode.IO_ERROR,
        { cause: err },
      );
    }
  }
}
