// distcc's monitor state files, `$DISTCC_DIR/state/binstate_<pid>`: one
// native-endian `struct dcc_task_state` per client process, which
// distccmon-text and distccmon-gnome read. A "private format" in distcc
// (src/state.c), so it is matched byte for byte here against distcc 3.4.

import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  opendirSync,
  readSync,
  unlinkSync,
  writeFileSync,
  type Dir,
} from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';

/** distcc src/state.h `enum dcc_phase`, in the order a job goes through them. */
export const Phase = {
  STARTUP: 0,
  BLOCKED: 1,
  CONNECT: 2,
  CPP: 3,
  SEND: 4,
  COMPILE: 5,
  RECEIVE: 6,
  DONE: 7,
} as const;
export type PhaseValue = (typeof Phase)[keyof typeof Phase];

/** distcc src/state.c dcc_get_phase_name(); "Unknown" never shows, mon.c maps it to Compile. */
export const PHASE_NAMES: Readonly<Record<PhaseValue, string>> = {
  0: 'Startup',
  1: 'Blocked',
  2: 'Connect',
  3: 'Preprocess',
  4: 'Send',
  5: 'Compile',
  6: 'Receive',
  7: 'Done',
};

/**
 * `pid` is the client process (distcc writes its own getpid()); `file` the
 * source's basename; `host` the host name alone (no user, port or options;
 * "localhost" for local jobs); `slot` the CPU slot it locked on that host.
 */
export type TaskState = {
  pid: number;
  file: string;
  host: string;
  slot: number;
  phase: PhaseValue;
};

/**
 * Where the fields of `struct dcc_task_state` lie for one ABI:
 *
 *   size_t struct_size; unsigned long magic; unsigned long cpid;
 *   char file[128]; char host[128]; int slot; enum dcc_phase curr_phase;
 *   struct dcc_task_state *next;   (garbage in the file; distcc leaves 0)
 *
 * LP64 (x86-64, arm64, …): words of 8 at 0/8/16, file 24, host 152, slot 280,
 * phase 284, next 288, 296 bytes. ILP32 (i386, armhf, …): words of 4 at 0/4/8,
 * file 12, host 140, slot 268, phase 272, next 276, 280 bytes.
 */
export type Layout = {
  readonly word: 4 | 8;
  readonly littleEndian: boolean;
  readonly file: number;
  readonly host: number;
  readonly slot: number;
  readonly phase: number;
  readonly size: number;
};

const NAME_SIZE = 128;
const STATE_MAGIC = 0x44494800; // "DIH\0", distcc src/state.h DCC_STATE_MAGIC
const STATE_PREFIX = 'binstate_';
const MAX_AGE_S = 60; // distcc src/mon.c dcc_phase_max_age

/** Node's 32-bit architectures; all others have 8-byte longs and pointers. */
const ARCH_32 = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390']);

export function layoutFor(arch: string, byteOrder: 'BE' | 'LE'): Layout {
  const word = ARCH_32.has(arch) ? 4 : 8;
  const file = 3 * word;
  const host = file + NAME_SIZE;
  const slot = host + NAME_SIZE;
  return {
    word,
    littleEndian: byteOrder === 'LE',
    file,
    host,
    slot,
    phase: slot + 4,
    size: slot + 8 + word,
  };
}

export const NATIVE_LAYOUT: Layout = layoutFor(process.arch, endianness());

/** sizeof(struct dcc_task_state) here: 296 on 64-bit, 280 on 32-bit. */
export const STATE_SIZE: number = NATIVE_LAYOUT.size;

/** distcc src/filename.c dcc_find_basename(): after the last '/', unless that ends the name. */
function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 || slash === path.length - 1 ? path : path.slice(slash + 1);
}

/** strlcpy into char[128]: at most 127 bytes, cut anywhere (even inside a UTF-8 sequence). */
function putName(buf: Buffer, offset: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const len = Math.min(bytes.indexOf(0) === -1 ? bytes.length : bytes.indexOf(0), NAME_SIZE - 1);
  bytes.copy(buf, offset, 0, len);
}

