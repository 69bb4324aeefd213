// The client's files of a pump request (protocol 3), rebuilt under the job's
// root directory R: each NAME at R + NAME, each LINK as a symlink there
// (an absolute target is taken inside R, as distccd does), and the client's
// directory R + CDIR made for the compiler to run in.
//
// Nothing a client names may create, write or replace a file outside R. NAMEs
// must be absolute with no `.` or `..`; every directory on the way is opened
// with O_NOFOLLOW relative to the one before it (through /proc/self/fd, which
// is openat(2) for Node), so a LINK sent earlier cannot redirect a later FILE
// and no rename racing us can either; files and links are created with
// O_EXCL semantics, so nothing existing is replaced. LINKs may point anywhere:
// the compiler reads system headers through them (distcc's include server
// sends /usr/include as a link climbing out of R). distccd 3.4 checks none of
// this.

import { closeSync, constants, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { ProtocolError } from '../errors.js';
import { decodeBodyInto } from '../protocol/bodies.js';
import type { PumpEntry } from '../protocol/request-decoder.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;

/** A pump request that would write outside its job, or is otherwise unusable. */
export class PumpTreeError extends ProtocolError {}

const at = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;

/** The components of a client path; refuses relative paths, `.` and `..`. */
export function pathComponents(path: string, what: string): string[] {
  if (!path.startsWith('/')) {
    throw new PumpTreeError(`${what} must be an absolute path, got \`${path}\``);
  }
  const parts = path.split('/').filter((p) => p !== '');
  for (const p of parts) {
    if (p === '.' || p === '..') {
      throw new PumpTreeError(`${what} must not contain \`${p}\`, got \`${path}\``);
    }
  }
  return parts;
}

/** Opens root/parts..., making missing directories; never follows a symlink. */
function openDir(rootFd: number, parts: readonly string[], what: string): number {
  let fd = openSync(at(rootFd, '.'), O_RDONLY | O_DIRECTORY);
  try {
    for (const part of parts) {
      try {
        mkdirSync(at(fd, part), { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let next: number;
      try {
        next = openSync(at(fd, part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP' || code === 'ENOTDIR') {
          throw new PumpTreeError(
            `${what}: \`${part}\` on its way is a link or a file, not a directory`,
          );
        }
        throw err;
      }
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export type PumpTree = {
  /** The compiler's directory, relative to the job directory (R + CDIR). */
  subdir: string;
};

/**
 * Writes `entries` under `hostRoot` (an empty directory of this job) and
 * makes `cwd` there. `guestRoot` is R as the compiler sees it (in a chroot),
 * for absolute link targets; `rootName` is R's name inside the job directory.
 */
export async function buildPumpTree(
  hostRoot: string,
  guestRoot: string,
  rootName: string,
  cwd: string,
  entries: readonly PumpEntry[],
  maxBytes: number,
): Promise<PumpTree> {
  mkdirSync(hostRoot, { mode: 0o700 });
  const rootFd = openSync(hostRoot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  let budget = maxBytes;
  try {
    const cwdParts = pathComponents(cwd, 'CDIR');
    closeSync(openDir(rootFd, cwdParts, `CDIR ${cwd}`));
    for (const entry of entries) {
      const parts = pathComponents(entry.name, 'NAME');
      const base = parts.pop();
      if (base === undefined) throw new PumpTreeError('NAME must name a file, got `/`');
      const dirFd = openDir(rootFd, parts, `NAME ${entry.name}`);
      try {
        if (entry.kind === 'link') {
          const target = entry.target.startsWith('/') ? guestRoot + entry.target : entry.target;
          try {
            symlinkSync(target, at(dirFd, base));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
              throw new PumpTreeError(`NAME ${entry.name} is sent twice`);
            }
            throw err;
          }
          continue;
        }
        let fd: number;
        try {
          fd = openSync(at(dirFd, base), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new PumpTreeError(`NAME ${entry.name} exists already (sent twice, or a link)`);
          }
          throw err;
        }
        try {
          budget -= await decodeBodyInto(fd, entry.body, budget);
        } finally {
          closeSync(fd);
        }
      } finally {
        closeSync(dirFd);
      }
    }
    return { subdir: [rootName, ...cwdParts].join('/') };
  } finally {
    closeSync(rootFd);
  }
}
