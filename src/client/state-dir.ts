// distcc's state directory: $DISTCC_DIR, else ~/.distcc (distcc src/util.c
// dcc_get_top_dir). The default one is created; a DISTCC_DIR that does not
// exist is an error, as in distcc (exit 107 once nothing else can be done).

import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';

export function distccDir(env: NodeJS.ProcessEnv): string {
  if (env.DISTCC_DIR) return env.DISTCC_DIR;
  const dir = join(env.HOME || homedir(), '.distcc');
  try {
    mkdirSync(dir, { mode: 0o777 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(dir, err);
  }
  return dir;
}

/** `<dir>/<sub>`, created (one level, like distcc dcc_mkdir) if missing. */
export function subdir(dir: string, sub: string): string {
  const path = join(dir, sub);
  try {
    mkdirSync(path, { mode: 0o777 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(path, err);
  }
  return path;
}

function ioError(path: string, err: unknown): TsdistccError {
  return new TsdistccError(`mkdir '${path}' failed: ${(err as Error).message}`, ExitCode.IO_ERROR, {
    cause: err,
  });
}
