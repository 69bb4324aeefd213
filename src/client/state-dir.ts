// distcc's state directory: $DISTCC_DIR, else ~/.distcc (distcc src/util.c
// dcc_get_top_dir). The default one is created; a DISTCC_DIR that does not
// exist is not, nor anything in it: as distcc, the job is compiled here (exit
// 107 with DISTCC_FALLBACK=0, once nothing else can be done).

import { mkdirSync, statSync } from 'node:fs';
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

/**
 * distccDir(), checked: a DISTCC_DIR that is not a directory is one error
 * that says so (not a failed mkdir of lock/ or state/ inside it).
 */
export function usableDistccDir(env: NodeJS.ProcessEnv): string {
  const dir = distccDir(env);
  if (!env.DISTCC_DIR) return dir;
  let why: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) why = 'is not a directory';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    why = code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? String(err)})`;
  }
  if (why === undefined) return dir;
  throw new TsdistccError(
    `DISTCC_DIR '${dir}' ${why}; it is not created: make it, or unset DISTCC_DIR to use ~/.distcc`,
    ExitCode.IO_ERROR,
  );
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
  // Node's message ends with `, mkdir 'PATH'`: the path once is enough.
  const e = err as NodeJS.ErrnoException;
  const why = e.code && e.syscall ? e.message.replace(/, \w+ '.*'$/s, '') : e.message;
  return new TsdistccError(`mkdir '${path}' failed: ${why}`, ExitCode.IO_ERROR, {
    cause: err,
  });
}