/** mon.c forces char[127] to NUL, so a name is at most 127 bytes. */
function nameBytes(buf: Buffer, offset: number): Buffer {
  const field = buf.subarray(offset, offset + NAME_SIZE - 1);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

function writeWord(view: DataView, offset: number, value: number, layout: Layout): void {
  if (layout.word === 8) view.setBigUint64(offset, BigInt(value), layout.littleEndian);
  else view.setUint32(offset, value, layout.littleEndian);
}

function readWord(view: DataView, offset: number, layout: Layout): bigint {
  return layout.word === 8
    ? view.getBigUint64(offset, layout.littleEndian)
    : BigInt(view.getUint32(offset, layout.littleEndian));
}

/**
 * The struct as distcc's dcc_note_state() writes it: `file` cut to its
 * basename, both names strlcpy'd (127 bytes + NUL), the rest zero.
 */
export function encodeState(s: TaskState, layout: Layout = NATIVE_LAYOUT): Buffer {
  const buf = Buffer.alloc(layout.size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  writeWord(view, 0, layout.size, layout);
  writeWord(view, layout.word, STATE_MAGIC, layout);
  writeWord(view, 2 * layout.word, s.pid >>> 0, layout);
  putName(buf, layout.file, basename(s.file));
  putName(buf, layout.host, s.host);
  view.setInt32(layout.slot, s.slot, layout.littleEndian);
  view.setUint32(layout.phase, s.phase, layout.littleEndian);
  return buf;
}

/** The host's raw bytes too: mon.c sorts with strcmp, not on decoded text. */
type Decoded = { state: TaskState; hostBytes: Buffer };

function decode(buf: Buffer, layout: Layout): Decoded | undefined {
  if (buf.length !== layout.size) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (readWord(view, layout.word, layout) !== BigInt(STATE_MAGIC)) return undefined;
  if (readWord(view, 0, layout) !== BigInt(layout.size)) return undefined;
  const cpid = readWord(view, 2 * layout.word, layout);
  // The enum is unsigned to gcc: anything past Done, "negative" too, is Compile.
  const raw = view.getUint32(layout.phase, layout.littleEndian);
  const hostBytes = nameBytes(buf, layout.host);
  const state: TaskState = {
    // distccmon-text prints `(long) cpid`.
    pid: Number(BigInt.asIntN(layout.word * 8, cpid)),
    file: nameBytes(buf, layout.file).toString('utf8'),
    host: hostBytes.toString('utf8'),
    slot: view.getInt32(layout.slot, layout.littleEndian),
    phase: raw > Phase.DONE ? Phase.COMPILE : (raw as PhaseValue),
  };
  return { state, hostBytes };
}

/**
 * The struct as distcc src/mon.c dcc_mon_read_state() accepts it: exactly one
 * struct's bytes, right magic and struct_size; undefined otherwise.
 */
export function decodeState(buf: Buffer, layout: Layout = NATIVE_LAYOUT): TaskState | undefined {
  return decode(buf, layout)?.state;
}

function ioError(message: string, cause: unknown): TsdistccError {
  return new TsdistccError(message, ExitCode.IO_ERROR, { cause });
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * One process's state file. Each write opens, truncates, writes and closes,
 * as distcc's dcc_note_state() does: keeping the fd would save a syscall or
 * two a phase, but a reader unlinks files untouched for 60 s (a long remote
 * compile), and only a fresh O_CREAT brings the file back. Failures throw a
 * TsdistccError (exit 107); distcc only logs them, so callers may do the same.
 */
export class StateFile {
  readonly path: string;
  readonly #dir: string;
  readonly #pid: number;

  constructor(distccDir: string, pid: number = process.pid) {
    this.#dir = join(distccDir, 'state');
    this.#pid = pid;
    this.path = join(this.#dir, `${STATE_PREFIX}${pid}`);
  }

  write(s: Omit<TaskState, 'pid'>): void {
    const buf = encodeState({ ...s, pid: this.#pid });
    try {
      try {
        writeFileSync(this.path, buf, { mode: 0o666 });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        // distcc src/tempfile.c dcc_get_subdir(): mkdir 0777, tolerating EEXIST.
        // One level only: a DISTCC_DIR that is gone is not made again.
        try {
          mkdirSync(this.#dir, { mode: 0o777 });
        } catch (e) {
          if (errnoCode(e) !== 'EEXIST') throw e;
        }
        writeFileSync(this.path, buf, { mode: 0o666 });
      }
    } catch (err) {
      throw ioError(`cannot write monitor state file ${this.path}`, err);
    }
  }

  /** distcc src/state.c dcc_remove_state_file(): a file never written is fine. */
  remove(): void {
    try {
      unlinkSync(this.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT')
        throw ioError(`cannot remove monitor state file ${this.path}`, err);
    }
  }
}

/** distcc src/mon.c dcc_mon_check_orphans(): kill(pid, 0), EPERM counts as alive. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid | 0, 0); // kill() takes a pid_t
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** distcc src/mon.c dcc_mon_do_file(): one directory entry, or undefined to skip it. */
function readOne(path: string, nowS: number): Decoded | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined; // gone meanwhile, or unreadable
  }
  let buf: Buffer;
  try {
    if (nowS - Math.floor(fstatSync(fd).mtimeMs / 1000) > MAX_AGE_S) {
      closeSync(fd);
      fd = -1;
      try {
        unlinkSync(path);
      } catch {
        /* someone else's stale file, or already removed */
      }
      return undefined;
    }
    // One read() of sizeof bytes: a longer file is fine, a shorter one not.
    buf = Buffer.alloc(STATE_SIZE);
    buf = buf.subarray(0, readSync(fd, buf, 0, STATE_SIZE, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
  const d = decode(buf, NATIVE_LAYOUT);
  if (!d) return undefined;
  if (d.state.phase !== Phase.DONE && !pidAlive(d.state.pid)) return undefined;
  return d;
}

/**
 * Every job distcc src/mon.c dcc_mon_poll() would list: files named
 * binstate_*, stale ones (mtime more than 60 s before `now`) unlinked, bad
 * ones and dead pids skipped, sorted by host (strcmp) then slot, ties in
 * directory order. Done entries are kept (their pid is not even checked), as
 * mon.c keeps them; distccmon-text leaves them out when printing. A missing
 * state directory is no jobs (mon.c would create it).
 */
export function readStates(distccDir: string, now: number = Date.now()): TaskState[] {
  const dir = join(distccDir, 'state');
  let handle: Dir;
  try {
    handle = opendirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw ioError(`cannot read monitor state directory ${dir}`, err);
  }
  const found: Decoded[] = [];
  const nowS = Math.floor(now / 1000);
  try {
    // opendir, not readdirSync: libuv's scandir sorts names, readdir does not.
    for (let entry = handle.readSync(); entry; entry = handle.readSync()) {
      if (!entry.name.startsWith(STATE_PREFIX)) continue;
      const state = readOne(join(dir, entry.name), nowS);
      if (state) found.push(state);
    }
  } finally {
    handle.closeSync();
  }
  // Array sort is stable, as mon.c's insertion after equal keys is.
  found.sort((a, b) => Buffer.compare(a.hostBytes, b.hostBytes) || a.state.slot - b.state.slot);
  return found.map((d) => d.state);
}

/** printf's `%-W.Ps` / `%W.Ps` on bytes, as glibc counts them. */
function cField(text: string, width: number, left: boolean): Buffer {
  const bytes = Buffer.from(text, 'utf8').subarray(0, width);
  const pad = Buffer.alloc(width - bytes.length, ' ');
  return left ? Buffer.concat([bytes, pad]) : Buffer.concat([pad, bytes]);
}

/**
 * One line (no newline) as distcc src/mon-text.c prints it:
 * `"%6ld  %-10.10s  %-30.30s %24.24s[%d]"` of pid, phase name, file, host, slot.
 */
export function formatStateLine(s: TaskState): string {
  return Buffer.concat([
    Buffer.from(`${String(s.pid).padStart(6)}  `),
    cField(PHASE_NAMES[s.phase], 10, true),
    Buffer.from('  '),
    cField(s.file, 30, true),
    Buffer.from(' '),
    cField(s.host, 24, false),
    Buffer.from(`[${s.slot}]`),
  ]).toString('utf8');
}

/** What one poll of distccmon-text prints: a line per job not Done, then an empty line. */
export function formatStates(states: readonly TaskState[]): string {
  return states
    .filter((s) => s.phase !== Phase.DONE)
    .map((s) => `${formatStateLine(s)}\n`)
    .join('')
    .concat('\n');
}
