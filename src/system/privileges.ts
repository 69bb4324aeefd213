// Dropping root before serving (distcc src/setuid.c): supplementary groups,
// then gid, then uid. Without --user the first of tsdistcc, distcc, distccd
// (Debian's distcc package's account), nobody that exists is used.

import { SetuidError } from '../errors.js';
import { outputOfSync } from './spawn.js';

export type Account = Readonly<{ name: string; uid: number; gid: number; home: string }>;

/** Looks a user up through NSS (`getent passwd`), as getpwnam would. */
export function lookupUser(name: string): Account | undefined {
  const line = outputOfSync(['getent', 'passwd', name])?.trim();
  if (line === undefined) return undefined;
  const [user, , uid, gid, , home] = line.split(':');
  if (user === undefined || uid === undefined || gid === undefined) return undefined;
  return { name: user, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
}

export const DEFAULT_USERS = ['tsdistcc', 'distcc', 'distccd', 'nobody'] as const;

/** Drops to `user` if running as root; returns the account used, if any. */
export function dropPrivileges(user: string | undefined): Account | undefined {
  const account = accountToRunAs(user);
  if (account) switchTo(account);
  return account;
}

/** The account a root daemon will switch to; undefined when not root. */
export function accountToRunAs(user: string | undefined): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const candidates = user !== undefined ? [user] : DEFAULT_USERS;
  let account: Account | undefined;
  for (const name of candidates) {
    account = /^\d+$/.test(name)
      ? { name, uid: Number(name), gid: Number(name), home: '/' }
      : lookupUser(name);
    if (account) break;
  }
  if (!account) {
    throw new SetuidError(`--user: no such user \`${candidates.join('` or `')}\``);
  }
  if (account.uid === 0) {
    throw new SetuidError(
      `--user must not be root: compilers never run as root (got \`${account.name}\`)`,
    );
  }
  return account;
}

/** Supplementary groups, then gid, then uid (distcc src/setuid.c). */
export function switchTo(account: Account): void {
  try {
    if (lookupUser(account.name))
      (process as { initgroups?: (u: string, g: number) => void }).initgroups!(
        account.name,
        account.gid,
      );
    else process.setgroups!([account.gid]);
    process.setgid!(account.gid);
    process.setuid!(account.uid);
  } catch (err) {
    throw new SetuidError(`cannot switch to user ${account.name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
