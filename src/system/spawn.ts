// Where tsdistcc's own processes start. Three other places start
// processes, each for a reason of its own: compilers the daemon forks
// itself (compiler/run.ts, with execa), the resident Perl helpers, the
// launcher and the datagram sender (compiler/perl.ts), and the sandbox's
// trial run (compiler/sandbox.ts); the launcher forks the daemon's
// compilers. Everything else starts here: the client's compiler and
// preprocessor (client/caller.ts), ssh to a server (client/connect.ts),
// the daemon's background copy (system/detach.ts), getent
// (system/privileges.ts) and the zeroconf compiler probe
// (zeroconf/service.ts, in the instance's confinement: compiler/confinement.ts).
//
// node:child_process, not execa: the plain client starts once per source
// file, and importing execa costs more than the rest of the client
// together. These add no process and no await to a plain spawn.

import {
  execFile,
  execFileSync,
  spawn,
  type ChildProcess,
  type SpawnOptions,
} from 'node:child_process';

/** How a process ended: its exit code or the signal that ended it, or why it never started. */
export type ProcessEnd = Readonly<{
  exitCode?: number;
  signal?: NodeJS.Signals;
  /** Set when it could not be started (ENOENT, EACCES...); nothing else is then. */
  error?: NodeJS.ErrnoException;
}>;

export type Started = Readonly<{
  child: ChildProcess;
  /** Resolves when it exits (not waiting for its stdio to close), or could not start; never rejects. */
  ended: Promise<ProcessEnd>;
}>;

/** Starts argv[0] with the rest as its arguments. */
export function startProcess(argv: readonly string[], options: SpawnOptions): Started {
  const child = spawn(argv[0]!, argv.slice(1), options);
  const ended = new Promise<ProcessEnd>((resolve) => {
    // A process that never started emits 'error' and no 'exit'; an error of
    // one that runs (a failed kill) changes nothing of how it ends.
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolve({ error });
    });
    child.once('exit', (code, signal) =>
      resolve({
        ...(code !== null ? { exitCode: code } : {}),
        ...(signal !== null ? { signal } : {}),
      }),
    );
  });
  return { child, ended };
}

export type OutputOptions = Readonly<{
  env: NodeJS.ProcessEnv;
  /** Killed (and undefined) after this many milliseconds. */
  timeout: number;
  uid?: number;
  gid?: number;
}>;

/** argv's standard output, or undefined if it did not start, failed or timed out. */
export function outputOf(argv: readonly string[], o: OutputOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      {
        env: o.env,
        timeout: o.timeout,
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.gid !== undefined ? { gid: o.gid } : {}),
      },
      (err, stdout) => resolve(err ? undefined : stdout),
    );
  });
}

/** The same, waiting for it (start-up only); its stderr goes to ours. */
export function outputOfSync(argv: readonly string[]): string | undefined {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}
