// Directories only this user can use: the agent's, the one that holds the
// lock sockets, the one preprocessed files go to. Each is created mode 0700,
// then opened (O_NOFOLLOW) and checked through its descriptor: a directory,
// of this user, no access for group or others. From then on it is reached
// through /proc/self/fd/N, so another user who can rename entries in the
// parent (a world-writable directory without the sticky bit) cannot swap it
// for one of theirs after the check. Only the user, or root, can create
// anything inside, and only they can look inside.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';

export type PrivateDir = {
  /** The directory's path, for other processes (the launcher) and messages. */
  readonly path: string;
  /** A path of `name` inside it that reaches this very directory. */
  at(name: string): string;
};

const PROC_FD = existsSync('/proc/self/fd');
const open = new Map<string, { fd: number; dir: PrivateDir }>();

function refuse(path: string, why: string): TsdistccError {
  return new TsdistccError(
    `${path} ${why}: tsdistcc keeps its private files only in a directory of this user with mode 0700`,
    ExitCode.IO_ERROR,
  );
}

function check(path: string, fd: number): void {
  const st = fstatSync(fd);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw refuse(path, 'is not a directory');
  if (st.uid !== uid) throw refuse(path, `belongs to uid ${st.uid}, not to uid ${uid}`);
  if ((st.mode & 0o077) !== 0) {
    throw refuse(path, `has mode 0${(st.mode & 0o777).toString(8)}`);
  }
}

/** `path` as a private directory, created if missing; throws a TsdistccError if it is not one. */
export function privateDir(path: string): PrivateDir {
  const known = open.get(path);
  // Still the same, undeleted directory: one fstat.
  if (known && fstatSync(known.fd).nlink > 0) return known.dir;
  if (known) {
    closeSync(known.fd);
    open.delete(path);
  }
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new TsdistccError(
        `mkdir '${path}' failed: ${(err as Error).message}`,
        ExitCode.IO_ERROR,
        {
          cause: err,
        },
      );
    }
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ELOOP' || code === 'ENOTDIR'
      ? refuse(path, 'is a symbolic link or not a directory')
      : new TsdistccError(`cannot open ${path}: ${(err as Error).message}`, ExitCode.IO_ERROR, {
          cause: err,
        });
  }
  try {
    check(path, fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const base = PROC_FD ? `/proc/self/fd/${fd}` : path;
  const dir: PrivateDir = { path, at: (name) => `${base}/${name}` };
  open.set(path, { fd, dir });
  return dir;
}

const SECRET_BYTES = 32;

/**
 * The directory's secret: 32 random bytes in `secret` (mode 0600), made by
 * the first process that needs it. Written under a temporary name and linked
 * into place, so no one reads a half-written secret.
 */
export function dirSecret(dir: PrivateDir): Buffer {
  const file = dir.at('secret');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const buf = Buffer.alloc(SECRET_BYTES);
        if (readSync(fd, buf, 0, SECRET_BYTES, 0) === SECRET_BYTES) return buf;
      } finally {
        closeSync(fd);
      }
      throw refuse(join(dir.path, 'secret'), 'is too short');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const temp = dir.at(`secret.${process.pid}.${randomBytes(6).toString('hex')}`);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(SECRET_BYTES));
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(temp);
    }
  }
  throw refuse(join(dir.path, 'secret'), 'cannot be read');
}
