// Starts compilers through the resident launcher (launcher-script.ts) and
// turns its events into results. One launcher per daemon, started with
// node:child_process (perl.ts) after privileges are dropped; if it dies, the jobs it held fail as
// "could not start" and the next job starts a new one.

import type { Writable } from 'node:stream';
import type { Confinement } from './confinement.js';
import { spawnPerl } from './perl.js';

type Syscalls = Readonly<{
  personality: number;
  mknodat: number;
  /** unshare, setns, mount, mount_setattr, prctl, exit_group: the sandbox's; absent where not known. */
  sandbox?: readonly [number, number, number, number, number, number];
}>;

/**
 * The system calls the launcher makes by number, for Node's (and so perl's)
 * architecture, from the kernel's syscall tables (arch/x86/entry/syscalls,
 * arch/arm/tools, arch/powerpc, arch/s390, asm-generic's for the rest):
 * personality(2), which perl does not have; mknodat(2), for early start's
 * FIFO, so that the launcher need not load Perl's POSIX module (1.5 MB) for
 * mkfifo alone; and those of the sandbox, checked against the installed
 * headers where a test can (personality.test.ts).
 */
const SYSCALLS: Readonly<Partial<Record<string, Syscalls>>> = {
  x64: { personality: 135, mknodat: 259, sandbox: [272, 308, 165, 442, 157, 231] },
  ia32: { personality: 136, mknodat: 297, sandbox: [310, 346, 21, 442, 172, 252] },
  arm: { personality: 136, mknodat: 324 },
  ppc64: { personality: 136, mknodat: 288 },
  s390x: { personality: 136, mknodat: 290 },
  arm64: { personality: 92, mknodat: 33, sandbox: [97, 268, 40, 442, 167, 94] },
  riscv64: { personality: 92, mknodat: 33, sandbox: [97, 268, 40, 442, 167, 94] },
  loong64: { personality: 92, mknodat: 33, sandbox: [97, 268, 40, 442, 167, 94] },
};

/** The number, or undefined where it is not known (--personality is then refused). */
export function personalitySyscall(arch: string = process.arch): number | undefined {
  return SYSCALLS[arch]?.personality;
}

/** The number, or undefined where it is not known (the launcher then uses POSIX's mkfifo). */
export function mknodatSyscall(arch: string = process.arch): number | undefined {
  return SYSCALLS[arch]?.mknodat;
}

/** unshare, setns, mount, mount_setattr, prctl and exit_group, or undefined where they are not known. */
export function sandboxSyscalls(arch: string = process.arch): readonly number[] | undefined {
  return SYSCALLS[arch]?.sandbox;
}

function launcherArgs(c: Confinement): string[] {
  const s = (v: string | number | undefined) => (v === undefined ? '' : String(v));
  const syscall = c.personality !== undefined ? personalitySyscall() : undefined;
  return [
    s(c.root),
    s(c.uid),
    s(c.gid),
    s(c.personality),
    s(syscall),
    s(mknodatSyscall()),
    c.sandbox ? (sandboxSyscalls() ?? []).join(',') : '',
    c.sandbox ? c.sandbox.hide.join('\n') : '',
  ];
}

export type Started = Readonly<{
  /** Resolves with the pid (= process group) once the compiler is forked. */
  pid: Promise<number | undefined>;
  /** Early start: the daemon has the input pipe open for writing; the launcher lets go of its end. */
  letGo: () => void;
  /** Signals the compiler's process group (through the launcher: its pids are not ours when sandboxed). */
  kill: (signal: 'SIGTERM' | 'SIGKILL') => void;
  /** Resolves with the raw wait status, or undefined if the launcher died. */
  status: Promise<Exit | undefined>;
}>;

/** A compiler's end: its raw wait status and the sizes of its stdout and stderr files. */
export type Exit = Readonly<{ status: number; stdoutSize: number; stderrSize: number }>;

type Pending = {
  onPid: (pid: number | undefined) => void;
  onStatus: (exit: Exit | undefined) => void;
};

type LauncherProcess = ReturnType<typeof spawnPerl>;

export class Launcher {
  readonly #env: NodeJS.ProcessEnv;
  readonly #script: string;
  readonly #onError: (message: string) => void;
  readonly #confinement: Confinement;
  readonly #as: { uid: number; gid: number } | undefined;
  #child: LauncherProcess | undefined;
  /** Where jobs go: the launcher's fd 3. */
  #jobs: Writable | undefined;
  /** A sandboxed launcher's own pid (its first process has left). */
  #pid: number | undefined;
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #lineBuf = '';

