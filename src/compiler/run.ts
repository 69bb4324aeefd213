// Runs one compiler: stdin from /dev/null, output captured, in the job
// directory, in a process group of its own so that the whole group (gcc and
// its cc1, as) can be killed when the client leaves or the job outlives
// --job-lifetime. A compiler that fails or can't start is a result, not an
// exception (execa's `reject: false`).

import { constants } from 'node:os';
import { join } from 'node:path';
import { JobFileError, type JobDir } from './job-dir.js';
import type { Launcher } from './launcher.js';
import { sandboxedStatus, sandboxExecFailure, sandboxPrefix, type Sandbox } from './sandbox.js';

export type RunOptions = Readonly<{
  /** The job directory as the compiler sees it (inside a chroot). */
  cwd: string;
  /** The same directory from the daemon's side, where the outputs are read. */
  hostDir: string;
  /** Its files, read through the directory's handle (job-dir.ts), never by a path. */
  files: Pick<JobDir, 'readFile'>;
  /** A directory inside `cwd` to run in instead (pump jobs: the client's directory). */
  subdir?: string;
  env: NodeJS.ProcessEnv;
  /** Aborting kills the compiler's process group; the reason is kept in the result. */
  signal: AbortSignal;
  /** Most bytes of stdout or stderr kept; beyond that the job fails. */
  maxOutput: number;
  /** Fork through the resident launcher (launcher.ts) instead of forking the daemon. */
  launcher?: Launcher;
  /** Run the compiler in this sandbox (sandbox.ts), the job directory its only writable place. */
  sandbox?: Sandbox;
  /**
   * Early start (launcher only): `name` in the job directory is made a named
   * pipe, the compiler's stdin; `ready` is called once it can be opened for
   * writing, with the function that lets the launcher close its own end
   * (call it once the daemon's end is open: the compiler then sees EOF when
   * the daemon closes).
   */
  fifo?: Readonly<{ name: string; ready: (letGo: () => void) => void }>;
}>;

export type RunResult = Readonly<{
  /** Set when the process ran and exited. */
  exitCode?: number;
  /** Signal number that ended it, 0 if none. */
  signal: number;
  /** Set when the compiler could not be started at all (errno text). */
  startError?: string;
  stdout: Buffer;
  stderr: Buffer;
  /** Why it was aborted, if it was: the AbortSignal's reason. */
  aborted?: unknown;
  /** Set when a file it left (stdout, stderr) was refused unread: which, and why (JobFileError). */
  refused?: string;
}>;

/** Grace between SIGTERM and SIGKILL for a compiler that is being stopped. */
const KILL_GRACE_MS = 2000;

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

let execaModule: Promise<typeof import('execa')> | undefined;

/**
 * Loads execa, which only the daemon's own forking (no launcher) needs. Call
 * it before serving when there is no launcher: loading it imports
 * `node:process`, whose ESM facade touches process.stdin, which an --inetd
 * daemon has already taken over as its socket.
 */
export function loadExeca(): Promise<typeof import('execa')> {
  return (execaModule ??= import('execa'));
}

/** argv as it is started: behind the sandbox's prefix, if any. */
function confined(argv: readonly string[], opts: RunOptions): readonly string[] {
  if (!opts.sandbox) return argv;
  return [...sandboxPrefix(opts.sandbox, opts.hostDir, opts.cwd, opts.subdir ?? ''), ...argv];
}

/**
 * A sandboxed compiler's status as the compiler's own: bwrap's 128 + N is
 * signal N, and bwrap's "execvp failed" is a compiler that could not start.
 */
function unconfined(result: RunResult, opts: RunOptions): RunResult {
  if (!opts.sandbox || result.startError !== undefined || result.exitCode === undefined) {
    return result;
  }
  const failed = sandboxExecFailure(result.exitCode, result.stderr);
  if (failed !== undefined) return { ...result, startError: failed, stderr: Buffer.alloc(0) };
  const status = sandboxedStatus(result.exitCode << 8);
  if ((status & 0x7f) === 0) return result;
  const { stdout, stderr, aborted } = result;
  return { signal: status & 0x7f, stdout, stderr, ...(aborted !== undefined ? { aborted } : {}) };
}

async function startDirect(argv: readonly string[], opts: RunOptions) {
  const [file, ...args] = confined(argv, opts) as [string, ...string[]];
  const { execa } = await loadExeca();
  // In an object: the subprocess is a thenable, which an async function would wait for.
  return {
    child: execa(file, args, {
      // A sandboxed compiler starts in its job directory inside the sandbox (--chdir).
      cwd: opts.sandbox ? opts.hostDir : opts.subdir ? join(opts.cwd, opts.subdir) : opts.cwd,
      // The compiler's own temporary files go with the job directory.
      env: { ...opts.env, TMPDIR: opts.cwd },
      extendEnv: false,
      stdin: 'ignore',
      detached: true,
      encoding: 'buffer',
      reject: false,
      stripFinalNewline: false,
      maxBuffer: opts.maxOutput,
      cleanup: true,
    }),
  };
}

const LAUNCH_FAILED = /^failed to exec [^\n]*: ([^\n]*)\n$/;

