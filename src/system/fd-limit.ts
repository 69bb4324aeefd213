// The open-files limit (RLIMIT_NOFILE), read from /proc/self/limits: Node
// has no getrlimit. Out of descriptors, Node's accept silently drops new
// clients (libuv closes them at once), so the daemon keeps its connections
// under what the limit leaves.

import { readdirSync, readFileSync } from 'node:fs';

/** The soft limit on open files, or undefined if it cannot be read or is unlimited. */
export function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function openFilesNow(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/**
 * How many client connections fit: the limit, less what is open now, less
 * a few descriptors per job slot (input, output, pipes) and a margin.
 */
export function connectionsThatFit(jobs: number): number | undefined {
  const limit = openFilesLimit();
  if (limit === undefined) return undefined;
  return Math.max(1, limit - openFilesNow() - 8 * jobs - 32);
}
