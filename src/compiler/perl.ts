// The resident Perl helpers (the compiler launcher, the datagram sender) are
// started here: one place for execa, as for every process tsdistcc runs.

import { execa } from 'execa';

/** Starts `perl -e SCRIPT ARGS...` with piped stdio and no buffering of its output. */
export function spawnPerl(script: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  return execa('perl', ['-e', script, ...args], {
    env,
    extendEnv: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
  });
}

export type PerlProcess = ReturnType<typeof spawnPerl>;
