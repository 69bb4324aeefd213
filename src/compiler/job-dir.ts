// One private directory per job under $TMPDIR, removed afterwards whatever
// happened. Every path of a job is made here from fixed names, so nothing a
// client sends can name a file outside it.
//
// A job directory belongs to the compilers' account, and a compiler (or, in
// a --chroot root without a sandbox, what it left running) may replace
// anything in it — even the directory's own name — with a link. So the
// daemon opens the directory once, when it makes it (O_DIRECTORY |
// O_NOFOLLOW, before any compiler runs), keeps that handle for the job's
// life, and reaches every file in it through the handle:
// `/proc/self/fd/N/NAME` with O_NOFOLLOW, Node having no openat(2). A file
// it reads back (the object, stdout, stderr, a pump job's .d) must then be a
// regular file of the compilers' account (the daemon's own uid: compilers
// run as it, or as it mapped into their namespace), with one link (a hard
// link to some other file is refused) and no bigger than the limit; else the
// job fails naming the file and why, and the file is not read. The input is
// written the same way. Cleaning up unlinks by name through the handle and
// walks what a compiler left with handles too, so it never follows a link.
//
// A finished job's directory, emptied, serves the next job: under a build
// that saves a mkdir and an rmdir per job (0.1-0.5 ms each on ext4 here, and
// both take $TMPDIR's lock), and the open of its handle. Directories idle
// for a second are removed, and so are all of them when the daemon stops.
//
// Small files are written and read synchronously: a few syscalls on a local
// file system cost less than the thread-pool round trips of the async API,
// and they are on every job's critical path. Big ones go through the async
// API so one large job never stalls the event loop.

import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  read,
  readdirSync,
  readSync,
  unlinkSync,
  writeSync,
  writev,
  type Stats,
} from 'node:fs';
import { lstat, open, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Up to this size a file is read or written in the event loop. */
export const SYNC_IO_LIMIT = 256 * 1024;

const { O_RDONLY, O_WRONLY, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** A job file the daemon would not read or write: what was found there instead. */
export class JobFileError extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`job file ${file} refused: ${why}; not read or written`);
    this.name = 'JobFileError';
  }
}