  constructor(
    env: NodeJS.ProcessEnv,
    script: string,
    onError: (message: string) => void,
    confinement: Confinement = {},
    /** Start it as this account (a root daemon that has not switched yet). */
    as?: { uid: number; gid: number },
  ) {
    this.#env = env;
    this.#script = script;
    this.#onError = onError;
    this.#confinement = confinement;
    this.#as = as;
  }

  /** Whether it must be started before the daemon drops root (to enter a chroot). */
  get needsRoot(): boolean {
    return this.#confinement.uid !== undefined;
  }

  /** Whether its compilers run in the sandbox. */
  get sandboxed(): boolean {
    return this.#confinement.sandbox !== undefined;
  }

  #ensure(): Writable {
    if (this.#child && this.#jobs) return this.#jobs;
    const child = spawnPerl(this.#script, launcherArgs(this.#confinement), this.#env, {
      jobChannel: true,
      ...(this.#as ? { as: this.#as } : {}),
    });
    const jobs = child.stdio[3] as Writable;
    this.#child = child;
    this.#jobs = jobs;
    this.#pid = undefined;
    this.#lineBuf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => this.#onData(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => this.#onError(`launcher: ${d.trimEnd()}`));
    jobs.on('error', () => {});
    void child.then((result) => {
      if (this.#child === child) {
        this.#child = undefined;
        this.#jobs = undefined;
      }
      // A sandboxed launcher's first process leaves with 0 at once; the
      // launcher itself is gone when its output ends.
      if (this.#pending.size > 0 || result.exitCode !== 0) {
        this.#onError(
          `launcher exited (${result.exitCode ?? result.signal ?? result.code ?? '?'}); ${this.#pending.size} jobs lost`,
        );
      }
      for (const p of this.#pending.values()) {
        p.onPid(undefined);
        p.onStatus(undefined);
      }
      this.#pending.clear();
    });
    return jobs;
  }

  #onData(d: string): void {
    this.#lineBuf += d;
    let nl: number;
    while ((nl = this.#lineBuf.indexOf('\n')) >= 0) {
      const line = this.#lineBuf.slice(0, nl);
      this.#lineBuf = this.#lineBuf.slice(nl + 1);
      const [kind, id, value, out, err] = line.split(' ');
      if (kind === 'L') {
        this.#pid = Number(id);
        continue;
      }
      const p = id === undefined ? undefined : this.#pending.get(id);
      if (!p) continue;
      if (kind === 'S') p.onPid(Number(value));
      else if (kind === 'E') {
        this.#pending.delete(id!);
        p.onPid(undefined);
        p.onStatus({ status: Number(value), stdoutSize: Number(out), stderrSize: Number(err) });
      }
    }
  }

  /**
   * Forks argv in dir (then `sub` in it); stdout and stderr go to dir/stdout
   * and dir/stderr. With `fifo` (a file name), dir/fifo is first made a named
   * pipe that the daemon may open for writing once the pid is known.
   */
  start(argv: readonly string[], dir: string, sub = '', fifo = ''): Started {
    const jobs = this.#ensure();
    const id = String(this.#nextId++);
    let onPid!: (pid: number | undefined) => void;
    let onStatus!: (exit: Exit | undefined) => void;
    const pid = new Promise<number | undefined>((r) => (onPid = r));
    const status = new Promise<Exit | undefined>((r) => (onStatus = r));
    this.#pending.set(id, { onPid, onStatus });
    jobs.write(`${['J', id, dir, sub, fifo, String(argv.length), ...argv].join('\0')}\0`);
    const live = () => this.#jobs === jobs && this.#pending.has(id);
    const letGo = () => {
      if (live()) jobs.write(`C\0${id}\0`);
    };
    const kill = (signal: 'SIGTERM' | 'SIGKILL') => {
      if (live()) jobs.write(`K\0${id}\0${signal.slice(3)}\0`);
    };
    return { pid, status, letGo, kill };
  }

  /** Starts the launcher now rather than on the first job. */
  warm(): void {
    this.#ensure();
  }

  /** Lets the launcher exit once its running compilers are done. */
  close(): void {
    this.#jobs?.end();
  }

  /** Ends the launcher now (a sandboxed one takes its compilers with it). */
  kill(): void {
    this.#child?.kill('SIGKILL');
    if (this.#pid !== undefined) {
      try {
        process.kill(this.#pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
}
