// Choosing where a job runs (distcc src/where.c): hosts in backoff or marked
// `,down` are dropped, then slot 0 of every host in list order, then slot 1,
// and so on (breadth first); the first free slot wins. When every slot is
// busy, wait DISTCC_PAUSE_TIME_MSEC (1000) and try again.
//
// distcc waits for ever. Here the wait ends after TSDISTCC_LOCK_TIMEOUT
// seconds (default 600: longer than any queue of real compiles is expected
// to take; 0 waits for ever, as distcc): a lock that is never freed (a stale
// one whose recovery is blocked, a hung process of this user) then costs a
// bounded delay and a message naming the locks, not a build that hangs.

import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import { inBackoff } from './backoff.js';
import type { HostDef } from './hosts.js';
import { lockName, tryLockFile, tryLockSlot, type SlotLock } from './locks.js';

export type Picked = { host: HostDef; lock: SlotLock };

export function pauseTime(env: NodeJS.ProcessEnv): number {
  const text = env.DISTCC_PAUSE_TIME_MSEC;
  return text !== undefined && /^\d+$/.test(text.trim()) ? parseInt(text, 10) : 1000;
}

/** How long to wait for a slot, in ms; Infinity for TSDISTCC_LOCK_TIMEOUT=0. */
export function lockTimeout(env: NodeJS.ProcessEnv): number {
  const text = env.TSDISTCC_LOCK_TIMEOUT;
  const sec = text !== undefined && /^\d+$/.test(text.trim()) ? parseInt(text, 10) : 600;
  return sec === 0 ? Infinity : sec * 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error for a wait that ran out, naming the locks waited for. */
function waitedTooLong(what: string, lockDir: string, names: string[], ms: number): TsdistccError {
  const shown = names.length > 4 ? [...names.slice(0, 4), `… (${names.length} in all)`] : names;
  return new TsdistccError(
    `waited ${Math.round(ms / 1000)} s for ${what}, all taken: ${shown.map((n) => join(lockDir, n)).join(', ')} (TSDISTCC_LOCK_TIMEOUT)`,
    ExitCode.BUSY,
  );
}

/** The hosts still worth trying. */
export function usableHosts(
  hosts: readonly HostDef[],
  lockDir: string,
  backoffSec: number,
  excluded: ReadonlySet<HostDef>,
): HostDef[] {
  return hosts.filter(
    (h) =>
      !excluded.has(h) && !(h.kind !== 'local' && h.down) && !inBackoff(lockDir, h, backoffSec),
  );
}

/**
 * Locks a slot on one of `hosts`, waiting while all are busy: 116 if there
 * are none, 114 (BUSY) when the wait runs past `timeoutMs`.
 */
export async function pickHost(
  hosts: readonly HostDef[],
  lockDir: string,
  pauseMs: number,
  onBlocked: () => void,
  timeoutMs = Infinity,
): Promise<Picked> {
  if (hosts.length === 0) {
    throw new TsdistccError('no hosts left to try', ExitCode.NO_HOSTS);
  }
  const most = Math.max(...hosts.map((h) => h.slots));
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (let slot = 0; slot < most; slot++) {
      for (const host of hosts) {
        if (host.slots <= slot) continue;
        const lock = await tryLockSlot(lockDir, host, slot);
        if (lock) return { host, lock };
      }
    }
    if (Date.now() >= end) {
      const names = hosts.flatMap((h) => [...Array(h.slots).keys()].map((n) => lockName(h, n)));
      throw waitedTooLong('a host slot', lockDir, names, timeoutMs);
    }
    onBlocked();
    await sleep(Math.min(pauseMs, Math.max(0, end - Date.now())));
  }
}

/**
 * One of the `slots` local slots (cpu_localhost_N, shared by compiles and
 * cpp); 114 (BUSY) when the wait runs past `timeoutMs`.
 */
export async function lockLocal(
  lockDir: string,
  slots: number,
  pauseMs: number,
  onBlocked: () => void,
  timeoutMs = Infinity,
): Promise<SlotLock> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (let slot = 0; slot < slots; slot++) {
      const release = await tryLockFile(lockDir, `cpu_localhost_${slot}`);
      if (release) return { slot, release };
    }
    if (Date.now() >= end) {
      const names = [...Array(slots).keys()].map((n) => `cpu_localhost_${n}`);
      throw waitedTooLong('a local slot', lockDir, names, timeoutMs);
    }
    onBlocked();
    await sleep(Math.min(pauseMs, Math.max(0, end - Date.now())));
  }
}
