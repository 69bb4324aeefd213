// tsdistcc: main() for the client. Reads how it was called, answers its own
// options, or builds the command somewhere and returns the exit code.
// Imports only node: built-ins and this project's modules, so it starts fast.

import { ExitCode, TsdistccError } from './errors.js';
import { buildSomewhere, type BuildContext } from './client/build.js';
import { readHostList } from './client/host-source.js';
import { readInvocation, safeguardLevel } from './client/invocation.js';
import { ClientLog } from './client/log.js';
import { distccDir } from './client/state-dir.js';
import { VERSION } from './version.js';
import { thisProcess, type Caller } from './client/caller.js';
import { unlinkSync } from 'node:fs';

export const CLIENT_USAGE = `Usage:
   tsdistcc [--help | --version | --show-hosts | -j]
   tsdistcc [COMPILER] [compile options] -o OBJECT -c SOURCE
   COMPILER [compile options] -o OBJECT -c SOURCE   (through a masquerade directory)

Options:
   COMPILER                   Defaults to "cc".
   --help                     Explain usage, and exit.
   --version                  Show version, and exit.
   --show-hosts               Show host list, and exit.
   -j                         Calculate the concurrency level from the host list,
                              and exit.

Environment variables:
   See the tsdistcc(1) manual page for the whole list.
   DISTCC_HOSTS               Hosts to compile on, in distcc's syntax.
   DISTCC_VERBOSE=1           Give debug messages.
   DISTCC_LOG                 Send messages to this file, not stderr.
   DISTCC_DIR                 State directory (default ~/.distcc).
   DISTCC_FALLBACK=0          Fail instead of compiling here when no host works.
   DISTCC_SKIP_LOCAL_RETRY    Do not retry here a compile that failed remotely.
   DISTCC_BACKOFF_PERIOD      Seconds a failed host is skipped (default 60).
   DISTCC_IO_TIMEOUT          Seconds to wait for a server (default 300).
   DISTCC_PAUSE_TIME_MSEC     Wait between tries when every slot is busy (1000).
   DISTCC_SAVE_TEMPS=1        Keep the preprocessed files.
   DISTCC_SSH                 Command for @HOST hosts (default ssh).
   DISTCC_NO_REWRITE_CROSS    Do not rewrite gcc to TRIPLE-gcc.
   TMPDIR                     Where preprocessed files go (default /tmp).

Host specifications (in DISTCC_HOSTS, ~/.distcc/hosts or /etc/distcc/hosts):
   localhost[/N]              Run here, N at once (default 2).
   HOST[:PORT][/N]            TCP connection, port 3632, N slots (default 4).
   [IPV6][:PORT][/N]          The same, an IPv6 address.
   [USER]@HOST[/N][:COMMAND]  SSH connection running COMMAND (default distccd).
   HOSTSPEC,lzo               Compress with LZO (protocol 2).
   HOSTSPEC,cpp,lzo           Pump mode (protocol 3).
   --randomize                Randomize the host list.
   --localslots=N             Jobs that must run here, at once (default 4).
   --localslots_cpp=N         Preprocessors at once (default 8).
   # comment                  To the end of the line.

Exit codes are distcc's: the compiler's own, 128 + a signal, or 100-120
(see tsdistcc(1)).
`;

function showHosts(caller: Caller, log: ClientLog, slotsOnly: boolean): number {
  let found;
  try {
    found = readHostList(caller.env, distccDir(caller.env));
  } catch (err) {
    // distcc prints why and exits 0 here.
    log.error((err as Error).message);
    return 0;
  }
  const hosts = found?.list.hosts ?? [];
  if (slotsOnly) caller.stdout(`${hosts.reduce((n, h) => n + h.slots, 0)}\n`);
  else caller.stdout(hosts.map((h) => `${h.spec}\n`).join(''));
  return 0;
}

export type ClientRun = {
  /** The exit code, once everything is done. */
  exitCode: Promise<number>;
  /** Removes the temp files now (the caller went away or got a signal). */
  cleanup: () => void;
};

/** Runs one client command for `caller`; argv[0] is the name it was run as. */
export function startClient(argv: readonly string[], caller: Caller): ClientRun {
  const env = caller.env;
  const log = new ClientLog(env, caller.pid, (line) => caller.stderr(line));
  const temps: string[] = [];
  const cleanup = () => {
    if (env.DISTCC_SAVE_TEMPS === '1') return;
    for (const f of temps.splice(0)) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
  };
  const exitCode = (async () => {
    const invocation = readInvocation(argv, env, caller.cwd);
    switch (invocation.kind) {
      case 'usage-error':
        caller.stderr(invocation.message);
        return ExitCode.BAD_ARGUMENTS;
      case 'option':
        if (invocation.option === '--help') caller.stdout(CLIENT_USAGE);
        else if (invocation.option === '--version') {
          caller.stdout(
            `tsdistcc ${VERSION} ${process.arch}-linux (protocols 1 and 2) (default port 3632)\n`,
          );
        } else return showHosts(caller, log, invocation.option === '-j');
        return 0;
      case 'compile':
        break;
    }
    const level = safeguardLevel(env);
    if (level - (invocation.pathTweaked ? 1 : 0) > 0 && !invocation.masqueraded) {
      log.error('tsdistcc seems to have invoked itself recursively!');
      return ExitCode.RECURSION;
    }
    const ctx: BuildContext = { caller, log, level, temps };
    try {
      return await buildSomewhere(invocation.argv, ctx);
    } catch (err) {
      if (err instanceof TsdistccError) {
        log.error(err.message);
        return err.exitCode;
      }
      throw err;
    } finally {
      cleanup();
    }
  })();
  return { exitCode, cleanup };
}

/** The plain client: this process is the caller. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const run = startClient(argv, thisProcess(env));
  const onSignal = (signal: NodeJS.Signals) => {
    run.cleanup();
    process.kill(process.pid, signal);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, onSignal);
  return run.exitCode;
}
