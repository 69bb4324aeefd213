// Choosing where a job runs (distcc src/where.c): hosts in backoff or marked
// `,down` are dropped, then slot 0 of every host in list order, then slot 1,
// and so on (breadth first); the first free slot wins. When every slot is
// busy, wait DISTCC_PAUSE_TIME_MSEC (1000) and try again.

import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import { inBackoff } from './backoff.js';
import type { HostDef } from './hosts.js';
import { tryLock, tryLockSlot, type SlotLock } from './locks.js';

export type Picked = { host: HostDef; lock: SlotLock };

export function pauseTime(env: NodeJS.ProcessEnv): number {
  const text = env.DISTCC_PAUSE_TIME_MSEC;
  return text !== undefined && /^\d+$/.test(text.trim()) ? parseInt(text, 10) : 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** Locks a slot on one of `hosts`, waiting while all are busy; 116 if there are none. */
export async function pickHost(
  hosts: readonly HostDef[],
  lockDir: string,
  pauseMs: number,
  onBlocked: () => void,
): Promise<Picked> {
  if (hosts.length === 0) {
    throw new TsdistccError('no hosts left to try', ExitCode.NO_HOSTS);
  }
  const most = Math.max(...hosts.map((h) => h.slots));
  for (;;) {
    for (let slot = 0; slot < most; slot++) {
      for (const host of hosts) {
        if (host.slots <= slot) continue;
        const lock = await tryLockSlot(lockDir, host, slot);
        if (lock) return { host, lock };
      }
    }
    onBlocked();
    await sleep(pauseMs);
  }
}

/** One of the `slots` local slots (cpu_localhost_N, shared by compiles and cpp). */
export async function lockLocal(
  lockDir: string,
  slots: number,
  pauseMs: number,
  onBlocked: () => void,
): Promise<SlotLock> {
  for (;;) {
    for (let slot = 0; slot < slots; slot++) {
      const release = await tryLock(join(lockDir, `cpu_localhost_${slot}`));
      if (release) return { slot, release };
    }
    onBlocked();
    await sleep(pauseMs);
  }
}
