// One private directory per job under $TMPDIR, removed afterwards whatever
// happened. Every path of a job is made here from fixed names, so nothing a
// client sends can name a file outside it.
//
// A finished job's directory, emptied, serves the next job: under a build
// that saves a mkdir and an rmdir per job (0.1-0.5 ms each on ext4 here, and
// both take $TMPDIR's lock). Directories idle for a second are removed, and
// so are all of them when the daemon stops.
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
  readdirSync,
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
  /** Empties the directory for the next job, or removes it. */
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
 * Unlinks what is left in a job directory, then the directory; only if the
 * compiler left more than its outputs (-save-temps, -fstack-usage, a pump
 * job's tree...) does it fall back to a recursive removal. The rmdir goes to
 * the thread pool: it takes the lock of $TMPDIR, which every other job's
 * mkdtemp wants too.
 */
async function removeJobDir(path: string): Promise<void> {
  for (const file of KEPT) unlinkIfThere(join(path, file));
  try {
    await rmdir(path);
  } catch {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** What an emptied job directory may still hold: the launcher truncates them for the next job. */
const KEPT = ['stdout', 'stderr'];

function holdsOnlyKept(path: string): boolean {
  try {
    return readdirSync(path).every((name) => KEPT.includes(name));
  } catch {
    return false;
  }
}

type Idle = { path: string; tmpdir: string; since: number };

/** The job directories of one daemon: made, reused, removed. */
export class JobDirs {
  readonly #idle: Idle[] = [];
  #sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly onError: (err: Error) => void,
    /** Most directories kept for reuse. */
    private readonly keep = 16,
    /** How long one is kept unused. */
    private readonly idleMs = 1000,
  ) {}

  /** `root`: the compilers' --chroot directory, if any; `tmpdir` is inside it. */
  make(tmpdir: string, inputExt: string, outputExt: string, root?: string): JobDir {
    const path = this.#take(tmpdir) ?? mkdtempSync(join(tmpdir, 'tsdistccd_'));
    return jobDir(path, inputExt, outputExt, root, (made) => this.#release(path, tmpdir, made));
  }

  /** Removes every kept directory (the daemon stops). */
  async empty(): Promise<void> {
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    await Promise.all(this.#idle.splice(0).map((d) => this.#remove(d.path)));
  }

  #take(tmpdir: string): string | undefined {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i]!.tmpdir === tmpdir) return this.#idle.splice(i, 1)[0]!.path;
    }
    return undefined;
  }

  async #release(path: string, tmpdir: string, made: readonly string[]): Promise<void> {
    for (const file of made) unlinkIfThere(file);
    if (this.#idle.length < this.keep && holdsOnlyKept(path)) {
      this.#idle.push({ path, tmpdir, since: performance.now() });
      this.#sweep ??= setTimeout(() => this.#sweepIdle(), this.idleMs).unref();
      return;
    }
    await removeJobDir(path);
  }

  #sweepIdle(): void {
    this.#sweep = undefined;
    const before = performance.now() - this.idleMs;
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i]!.since <= before) void this.#remove(this.#idle.splice(i, 1)[0]!.path);
    }
    if (this.#idle.length > 0)
      this.#sweep = setTimeout(() => this.#sweepIdle(), this.idleMs).unref();
  }

  #remove(path: string): Promise<void> {
    return removeJobDir(path).catch((err: Error) => this.onError(err));
  }
}

function jobDir(
  path: string,
  inputExt: string,
  outputExt: string,
  root: string | undefined,
  release: (made: readonly string[]) => Promise<void>,
): JobDir {
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
    // Not output.d: only pump jobs make it, and their tree (r/) is removed with the directory.
    remove: () => release([input, output]),
  });
}
