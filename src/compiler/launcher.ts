// Starts compilers through the resident launcher (launcher-script.ts) and
// turns its events into results. One launcher per daemon, started with
// node:child_process (perl.ts) after privileges are dropped; if it dies, the jobs it held fail as
// "could not start" and the next job starts a new one.

import { spawnPerl } from './perl.js';

/** What every compiler of this launcher gets (see launcher-script.ts). */
export type Confinement = Readonly<{
  /** Chroot directory; job directories are then paths inside it. */
  root?: string;
  /** Account to switch to after entering the root (the launcher then runs as root). */
  uid?: number;
  gid?: number;
  /** personality(2) value, e.g. 8 for PER_LINUX32. */
  personality?: number;
  /** bubblewrap's path: run each compiler in a sandbox. */
  bwrap?: string;
}>;

/**
 * The system calls the launcher makes by number, for Node's (and so perl's)
 * architecture, from the kernel's syscall tables (arch/x86/entry/syscalls,
 * arch/arm/tools, arch/powerpc, arch/s390, asm-generic's for the rest):
 * personality(2), which perl does not have, and mknodat(2), for early start's
 * FIFO, so that the launcher need not load Perl's POSIX module (1.5 MB) for
 * mkfifo alone.
 */
const SYSCALLS: Readonly<Partial<Record<string, { personality: number; mknodat: number }>>> = {
  x64: { personality: 135, mknodat: 259 },
  ia32: { personality: 136, mknodat: 297 },
  arm: { personality: 136, mknodat: 324 },
  ppc64: { personality: 136, mknodat: 288 },
  s390x: { personality: 136, mknodat: 290 },
  arm64: { personality: 92, mknodat: 33 },
  riscv64: { personality: 92, mknodat: 33 },
  loong64: { personality: 92, mknodat: 33 },
};

/** The number, or undefined where it is not known (--personality is then refused). */
export function personalitySyscall(arch: string = process.arch): number | undefined {
  return SYSCALLS[arch]?.personality;
}

/** The number, or undefined where it is not known (the launcher then uses POSIX's mkfifo). */
export function mknodatSyscall(arch: string = process.arch): number | undefined {
  return SYSCALLS[arch]?.mknodat;
}

function launcherArgs(c: Confinement): string[] {
  const s = (v: string | number | undefined) => (v === undefined ? '' : String(v));
  const syscall = c.personality !== undefined ? personalitySyscall() : undefined;
  return [
    s(c.root),
    s(c.uid),
    s(c.gid),
    s(c.personality),
    s(c.bwrap),
    s(syscall),
    s(mknodatSyscall()),
  ];
}

function spawnLauncher(env: NodeJS.ProcessEnv, script: string, confinement: Confinement = {}) {
  return spawnPerl(script, launcherArgs(confinement), env);
}

export type Started = Readonly<{
  /** Resolves with the pid (= process group) once the compiler is forked. */
  pid: Promise<number | undefined>;
  /** Early start: the daemon has the input pipe open for writing; the launcher lets go of its end. */
  letGo: () => void;
  /** Resolves with the raw wait status, or undefined if the launcher died. */
  status: Promise<Exit | undefined>;
}>;

/** A compiler's end: its raw wait status and the sizes of its stdout and stderr files. */
export type Exit = Readonly<{ status: number; stdoutSize: number; stderrSize: number }>;

type Pending = {
  onPid: (pid: number | undefined) => void;
  onStatus: (exit: Exit | undefined) => void;
};

export class Launcher {
  readonly #env: NodeJS.ProcessEnv;
  readonly #script: string;
  readonly #onError: (message: string) => void;
  readonly #confinement: Confinement;
  #child: ReturnType<typeof spawnLauncher> | undefined;
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #lineBuf = '';

  constructor(
    env: NodeJS.ProcessEnv,
    script: string,
    onError: (message: string) => void,
    confinement: Confinement = {},
  ) {
    this.#env = env;
    this.#script = script;
    this.#onError = onError;
    this.#confinement = confinement;
  }

  /** Whether it must be started before the daemon drops root (to enter a chroot). */
  get needsRoot(): boolean {
    return this.#confinement.uid !== undefined;
  }

  #ensure() {
    if (this.#child) return this.#child;
    const child = spawnLauncher(this.#env, this.#script, this.#confinement);
    this.#child = child;
    this.#lineBuf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => this.#onData(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => this.#onError(`launcher: ${d.trimEnd()}`));
    child.stdin.on('error', () => {});
    void child.then((result) => {
      if (this.#child === child) this.#child = undefined;
      if (this.#pending.size > 0 || result.exitCode !== 0) {
        this.#onError(
          `launcher exited (${result.exitCode ?? result.signal ?? '?'}); ${this.#pending.size} jobs lost`,
        );
      }
      for (const p of this.#pending.values()) {
        p.onPid(undefined);
        p.onStatus(undefined);
      }
      this.#pending.clear();
    });
    return child;
  }

  #onData(d: string): void {
    this.#lineBuf += d;
    let nl: number;
    while ((nl = this.#lineBuf.indexOf('\n')) >= 0) {
      const line = this.#lineBuf.slice(0, nl);
      this.#lineBuf = this.#lineBuf.slice(nl + 1);
      const [kind, id, value, out, err] = line.split(' ');
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
    const child = this.#ensure();
    const id = String(this.#nextId++);
    let onPid!: (pid: number | undefined) => void;
    let onStatus!: (exit: Exit | undefined) => void;
    const pid = new Promise<number | undefined>((r) => (onPid = r));
    const status = new Promise<Exit | undefined>((r) => (onStatus = r));
    this.#pending.set(id, { onPid, onStatus });
    child.stdin.write(`${['J', id, dir, sub, fifo, String(argv.length), ...argv].join('\0')}\0`);
    const letGo = () => {
      if (this.#child === child) child.stdin.write(`C\0${id}\0`);
    };
    return { pid, status, letGo };
  }

  /** Starts the launcher now rather than on the first job. */
  warm(): void {
    void this.#ensure();
  }

  /** Lets the launcher exit once its running compilers are done. */
  close(): void {
    this.#child?.stdin.end();
  }

  /** Ends the launcher now (its compilers have their own process groups). */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }
}
