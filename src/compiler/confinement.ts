// How this instance runs a program, in one description: its root
// (--chroot), its personality (--personality), its sandbox (--sandbox) and
// its account (--user). runner.ts chooses the sandbox once at start and
// builds the description here (confinementFor); the launcher (launcher.ts)
// is started from it, and the zeroconf probe (zeroconf/service.ts) runs
// `cc -dumpmachine` through confinedCommand, which turns the same
// description into a command line, so that it describes the compiler the
// instance's jobs get.

import { findOnPath } from './environment.js';
import { sandboxPrefixWithoutJob, type Sandbox } from './sandbox.js';

/** --personality as personality(2) values (linux/personality.h): PER_LINUX32, PER_LINUX. */
export const PERSONALITY = { native: undefined, linux32: 0x0008, linux64: 0x0000 } as const;

export type PersonalityName = keyof typeof PERSONALITY;

/** A uid and gid to run as. */
export type Ids = Readonly<{ uid: number; gid: number }>;

/** What every compiler of this launcher gets (see launcher-script.ts). */
export type Confinement = Readonly<{
  /** Chroot directory; job directories are then paths inside it. */
  root?: string;
  /** Account to switch to after entering the root (the launcher then runs as root). */
  uid?: number;
  gid?: number;
  /** personality(2) value, e.g. 8 for PER_LINUX32. */
  personality?: number;
  /** Confine each compiler in namespaces of its own, hiding these directories (inside `root`). */
  sandbox?: Readonly<{ hide: readonly string[] }>;
}>;

/** How this instance runs a program. */
export type HowToRun = Readonly<{
  /** What the launcher fixes for every compiler (nothing without a launcher: see runner.ts). */
  confinement: Confinement;
  /**
   * The account the launcher is started as, and the daemon's own forks run
   * as, when the daemon started as root; none when the launcher must stay
   * root to enter a chroot (`confinement.uid` then).
   */
  as?: Ids;
  /** bubblewrap's sandbox, when compilers run in that one (the launcher then starts bwrap). */
  bwrap?: Sandbox;
}>;

export type ConfinementChoice = Readonly<{
  /** The sandbox chosen (runner.ts): the launcher's namespaces, bubblewrap, or none. */
  kind: 'namespaces' | 'bwrap' | 'none';
  chroot?: string;
  personality: PersonalityName;
  /** The account compilers run as, when the daemon started as root. */
  account?: Ids;
  /** The directories the launcher's namespaces cover with an empty tmpfs. */
  hide: readonly string[];
  /** With kind `bwrap`: the sandbox. */
  bwrap?: Sandbox;
}>;

/** The description of how compilers run, for the sandbox chosen. */
export function confinementFor(c: ConfinementChoice): HowToRun {
  const personality = PERSONALITY[c.personality];
  const shared = personality !== undefined ? { personality } : {};
  const root = c.chroot !== undefined ? { root: c.chroot } : {};
  const as = c.account ? { as: { uid: c.account.uid, gid: c.account.gid } } : {};
  switch (c.kind) {
    case 'namespaces':
      return { confinement: { ...shared, ...root, sandbox: { hide: c.hide } }, ...as };
    case 'bwrap':
      // bwrap enters the root (Sandbox.root), not the launcher.
      return { confinement: shared, ...as, ...(c.bwrap ? { bwrap: c.bwrap } : {}) };
    case 'none':
      // chroot(2) needs root: the launcher then stays root and switches to
      // the account in each compiler after entering the root.
      if (c.chroot === undefined) return { confinement: shared, ...as };
      return {
        confinement: {
          ...shared,
          ...root,
          ...(c.account ? { uid: c.account.uid, gid: c.account.gid } : {}),
        },
      };
  }
}

/** A program of this host (chroot, setarch), found on the daemon's PATH, not the compiler's. */
function hostTool(name: string): string {
  return findOnPath(name, `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin`) ?? name;
}

/** setarch(8)'s name for a personality(2) value of PERSONALITY. */
function personalityName(value: number): string | undefined {
  return Object.entries(PERSONALITY).find(([name, v]) => v === value && name !== 'native')?.[0];
}

/** A command line, and the account to start it as (none: as the daemon is). */
export type Command = Readonly<{ argv: readonly string[]; uid?: number; gid?: number }>;

/**
 * The command that runs `argv` from the daemon as the instance's compilers
 * run: in its root or bubblewrap's sandbox, with its personality, as its
 * account. What the launcher does with system calls is done here by
 * setarch(8) and chroot(8) (which switches to the account itself); the
 * launcher's own namespaces change nothing a compiler answers about itself,
 * so they are not rebuilt (entering a root without them needs root: the
 * daemon asks before it drops root).
 */
export function confinedCommand(how: HowToRun, argv: readonly string[]): Command {
  const c = how.confinement;
  const user = c.uid !== undefined ? { uid: c.uid, gid: c.gid ?? c.uid } : how.as;
  const name = c.personality !== undefined ? personalityName(c.personality) : undefined;
  const persona = name !== undefined ? [hostTool('setarch'), name] : [];
  if (how.bwrap) {
    return { argv: [...persona, ...sandboxPrefixWithoutJob(how.bwrap), ...argv], ...user };
  }
  if (c.root === undefined) return { argv: [...persona, ...argv], ...user };
  const userspec = user ? [`--userspec=${user.uid}:${user.gid}`] : [];
  return { argv: [...persona, hostTool('chroot'), ...userspec, c.root, ...argv] };
}
