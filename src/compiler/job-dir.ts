// One private directory per job under $TMPDIR, removed afterwards whatever
// happened. Every path of a job is made here from fixed names, so nothing a
// client sends can name a file outside it.
//
// Small files are written and read synchronously: a few syscalls on a local
// file system cost less than the thread-pool round trips of the async API,
// and they are on every job's critical path. Big ones go through the async
// API so one large job never stalls the event loop.

import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { open, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Up to this size a file is read or written in the event loop. */
export const SYNC_IO_LIMIT = 256 * 1024;

export type JobDir = Readonly<{
  /** The directory on the daemon's side. */
  path: string;
  /** The same directory as the compiler sees it (inside a --chroot). */
  guest: string;
  guestInput: string;
  guestOutput: string;
  /** The preprocessed input, with the extension the compiler needs to see. */
  input: string;
  output: string;
  /** Where a pump job's compiler writes the .d file, and the same as the compiler sees it. */
  deps: string;
  guestDeps: string;
  /** Writes the input from its pieces (as they came off the socket). */
  writeInput: (pieces: readonly Buffer[]) => Promise<void>;
  /** The output file, or an empty buffer if the compiler wrote none. */
  readOutput: () => Promise<Buffer>;
  remove: () => Promise<void>;
}>;

/** Unlinks a file of a job (a FIFO too) if the job made it. */
export function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* not made by this job */
  }
}

/** Reads a file (sync when small); a missing file is an empty buffer. */
export async function readSmallOrAsync(path: string): Promise<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > SYNC_IO_LIMIT) return await readFile(path);
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * Unlinks the files a job is known to make, then the directory; only if the
 * compiler left others (-save-temps, -fstack-usage...) does it fall back to
 * a recursive removal. The rmdir goes to the thread pool: it takes the lock
 * of $TMPDIR, which every other job's mkdtemp and the compilers' own temporary files
 * want too, and under a -j4 build it waited ~2 ms a job in the event loop
 * (0.13 ms alone).
 */
async function removeJobDir(path: string, known: string[]): Promise<void> {
  for (const file of known) unlinkIfThere(file);
  try {
    await rmdir(path);
  } catch {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** `root`: the compilers' --chroot directory, if any; `tmpdir` is inside it. */
export function makeJobDir(
  tmpdir: string,
  inputExt: string,
  outputExt: string,
  root?: string,
): JobDir {
  const path = mkdtempSync(join(tmpdir, 'tsdistccd_'));
  const input = join(path, `input.${inputExt}`);
  const output = join(path, `output.${outputExt}`);
  const deps = join(path, 'output.d');
  const guest = root !== undefined ? path.slice(root.replace(/\/+$/, '').length) : path;
  return Object.freeze({
    path,
    guest,
    guestInput: join(guest, `input.${inputExt}`),
    guestOutput: join(guest, `output.${outputExt}`),
    input,
    output,
    deps,
    guestDeps: join(guest, 'output.d'),
    writeInput: async (pieces: readonly Buffer[]) => {
      const size = pieces.reduce((n, p) => n + p.length, 0);
      if (size <= SYNC_IO_LIMIT) {
        writeFileSync(input, pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces), {
          mode: 0o600,
        });
        return;
      }
      const file = await open(input, 'w', 0o600);
      try {
        // libuv writes every piece, partial writes and IOV_MAX included.
        const { bytesWritten } = await file.writev(pieces as Buffer[]);
        if (bytesWritten !== size) throw new Error(`wrote ${bytesWritten} of ${size} bytes`);
      } finally {
        await file.close();
      }
    },
    readOutput: () => readSmallOrAsync(output),
    // Not output.d: only pump jobs make it, and their tree (r/) needs the recursive removal anyway.
    remove: () => removeJobDir(path, [input, output, join(path, 'stdout'), join(path, 'stderr')]),
  });
}
