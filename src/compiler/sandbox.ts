// bubblewrap's sandbox, for where the launcher's own namespaces
// (launcher-script.ts) are not to be had (--inetd, --no-launcher, an
// architecture whose system call numbers the launcher does not know, or
// --sandbox bwrap): bubblewrap with a process
// namespace of its own (when the compiler ends, the kernel kills whatever it
// left behind, setsid or not; it can see, signal and ptrace nothing outside),
// no network, no IPC, the root (or --chroot DIR) read-only, the places where
// other people's and other jobs' files live (/tmp, /var/tmp, /run, /home,
// /root and TMPDIR) covered by empty read-only tmpfs mounts, and only its
// own job directory writable. bwrap runs without root through a user namespace;
// --die-with-parent ends the namespace if the launcher dies.
//
// The command is built here, once for every way a compiler is started (the
// launcher, the daemon's own forks for --inetd and --no-launcher, the
// zeroconf probe): the prefix runs argv inside the sandbox.

import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** What every sandboxed compiler of one daemon gets. */
export type Sandbox = Readonly<{
  bwrap: string;
  /** The compilers' root, read-only as / (`/`, or --chroot DIR). */
  root: string;
  /** Directories (as seen inside the root) covered by an empty tmpfs. */
  hide: readonly string[];
}>;

/** Where other users' files, sockets and other jobs live: not a compiler's business. */
const HIDDEN = ['/tmp', '/var/tmp', '/run', '/home', '/root', '/dev/shm'];

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The directories (inside `root`) a sandboxed compiler finds empty: those of
 * HIDDEN that exist, and the compilers' TMPDIR (`guestTmpdir`, inside the
 * root), where every job's directory is, unless one of them covers it
 * already. Only existing ones: a mount point can't be made in a read-only
 * root.
 */
export function hiddenDirs(root: string, guestTmpdir: string): readonly string[] {
  const dirs = [...new Set([...HIDDEN, guestTmpdir])].filter(
    (d) => !HIDDEN.some((h) => h !== d && d.startsWith(`${h}/`)) && isDirectory(join(root, d)),
  );
  return Object.freeze(dirs);
}

/** bubblewrap's sandbox for compilers rooted at `root`, with `hide` empty. */
export function makeSandbox(bwrap: string, root: string, hide: readonly string[]): Sandbox {
  return Object.freeze({ bwrap, root, hide });
}

/** bwrap's options up to the namespace, the read-only root and its hidden places. */
function base(s: Sandbox): string[] {
  const args = [s.bwrap, '--unshare-all', '--die-with-parent', '--ro-bind', s.root, '/'];
  args.push('--dev', '/dev', '--proc', '/proc');
  for (const dir of s.hide) args.push('--tmpfs', dir);
  return args;
}

/** The hidden places made read-only too, once the job directory's mount point is in one. */
function sealed(s: Sandbox): string[] {
  return s.hide.flatMap((dir) => ['--remount-ro', dir]);
}

/**
 * The prefix that runs a command in the sandbox with `hostDir` writable as
 * `guestDir` (its place inside the root), starting in `guestDir/sub`, with
 * TMPDIR the job directory.
 */
export function sandboxPrefix(s: Sandbox, hostDir: string, guestDir: string, sub = ''): string[] {
  return [
    ...base(s),
    '--bind',
    hostDir,
    guestDir,
    ...sealed(s),
    '--chdir',
    sub === '' ? guestDir : `${guestDir}/${sub}`,
    '--setenv',
    'TMPDIR',
    guestDir,
    '--',
  ];
}

/** The prefix for a command that needs no job directory (the zeroconf compiler probe). */
export function sandboxPrefixWithoutJob(s: Sandbox): string[] {
  return [...base(s), ...sealed(s), '--chdir', '/', '--'];
}

/** bwrap's own "could not run it" message: the compiler could not be started. */
const EXEC_FAILED = /^bwrap: execvp [^\n]*?: ([^\n]*)\n?$/;

/** The errno text when bwrap says it could not run the command, else undefined. */
export function sandboxExecFailure(exitCode: number, stderr: Buffer): string | undefined {
  if (exitCode !== 1 || stderr.length > 4096) return undefined;
  return EXEC_FAILED.exec(stderr.toString('utf8'))?.[1];
}

/**
 * bwrap exits 128 + N when its command is killed by signal N: the wait status
 * the compiler would have given, so that the client hears of the signal.
 */
export function sandboxedStatus(status: number): number {
  const code = (status >> 8) & 0xff;
  if ((status & 0x7f) !== 0 || code <= 128 || code > 128 + 64) return status;
  return code - 128;
}

/** Whether the sandbox works here for `uid`/`gid`: undefined if it does, else why not. */
export function probeSandbox(
  s: Sandbox,
  env: NodeJS.ProcessEnv,
  as?: { uid: number; gid: number },
): string | undefined {
  const [file, ...args] = [...sandboxPrefixWithoutJob(s), 'true'];
  const r = spawnSync(file, args, {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(as ? { uid: as.uid, gid: as.gid } : {}),
  });
  if (r.status === 0) return undefined;
  const err = r.error;
  if (err) return `${s.bwrap}: ${err.message}`;
  const why = r.stderr.trim().split('\n').pop() ?? '';
  return why !== '' ? why : `bwrap exited ${r.status ?? r.signal}`;
}
