// How this instance runs its compilers: through the launcher or forked by
// the daemon, in which sandbox, in which root, as whom. Chosen once at start
// (--sandbox, --chroot, --personality, --no-launcher), by trying it: a
// compiler's sandbox that does not work here is found out before the first
// job, not by it.
//
// --sandbox auto (the default) takes the first that works of: the
// launcher's own namespaces (launcher-script.ts), bubblewrap (sandbox.ts,
// also the only one for compilers the daemon forks itself: --inetd,
// --no-launcher), and none, which it says once, with why.

import { closeSync, constants, fchownSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { findOnPath } from './environment.js';
import { confinementFor, PERSONALITY, type HowToRun, type PersonalityName } from './confinement.js';
import { Launcher, personalitySyscall, sandboxSyscalls } from './launcher.js';
import { LAUNCHER_SCRIPT } from './launcher-script.js';
import { hiddenDirs, makeSandbox, probeSandbox } from './sandbox.js';

export type SandboxMode = 'auto' | 'namespaces' | 'bwrap' | 'none';

/** How compilers run (confinement.ts; its bwrap is RunOptions.sandbox), and what starts them. */
export type Runner = HowToRun &
  Readonly<{
    /** The resident process that forks compilers, if used, started from the same description. */
    launcher?: Launcher;
    /** Which sandbox compilers run in. */
    kind: 'namespaces' | 'bwrap' | 'none';
  }>;

export type RunnerOptions = Readonly<{
  sandbox: SandboxMode;
  chroot?: string;
  personality: PersonalityName;
  /** Where job directories are made (on the daemon's side; inside `chroot` if given). */
  tmpdir: string;
  /** Whether compilers go through the launcher (not --inetd, not --no-launcher). */
  useLauncher: boolean;
  /** The account compilers run as, when the daemon was started as root. */
  account?: Readonly<{ uid: number; gid: number }>;
  /** The environment compilers run with, and the daemon's own PATH (for perl and bwrap). */
  env: NodeJS.ProcessEnv;
  hostPath: string;
  onError: (message: string) => void;
  /** Said once when --sandbox auto finds no sandbox that works here. */
  onWarning: (message: string) => void;
}>;

/** The compilers' TMPDIR as they see it (inside the root). */
function guestTmpdir(o: RunnerOptions): string {
  return o.chroot !== undefined ? o.tmpdir.slice(o.chroot.replace(/\/+$/, '').length) : o.tmpdir;
}

/** Runs `true` as a job of `launcher`; undefined if it works, else why not. */
async function tryLauncher(
  launcher: Launcher,
  o: RunnerOptions,
  errors: string[],
): Promise<string | undefined> {
  const host = mkdtempSync(join(o.tmpdir, 'tsdistccd_'));
  try {
    // Made before the daemon switches; its compilers' account must own it.
    // Given through a handle: root chowns nothing by a name (job-dir.ts).
    if (o.account) {
      const fd = openSync(host, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        fchownSync(fd, o.account.uid, o.account.gid);
      } finally {
        closeSync(fd);
      }
    }
    const guest = o.chroot !== undefined ? host.slice(o.chroot.replace(/\/+$/, '').length) : host;
    const started = launcher.start(['true'], guest);
    const exit = await Promise.race([
      started.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000).unref()),
    ]);
    if (exit?.status === 0) return undefined;
    return (
      errors[0]?.replace(/^launcher: (sandbox: )?/, '') ??
      `its test job ended with status ${exit?.status ?? 'unknown'}`
    );
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
}

export async function chooseRunner(o: RunnerOptions): Promise<Runner> {
  const personality = PERSONALITY[o.personality];
  if (personality !== undefined && personalitySyscall() === undefined) {
    throw new ConfigError(
      `--personality ${o.personality}: personality(2)'s system call number is not known on ${process.arch}`,
    );
  }
  const perl = o.useLauncher && findOnPath('perl', o.hostPath) !== undefined;
  if (
    !perl &&
    (o.chroot !== undefined || personality !== undefined || o.sandbox === 'namespaces')
  ) {
    throw new ConfigError(
      '--chroot, --personality and --sandbox namespaces need the launcher (perl on PATH, no --no-launcher, no --inetd)',
    );
  }
  if (o.useLauncher && !perl) {
    o.onWarning('no perl on PATH: compilers are forked by the daemon itself (slower per job)');
  }
  const root = o.chroot ?? '/';
  const hide = hiddenDirs(root, guestTmpdir(o));
  const why: string[] = [];
  const launcher = (how: HowToRun, errors: string[]) =>
    new Launcher(
      o.env,
      LAUNCHER_SCRIPT,
      (m) => {
        errors.push(m);
        o.onError(m);
      },
      how.confinement,
      how.as,
    );
  const choice = {
    personality: o.personality,
    hide,
    ...(o.chroot !== undefined ? { chroot: o.chroot } : {}),
    ...(o.account ? { account: o.account } : {}),
  };

  if (perl && (o.sandbox === 'auto' || o.sandbox === 'namespaces')) {
    if (sandboxSyscalls() === undefined) {
      why.push(
        `the launcher's namespaces: their system call numbers are not known on ${process.arch}`,
      );
    } else {
      const errors: string[] = [];
      const how = confinementFor({ ...choice, kind: 'namespaces' });
      const l = launcher(how, errors);
      const failed = await tryLauncher(l, o, errors);
      if (failed === undefined) return { ...how, launcher: l, kind: 'namespaces' };
      l.kill();
      why.push(`the launcher's namespaces: ${failed}`);
    }
    if (o.sandbox === 'namespaces')
      throw new ConfigError(`--sandbox namespaces cannot run here: ${why.join('; ')}`);
  }
  if (o.sandbox === 'auto' || o.sandbox === 'bwrap') {
    const bwrap = findOnPath('bwrap', o.hostPath);
    const sandbox = bwrap !== undefined ? makeSandbox(bwrap, root, hide) : undefined;
    const failed = sandbox
      ? probeSandbox(sandbox, o.env, o.account)
      : 'no bwrap on PATH (install bubblewrap)';
    if (failed === undefined && sandbox) {
      const how = confinementFor({ ...choice, kind: 'bwrap', bwrap: sandbox });
      return { ...how, ...(perl ? { launcher: launcher(how, []) } : {}), kind: 'bwrap' };
    }
    why.push(`bwrap: ${failed}`);
    if (o.sandbox === 'bwrap')
      throw new ConfigError(`--sandbox bwrap: the sandbox cannot run here: ${failed}`);
  }
  // No sandbox. chroot(2) needs root: the launcher then stays root and
  // switches to the account in each compiler after entering the root.
  if (o.chroot !== undefined && process.getuid?.() !== 0) {
    throw new ConfigError(
      `--chroot ${o.chroot} needs root or a sandbox that works here: ${why.join('; ')}`,
    );
  }
  if (o.sandbox === 'auto') {
    o.onWarning(
      `compilers run without a sandbox (no process namespace, network or read-only root for them): ${why.join('; ')}; --sandbox none says this is meant`,
    );
  }
  const how = confinementFor({ ...choice, kind: 'none' });
  if (!perl) return { ...how, kind: 'none' };
  return {
    ...how,
    launcher: new Launcher(o.env, LAUNCHER_SCRIPT, o.onError, how.confinement, how.as),
    kind: 'none',
  };
}
