// Runs one compiler: stdin from /dev/null, output captured, in the job
// directory, in a process group of its own so that the whole group (gcc and
// its cc1, as) can be killed when the client leaves or the job outlives
// --job-lifetime. A compiler that fails or can't start is a result, not an
// exception (execa's `reject: false`).

import { constants } from 'node:os';
import { execa } from 'execa';

export type RunOptions = Readonly<{
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborting kills the compiler's process group; the reason is kept in the result. */
  signal: AbortSignal;
  /** Most bytes of stdout or stderr kept; beyond that the job fails. */
  maxOutput: number;
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

async function runOnce(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: 'ignore',
    detached: true,
    encoding: 'buffer',
    reject: false,
    stripFinalNewline: false,
    maxBuffer: opts.maxOutput,
    cleanup: true,
  });
  let forceKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup(child.pid, 'SIGTERM');
    forceKill = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    forceKill.unref();
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) onAbort();
  try {
    const result = await child;
    const stdout = Buffer.from(result.stdout);
    const stderr = Buffer.from(result.stderr);
    const aborted = opts.signal.aborted ? { aborted: opts.signal.reason as unknown } : {};
    const errno = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (result.exitCode === undefined && result.signal === undefined && errno) {
      const text =
        errno === 'ENOENT'
          ? 'No such file or directory'
          : errno === 'EACCES'
            ? 'Permission denied'
            : errno;
      return { signal: 0, startError: text, stdout, stderr, ...aborted };
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
    opts.signal.removeEventListener('abort', onAbort);
    // The group may still hold children of a compiler that exited.
    if (opts.signal.aborted) killGroup(child.pid, 'SIGKILL');
    clearTimeout(forceKill);
  }
}

/**
 * Runs argv. As distccd's dcc_execvp: if argv[0] has a slash and can't be
 * started, try its basename on PATH.
 */
export async function runCompiler(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const first = await runOnce(argv, opts);
  const name = argv[0]!;
  if (first.startError && name.includes('/')) {
    const base = name.slice(name.lastIndexOf('/') + 1);
    const second = await runOnce([base, ...argv.slice(1)], opts);
    if (!second.startError) return second;
  }
  return first;
}