export type JobDir = Readonly<{
  /** The directory on the daemon's side. */
  path: string;
  /** The same directory as the compiler sees it (inside a --chroot). */
  guest: string;
  guestInput: string;
  guestOutput: string;
  /**
   * The preprocessed input, with the extension the compiler needs to see;
   * like `output` and `deps`, a name through the directory's handle
   * (`/proc/self/fd/N/input.i`), for this process, while the job holds it.
   */
  input: string;
  output: string;
  /** Where a pump job's compiler writes the .d file, and the same as the compiler sees it. */
  deps: string;
  guestDeps: string;
  /** Writes the input from its pieces (as they came off the socket). */
  writeInput: (pieces: readonly Buffer[]) => Promise<void>;
  /** The output file, or an empty buffer if the compiler wrote none; JobFileError if refused. */
  readOutput: (limit?: number) => Promise<Buffer>;
  /**
   * A file of the job by name (`stdout`, `output.d`...), through the
   * directory's handle; empty if there is none; JobFileError if refused.
   */
  readFile: (name: string, limit?: number) => Promise<Buffer>;
  /** Opens the early-start pipe `name` for writing (O_NONBLOCK); an error if it is not the pipe. */
  openPipe: (name: string) => number;
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

/** `/proc/self/fd/N/`: names after it are looked up in the open directory N. */
function under(fd: number): string {
  return `/proc/self/fd/${fd}/`;
}

/** Opens a directory without following a link at its name. */
function openDirectory(path: string): number {
  return openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

/** Why `st` is not a job file the daemon may use, or undefined. */
function refusal(st: Stats, limit: number): string | undefined {
  if (!st.isFile()) return st.isFIFO() ? 'a named pipe, not a regular file' : 'not a regular file';
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid)
    return `owned by uid ${st.uid}, not the compilers' ${uid}`;
  if (st.nlink !== 1) return `${st.nlink} links to it (a hard link to another file)`;
  if (st.size > limit) return `${st.size} bytes, over the limit of ${limit}`;
  return undefined;
}

const readAt = promisify(read);
const writevAt = promisify(writev);

/** `size` bytes of fd from 0: sync when small, else on the thread pool; stops short at EOF. */
async function readFd(fd: number, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  while (at < size) {
    const n =
      size <= SYNC_IO_LIMIT
        ? readSync(fd, buf, at, size - at, at)
        : (await readAt(fd, buf, at, size - at, at)).bytesRead;
    if (n === 0) break;
    at += n;
  }
  return buf.subarray(0, at);
}

/**
 * Reads `name` in the directory open as `dirFd`: not through a link, only a
 * regular file of the compilers' account with one link, at most `limit`
 * bytes (read no further even if it grows); a missing file is an empty buffer.
 */
export async function readJobFile(dirFd: number, name: string, limit = Infinity): Promise<Buffer> {
  let fd: number;
  try {
    // O_NONBLOCK: a named pipe put there does not hang the open.
    fd = openSync(under(dirFd) + name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return Buffer.alloc(0);
    if (code === 'ELOOP') throw new JobFileError(name, 'a symbolic link');
    throw new JobFileError(name, `cannot open it: ${code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    const why = refusal(st, limit);
    if (why !== undefined) throw new JobFileError(name, why);
    return await readFd(fd, st.size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates or truncates `name` in the directory open as `dirFd` for writing,
 * refusing a link (symbolic or hard) or anything not a regular file of ours.
 */
function openForWriting(dirFd: number, name: string): number {
  // O_NONBLOCK: a named pipe put there does not hang the open. No O_TRUNC before the checks.
  const fd = openSync(under(dirFd) + name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  try {
    const st = fstatSync(fd);
    const why = refusal(st, Infinity);
    if (why !== undefined) throw new JobFileError(name, why);
    // Only a file that has something: ext4 (auto_da_alloc) flushes a file
    // truncated to 0 when it is closed, a few ms per job.
    if (st.size > 0) ftruncateSync(fd, 0);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

async function writeAll(fd: number, pieces: readonly Buffer[], size: number): Promise<void> {
  if (size <= SYNC_IO_LIMIT) {
    for (const piece of pieces) {
      for (let at = 0; at < piece.length;) at += writeSync(fd, piece, at);
    }
    return;
  }
  // libuv writes every piece, partial writes and IOV_MAX included.
  const { bytesWritten } = await writevAt(fd, pieces as Buffer[], 0);
  if (bytesWritten !== size) throw new Error(`wrote ${bytesWritten} of ${size} bytes`);
}

/**
 * Removes what is in the directory open as `dirFd`, subdirectories through
 * handles of their own (opened O_NOFOLLOW): a link is unlinked, never
 * followed, even if a compiler swaps a directory for one meanwhile.
 */
async function emptyTree(dirFd: number): Promise<void> {
  const at = under(dirFd);
  for (const entry of await readdir(at, { withFileTypes: true })) {
    const path = at + entry.name;
    if (!entry.isDirectory()) {
      await unlink(path).catch(() => {});
      continue;
    }
    let sub;
    try {
      sub = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch {
      // Swapped for something else since readdir: unlink that instead.
      await unlink(path).catch(() => {});
      continue;
    }
    try {
      await emptyTree(sub.fd);
    } finally {
      await sub.close();
    }
    await rmdir(path).catch(() => {});
  }
}

/** What an emptied job directory may still hold: the launcher makes them afresh for the next job. */
const KEPT = ['stdout', 'stderr'];

/**
 * Unlinks what is left in a job directory, then the directory; only if the
 * compiler left more than its outputs (-save-temps, -fstack-usage, a pump
 * job's tree...) does it walk the rest. The rmdir goes to the thread pool:
 * it takes the lock of $TMPDIR, which every other job's mkdtemp wants too.
 * The handle is closed at the end.
 */
async function removeJobDir(path: string, dirFd: number): Promise<void> {
  try {
    for (const file of KEPT) unlinkIfThere(under(dirFd) + file);
    try {
      await rmdir(path);
      return;
    } catch {
      /* not empty, or no longer the directory */
    }
    await emptyTree(dirFd);
    // Only if `path` still names a directory (rmdir of a link fails anyway).
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory()) await rmdir(path);
  } finally {
    closeSync(dirFd);
  }
}

/** Whether the directory open as `dirFd` holds only what KEPT allows. */
function holdsOnlyKept(dirFd: number): boolean {
  try {
    return readdirSync(under(dirFd)).every((name) => KEPT.includes(name));
  } catch {
    return false;
  }
}

type Idle = { path: string; fd: number; tmpdir: string; since: number };

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
    const kept = this.#take(tmpdir);
    let path: string;
    let fd: number;
    if (kept) ({ path, fd } = kept);
    else {
      path = mkdtempSync(join(tmpdir, 'tsdistccd_'));
      try {
        fd = openDirectory(path);
      } catch (err) {
        rmdirQuietly(path);
        throw err;
      }
    }
    return jobDir(path, fd, inputExt, outputExt, root, (made) =>
      this.#release(path, fd, tmpdir, made),
    );
  }

  /** Removes every kept directory (the daemon stops). */
  async empty(): Promise<void> {
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    await Promise.all(this.#idle.splice(0).map((d) => this.#remove(d)));
  }

  #take(tmpdir: string): Idle | undefined {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i]!.tmpdir === tmpdir) return this.#idle.splice(i, 1)[0]!;
    }
    return undefined;
  }

  async #release(path: string, fd: number, tmpdir: string, made: readonly string[]): Promise<void> {
    for (const name of made) unlinkIfThere(under(fd) + name);
    if (this.#idle.length < this.keep && holdsOnlyKept(fd)) {
      this.#idle.push({ path, fd, tmpdir, since: performance.now() });
      this.#sweep ??= setTimeout(() => this.#sweepIdle(), this.idleMs).unref();
      return;
    }
    await removeJobDir(path, fd);
  }

  #sweepIdle(): void {
    this.#sweep = undefined;
    const before = performance.now() - this.idleMs;
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      if (this.#idle[i]!.since <= before) void this.#remove(this.#idle.splice(i, 1)[0]!);
    }
    if (this.#idle.length > 0)
      this.#sweep = setTimeout(() => this.#sweepIdle(), this.idleMs).unref();
  }

  #remove(d: Idle): Promise<void> {
    return removeJobDir(d.path, d.fd).catch((err: Error) => this.onError(err));
  }
}

function rmdirQuietly(path: string): void {
  void rmdir(path).catch(() => {});
}

function jobDir(
  path: string,
  fd: number,
  inputExt: string,
  outputExt: string,
  root: string | undefined,
  release: (made: readonly string[]) => Promise<void>,
): JobDir {
  const inputName = `input.${inputExt}`;
  const outputName = `output.${outputExt}`;
  const guest = root !== undefined ? path.slice(root.replace(/\/+$/, '').length) : path;
  return Object.freeze({
    path,
    guest,
    guestInput: join(guest, inputName),
    guestOutput: join(guest, outputName),
    input: under(fd) + inputName,
    output: under(fd) + outputName,
    deps: `${under(fd)}output.d`,
    guestDeps: join(guest, 'output.d'),
    writeInput: async (pieces: readonly Buffer[]) => {
      const size = pieces.reduce((n, p) => n + p.length, 0);
      const file = openForWriting(fd, inputName);
      try {
        await writeAll(file, pieces, size);
      } finally {
        closeSync(file);
      }
    },
    readOutput: (limit?: number) => readJobFile(fd, outputName, limit),
    readFile: (name: string, limit?: number) => readJobFile(fd, name, limit),
    openPipe: (name: string) => {
      const pipe = openSync(under(fd) + name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
      if (!fstatSync(pipe).isFIFO()) {
        closeSync(pipe);
        throw Object.assign(new JobFileError(name, 'not the named pipe the launcher made'), {
          code: 'EFTYPE',
        });
      }
      return pipe;
    },
    // Not output.d: only pump jobs make it, and their tree (r/) is removed with the directory.
    remove: () => release([inputName, outputName]),
  });
}
