// The environment compilers run with: the daemon's own, with PATH taken from
// DISTCCD_PATH if set, else PATH without distcc masquerade directories (so a
// compiler name never resolves back to distcc), and the recursion guard
// raised (distcc src/safeguard.c).

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMPILER_NAME } from './whitelist.js';

function isMasqueradeDir(dir: string): boolean {
  return /(^|\/)(ts)?distcc(\/|$)/.test(dir) || dir.includes('/ccache');
}

/** PATH inside a --chroot, where the daemon's own PATH means nothing. */
export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function compilerPath(env: NodeJS.ProcessEnv, chroot?: string): string {
  if (env.DISTCCD_PATH) return env.DISTCCD_PATH;
  if (chroot !== undefined) return CHROOT_PATH;
  return (env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((d) => d !== '' && !isMasqueradeDir(d))
    .join(':');
}

/**
 * The daemon's own service-manager variables, which compilers must not see,
 * and the malloc setting of its #! line (src/bin/tsdistccd.ts), which is for
 * the daemon's threads, not for compilers.
 */
const DAEMON_ONLY = [
  'MALLOC_ARENA_MAX',
  'NOTIFY_SOCKET',
  'WATCHDOG_USEC',
  'WATCHDOG_PID',
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
];

export function compilerEnv(env: NodeJS.ProcessEnv, chroot?: string): NodeJS.ProcessEnv {
  const level = Number(env._DISTCC_SAFEGUARD ?? '0');
  const own = { ...env };
  for (const key of DAEMON_ONLY) delete own[key];
  return {
    ...own,
    PATH: compilerPath(env, chroot),
    ...(chroot !== undefined ? { TMPDIR: '/tmp' } : {}),
    _DISTCC_SAFEGUARD: String((Number.isFinite(level) ? level : 0) + 1),
  };
}

/** Compiler names found on `path` (for --whitelist-path), inside `root` if given. */
export function compilersOnPath(path: string, root = ''): Set<string> {
  const names = new Set<string>();
  for (const entry of path.split(':')) {
    if (entry === '') continue;
    const dir = root + entry;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (!COMPILER_NAME.test(name)) continue;
      try {
        const st = statSync(join(dir, name));
        if (st.isFile() && (st.mode & 0o111) !== 0) names.add(name);
      } catch {
        /* dangling link */
      }
    }
  }
  return names;
}

/** The first executable `name` on `path`, if any. */
export function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    try {
      const full = join(dir, name);
      const st = statSync(full);
      if (st.isFile() && (st.mode & 0o111) !== 0) return full;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
