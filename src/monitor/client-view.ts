// The client's view, as distccmon-text shows it: the jobs of this user's
// distcc and tsdistcc processes, from `$DISTCC_DIR/state/binstate_*`.

import { mkdirSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { ExitCode, TsdistccError } from '../errors.js';
import { asciiJson, escapeLog } from '../logging/escape.js';
import { PHASE_NAMES, Phase, formatStates, readStates, type TaskState } from '../state/binstate.js';

/** strerror(3)'s text for a Node error code ("No such file or directory"). */
export function strerror(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | undefined)?.errno;
  const text = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1];
  if (text === undefined) return (err as Error).message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** distcc src/util.c dcc_mkdir(): mkdir 0777, an existing one is fine. */
function mkdirOnce(path: string): void {
  try {
    mkdirSync(path, { mode: 0o777 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new TsdistccError(`mkdir '${path}' failed: ${strerror(err)}`, ExitCode.IO_ERROR, {
      cause: err,
    });
  }
}

/**
 * The state directory as distccmon-text finds it (distcc src/util.c
 * dcc_get_top_dir, src/state.c dcc_get_state_dir): `$DISTCC_DIR` as it is
 * (even empty: then `/state`), else `$HOME/.distcc`, created; an unset HOME is
 * exit 101; then `state` inside, created. A DISTCC_DIR that does not exist
 * is exit 107.
 */
export function stateTopDir(env: NodeJS.ProcessEnv): string {
  const distccDir = env.DISTCC_DIR;
  if (distccDir !== undefined) {
    mkdirOnce(`${distccDir}/state`);
    return distccDir;
  }
  if (env.HOME === undefined) {
    throw new TsdistccError("HOME is not set; can't find distcc directory", ExitCode.BAD_ARGUMENTS);
  }
  const top = `${env.HOME}/.distcc`;
  mkdirOnce(top);
  mkdirOnce(`${top}/state`);
  return top;
}

/**
 * One poll: exactly what one poll of distccmon-text prints, but for file and
 * host names with control or bidi characters, which are escaped (escapeLog)
 * where distccmon-text prints them raw to the terminal.
 */
export function clientText(env: NodeJS.ProcessEnv): string {
  const states = readStates(stateTopDir(env)).map((s) => ({
    ...s,
    file: escapeLog(s.file),
    host: escapeLog(s.host),
  }));
  return formatStates(states);
}

export type ClientJob = Omit<TaskState, 'phase'> & { phase: string };

/** One poll for scripts: the jobs distccmon-text would print, phase by name. */
export function clientJson(env: NodeJS.ProcessEnv): string {
  const jobs: ClientJob[] = readStates(stateTopDir(env))
    .filter((s) => s.phase !== Phase.DONE)
    .map((s) => ({ ...s, phase: PHASE_NAMES[s.phase] }));
  return `${asciiJson({ jobs })}\n`;
}