function errnoText(errno: string): string {
  if (errno === 'ENOENT') return 'No such file or directory';
  if (errno === 'EACCES') return 'Permission denied';
  return errno;
}

type Signal = 'SIGTERM' | 'SIGKILL';

/**
 * Kills the compiler when the signal aborts: SIGTERM, then SIGKILL after the
 * grace. `leftovers` runs once it has exited, if it was aborted: what its
 * group may still hold.
 */
function watchAbort(opts: RunOptions, kill: (signal: Signal) => void, leftovers: () => void) {
  let forceKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    kill('SIGTERM');
    forceKill = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
    forceKill.unref();
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) onAbort();
  return {
    done: () => {
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) leftovers();
      clearTimeout(forceKill);
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** A capture file of the job, unless the launcher said it is empty; a refusal goes into `refused`. */
async function readIfAny(
  opts: RunOptions,
  name: 'stdout' | 'stderr',
  size: number | undefined,
  refused: string[],
): Promise<Buffer> {
  if (size === 0) return EMPTY;
  try {
    return await opts.files.readFile(name, opts.maxOutput);
  } catch (err) {
    if (!(err instanceof JobFileError)) throw err;
    refused.push(err.message);
    return EMPTY;
  }
}

async function runLaunched(
  argv: readonly string[],
  opts: RunOptions,
  launcher: Launcher,
): Promise<RunResult> {
  // Sandboxed, the launcher starts bwrap in the job directory as the daemon sees it.
  const started = opts.sandbox
    ? launcher.start(confined(argv, opts), opts.hostDir, '', opts.fifo?.name ?? '')
    : launcher.start(argv, opts.cwd, opts.subdir ?? '', opts.fifo?.name ?? '');
  let pid: number | undefined;
  // A sandboxed launcher's pids are of its own namespace: only it can signal them
  // (and the kernel ends what a sandboxed compiler leaves).
  const own = !launcher.sandboxed;
  const abort = watchAbort(opts, started.kill, () => {
    if (own) killGroup(pid, 'SIGKILL');
  });
  try {
    pid = await started.pid;
    if (pid !== undefined) opts.fifo?.ready(started.letGo);
    const exit = await started.status;
    const aborted = opts.signal.aborted ? { aborted: opts.signal.reason as unknown } : {};
    // Files the launcher said are empty (or that a dead launcher could not measure) are not opened.
    const bad: string[] = [];
    const [stdout, stderr] = await Promise.all([
      readIfAny(opts, 'stdout', exit?.stdoutSize, bad),
      readIfAny(opts, 'stderr', exit?.stderrSize, bad),
    ]);
    if (bad.length > 0) {
      return { signal: 0, stdout, stderr, refused: bad.join('; '), ...aborted };
    }
    const status = exit?.status;
    if (status === undefined) {
      // Its compiler, in a group of its own, would run on unseen.
      if (own) killGroup(pid, 'SIGKILL');
      return { signal: 0, startError: 'the launcher process died', stdout, stderr, ...aborted };
    }
    const exitCode = (status >> 8) & 0xff;
    const signal = status & 0x7f;
    if (signal === 0 && exitCode === 110) {
      const m = LAUNCH_FAILED.exec(stderr.toString('utf8'));
      if (m) return { signal: 0, startError: m[1]!, stdout, stderr: Buffer.alloc(0), ...aborted };
    }
    return { ...(signal === 0 ? { exitCode } : {}), signal, stdout, stderr, ...aborted };
  } finally {
    abort.done();
  }
}

async function runDirect(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { child } = await startDirect(argv, opts);
  const abort = watchAbort(
    opts,
    (signal) => killGroup(child.pid, signal),
    () => killGroup(child.pid, 'SIGKILL'),
  );
  try {
    const result = await child;
    const stdout = Buffer.from(result.stdout);
    const stderr = Buffer.from(result.stderr);
    const aborted = opts.signal.aborted ? { aborted: opts.signal.reason as unknown } : {};
    const errno = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (result.exitCode === undefined && result.signal === undefined && errno) {
      return { signal: 0, startError: errnoText(errno), stdout, stderr, ...aborted };
    }
    const signal = result.signal ? (constants.signals[result.signal] ?? 0) : 0;
    return {
      ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      signal,
      stdout,
      stderr,
      ...aborted,
    };
  } finally {
    abort.done();
  }
}

async function runOnce(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const result = await (opts.launcher
    ? runLaunched(argv, opts, opts.launcher)
    : runDirect(argv, opts));
  return unconfined(result, opts);
}

/**
 * Runs argv. As distccd's dcc_execvp: if argv[0] has a slash and can't be
 * started, try its basename on PATH (the launcher does this itself).
 */
export async function runCompiler(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const first = await runOnce(argv, opts);
  const name = argv[0]!;
  // The launcher retries by itself, but not for a compiler behind bwrap.
  if ((!opts.launcher || opts.sandbox) && first.startError && name.includes('/')) {
    const base = name.slice(name.lastIndexOf('/') + 1);
    const second = await runOnce([base, ...argv.slice(1)], opts);
    if (!second.startError) return second;
  }
  return first;
}
