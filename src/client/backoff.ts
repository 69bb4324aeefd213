// Backoff files (distcc src/backoff.c, timefile.c): a host that failed is
// marked by the mtime of $DISTCC_DIR/lock/backoff_tcp_HOST_PORT_0 (or
// backoff_ssh_HOST_0) and skipped for DISTCC_BACKOFF_PERIOD seconds (60);
// any success removes the mark. The files are distcc's, so distcc and
// tsdistcc share what they learn about dead hosts.

import { statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDef } from './hosts.js';

export function backoffName(host: HostDef): string | undefined {
  switch (host.kind) {
    case 'local':
      return undefined;
    case 'tcp':
      return `backoff_tcp_${host.host}_${host.port}_0`;
    case 'ssh':
      return `backoff_ssh_${host.host}_0`;
  }
}

/** DISTCC_BACKOFF_PERIOD in seconds; a value that is not a number means the default. */
export function backoffPeriod(env: NodeJS.ProcessEnv): number {
  const text = env.DISTCC_BACKOFF_PERIOD;
  if (text === undefined || !/^\d+$/.test(text.trim())) return 60;
  return parseInt(text, 10);
}

export function inBackoff(
  lockDir: string,
  host: HostDef,
  periodSec: number,
  now = Date.now(),
): boolean {
  const name = backoffName(host);
  if (!name || periodSec <= 0) return false;
  try {
    return now - statSync(join(lockDir, name)).mtimeMs < periodSec * 1000;
  } catch {
    return false;
  }
}

export function markBackoff(lockDir: string, host: HostDef): void {
  const name = backoffName(host);
  if (!name) return;
  try {
    writeFileSync(join(lockDir, name), 'x', { mode: 0o666 });
  } catch {
    /* a mark we cannot write only costs a retry later */
  }
}

export function clearBackoff(lockDir: string, host: HostDef): void {
  const name = backoffName(host);
  if (!name) return;
  try {
    unlinkSync(join(lockDir, name));
  } catch {
    /* not marked */
  }
}
