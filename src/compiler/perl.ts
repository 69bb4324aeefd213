// The resident Perl helpers (the compiler launcher, the datagram sender) are
// started here. They need nothing of execa's (no shell, no buffered output,
// no result object but the exit): node:child_process starts them, and execa —
// some 6 MB of the daemon's resident memory once loaded — is loaded only
// when the daemon forks compilers itself (--no-launcher, run.ts). A helper
// ends when its stdin closes, which the daemon's exit does.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** How a helper ended: its exit status, the signal that ended it, or why it never ran. */
export type PerlExit = Readonly<{ exitCode?: number; signal?: NodeJS.Signals; code?: string }>;

/** The helper process; awaiting it gives how it ended (never rejects). */
export type PerlProcess = ChildProcessWithoutNullStreams & PromiseLike<PerlExit>;

export type PerlOptions = Readonly<{
  /** A pipe to the helper on its fd 3 (`child.stdio[3]`); its stdin is then /dev/null. */
  jobChannel?: boolean;
  /** Start it as this account (from a root daemon). */
  as?: Readonly<{ uid: number; gid: number }>;
}>;

/** Starts `perl -e SCRIPT ARGS...` with piped stdio. */
export function spawnPerl(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: PerlOptions = {},
): PerlProcess {
  const child = spawn('perl', ['-e', script, ...args], {
    env,
    stdio: opts.jobChannel ? ['ignore', 'pipe', 'pipe', 'pipe'] : 'pipe',
    ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
  }) as ChildProcessWithoutNullStreams;
  const ended = new Promise<PerlExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
      // A process that never started emits no 'close'.
      if (child.pid === undefined) resolve({ code: spawnError });
    });
    child.once('close', (exitCode, signal) =>
      resolve({
        ...(exitCode !== null ? { exitCode } : {}),
        ...(signal !== null ? { signal } : {}),
        ...(spawnError !== undefined ? { code: spawnError } : {}),
      }),
    );
  });
  return Object.assign(child, { then: ended.then.bind(ended) });
}
