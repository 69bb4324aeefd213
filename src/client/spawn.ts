// Running the preprocessor and the local compiler. node:child_process is used
// directly rather than execa: the client starts once per source file and
// importing execa costs more than the rest of the client together (see
// README, "The client"). Children get _DISTCC_SAFEGUARD one higher, so a
// compiler that finds the masquerade directory again runs locally.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export type ChildResult = { code: number; signal: NodeJS.Signals | undefined };

export function childEnv(env: NodeJS.ProcessEnv, level: number): NodeJS.ProcessEnv {
  return { ...env, _DISTCC_SAFEGUARD: String(level + 1) };
}

function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  stdio: ('inherit' | 'ignore' | number)[],
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio });
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(
        `tsdistcc[${process.pid}] ERROR: failed to exec ${argv[0]}: ${err.message}\n`,
      );
      resolve({ code: err.code === 'ENOENT' ? 127 : 126, signal: undefined });
    });
    child.once('exit', (code, signal) => {
      resolve({ code: code ?? 0, signal: signal ?? undefined });
    });
  });
}

/** The compiler, here, with the caller's stdin, stdout and stderr. */
export function runHere(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return run(argv, env, ['inherit', 'inherit', 'inherit']);
}

/** The preprocessor, its output into `outFile` (created, mode 0600), stdin from /dev/null. */
export function runPreprocessor(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  outFile: string,
): Promise<ChildResult> {
  const fd = openSync(outFile, 'wx', 0o600);
  const done = run(argv, env, ['ignore', fd, 'inherit']);
  closeSync(fd);
  return done;
}

/** A wait-status-like exit code: the compiler's, or 128 + the signal's number. */
export function exitCodeOf(result: ChildResult, signals: Record<string, number>): number {
  if (result.signal) return 128 + (signals[result.signal] ?? 0);
  return result.code;
}
