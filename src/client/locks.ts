// Slot locks (distcc src/lock.c): one per host slot, named as distcc names
// them in $DISTCC_DIR/lock (cpu_tcp_HOST_PORT_N, cpu_ssh_HOST_N,
// cpu_localhost_N). distcc holds an fcntl lock on the file; Node has no fcntl,
// so the lock is an abstract Unix socket bound under a name derived from the
// file's path: binding is atomic, a second bind fails with EADDRINUSE, and the
// kernel releases it when the process dies however it dies, so no lock is
// ever stale. The zero-byte file is still created, as distcc does, so the
// directory shows which slots exist. (Locks of tsdistcc and distcc therefore
// do not exclude each other; run one client per build.)

import { closeSync, openSync, constants } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { HostDef } from './hosts.js';

export type SlotLock = { slot: number; release: () => void };

/** distcc's lock file name for a host's slot. */
export function lockName(host: HostDef, slot: number): string {
  switch (host.kind) {
    case 'local':
      return `cpu_localhost_${slot}`;
    case 'tcp':
      return `cpu_tcp_${host.host}_${host.port}_${slot}`;
    case 'ssh':
      return `cpu_ssh_${host.host}_${slot}`;
  }
}

/** cyrb53, twice with different seeds: a 106-bit name that fits sun_path. */
function hash(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** The abstract socket name that stands for the lock file at `path`. */
export function lockAddress(path: string): string {
  return `\0tsdistcc-lock/${hash(path, 1)}${hash(path, 2)}`;
}

function touch(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666));
  } catch {
    /* the file is only for people to look at; the socket is the lock */
  }
}

/** Tries the lock at `path` without waiting: the release function, or undefined if held. */
export function tryLock(path: string): Promise<(() => void) | undefined> {
  touch(path);
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    });
    server.listen({ path: lockAddress(path) }, () => {
      server.unref();
      resolve(() => server.close());
    });
  });
}

/** Tries `host`'s slot `slot` in `lockDir`. */
export async function tryLockSlot(
  lockDir: string,
  host: HostDef,
  slot: number,
): Promise<SlotLock | undefined> {
  const release = await tryLock(join(lockDir, lockName(host, slot)));
  return release ? { slot, release } : undefined;
}
