// Opening the daemon's own files (log, pid file) as root without being led
// astray. Their directories may be writable by others (the compilers'
// account owns a rotated log's directory): a link planted at the name could
// make root append to, truncate or chown another file. So the name is never
// followed (O_NOFOLLOW); a missing file is created with O_EXCL (a link put
// there meanwhile makes that fail, not followed); an existing one must be a
// regular file with one link (no hard link to another file), or for a log
// a character device such as /dev/null; and the caller
// learns whether it was created here: only then may its owner be changed,
// and then through the descriptor (fchown), never by the name.

import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { ConfigError } from '../errors.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

export type OpenedFile = Readonly<{ fd: number; created: boolean }>;

function why(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ELOOP') return 'it is a symbolic link (not followed)';
  if (e.code === 'ENOENT') return 'no such directory';
  if (e.code === 'ENXIO') return 'it is a named pipe or socket';
  return e.code ?? e.message;
}

/**
 * Opens `path` for writing (appending if `append`), never through a link at
 * its name; ConfigError (exit 101) naming the path and why if it cannot.
 * `what` names the file in that message (`--log-file`, `--pid-file`).
 */
export function openNoFollow(
  path: string,
  what: string,
  {
    append = true,
    mode = 0o644,
    devices = false,
  }: {
    append?: boolean;
    mode?: number;
    /** Whether a character device (`/dev/null`) will do: no one but root makes those. */
    devices?: boolean;
  } = {},
): OpenedFile {
  const flags = O_WRONLY | O_NOFOLLOW | (append ? O_APPEND : 0);
  try {
    return { fd: openSync(path, flags | O_CREAT | O_EXCL, mode), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`${what} ${path}: cannot create it: ${why(err)}`, { cause: err });
    }
  }
  let fd: number;
  try {
    // O_NONBLOCK: a named pipe there does not hang the open (and is refused below).
    fd = openSync(path, flags | O_NONBLOCK);
  } catch (err) {
    throw new ConfigError(`${what} ${path}: cannot open it: ${why(err)}`, { cause: err });
  }
  const st = fstatSync(fd);
  if (devices && st.isCharacterDevice()) return { fd, created: false };
  const bad = !st.isFile()
    ? 'it is not a regular file'
    : st.nlink !== 1
      ? `it has ${st.nlink} links (a hard link to another file)`
      : undefined;
  if (bad !== undefined) {
    closeSync(fd);
    throw new ConfigError(`${what} ${path}: not opened: ${bad}`);
  }
  return { fd, created: false };
}
