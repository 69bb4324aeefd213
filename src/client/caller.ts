// The process the user ran, seen from the code that builds: where it is, its
// umask and environment, its stdout and stderr, and how to run a program as
// its child. Two kinds: this very process (plain `tsdistcc`), or a launcher
// talking to the resident agent (agent/session.ts), where the compilers are
// children of the launcher and the agent only talks.
//
// Children start through system/spawn.ts (node:child_process, not execa:
// the plain client starts once per source file). They get _DISTCC_SAFEGUARD
// one higher, so a compiler that finds the masquerade directory again runs
// locally.

import { closeSync, constants, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { startProcess } from '../system/spawn.js';

export type ChildResult = { code: number; signal: NodeJS.Signals | undefined };

export type Caller = {
  /** The pid the user sees: state files and messages carry it. */
  readonly pid: number;
  readonly cwd: string;
  readonly umask: number;
  readonly env: NodeJS.ProcessEnv;
  stdout(data: Buffer | string): void;
  stderr(data: Buffer | string): void;
  /** Runs `argv` with the caller's stdin, stdout and stderr. */
  run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult>;
  /**
   * Runs the preprocessor: stdin /dev/null, stdout into `outFile`, an empty
   * file the client made (mode 0600, in a directory of this user).
   */
  preprocess(
    argv: readonly string[],
    env: NodeJS.ProcessEnv,
    outFile: string,
  ): Promise<ChildResult>;
};

export function childEnv(env: NodeJS.ProcessEnv, level: number): NodeJS.ProcessEnv {
  return { ...env, _DISTCC_SAFEGUARD: String(level + 1) };
}

const SIGNALS = osConstants.signals as Record<string, number>;

/** A wait-status-like exit code: the compiler's, or 128 + the signal's number. */
export function exitCodeOf(result: ChildResult): number {
  if (result.signal) return 128 + (SIGNALS[result.signal] ?? 0);
  return result.code;
}

/** The signal with number `n`, for wait statuses that come over the wire. */
export function signalName(n: number): NodeJS.Signals {
  const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
  return (name ?? 'SIGKILL') as NodeJS.Signals;
}

function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  stdio: ('inherit' | 'ignore' | number)[],
): Promise<ChildResult> {
  return startProcess(argv, { env, stdio }).ended.then(({ exitCode, signal, error }) => {
    if (error) {
      process.stderr.write(
        `tsdistcc[${process.pid}] ERROR: failed to exec ${argv[0]}: ${error.message}\n`,
      );
      return { code: error.code === 'ENOENT' ? 127 : 126, signal: undefined };
    }
    return { code: exitCode ?? 0, signal };
  });
}

/** This process as the caller: the plain client. */
export function thisProcess(env: NodeJS.ProcessEnv): Caller {
  const umask = process.umask();
  return {
    pid: process.pid,
    cwd: process.cwd(),
    umask,
    env,
    stdout: (data) => process.stdout.write(data),
    stderr: (data) => process.stderr.write(data),
    run: (argv, childEnv) => run(argv, childEnv, ['inherit', 'inherit', 'inherit']),
    preprocess: (argv, childEnv, outFile) => {
      const fd = openSync(outFile, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
      const done = run(argv, childEnv, ['ignore', fd, 'inherit']);
      closeSync(fd);
      return done;
    },
  };
}
