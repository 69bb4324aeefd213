// Slot locks (distcc src/lock.c): one per host slot, named as distcc names
// them in $DISTCC_DIR/lock (cpu_tcp_HOST_PORT_N, cpu_ssh_HOST_N,
// cpu_localhost_N). distcc holds an fcntl lock on that file; Node has no
// fcntl. The zero-byte file is still created, as distcc does, so the
// directory shows which slots exist; the lock itself is a Unix socket bound
// at the same name in $DISTCC_DIR/lock/tsdistcc-UID, a directory only this
// user can enter (private-dir.ts). Binding is atomic (a second bind fails
// with EADDRINUSE), and a holder is alive exactly when the socket accepts a
// connection. (Locks of tsdistcc and distcc therefore do not exclude each
// other; run one client per build.)
//
// Why not abstract sockets (`\0name`), which the kernel frees when their
// process dies: their namespace is shared by every user of the machine and
// listed in /proc/net/unix for all to read, so another user can bind a name
// first, and a secret-derived name only until it has been seen once: then
// the victim's compiles wait forever. A socket file in a 0700 directory
// cannot be bound, connected to or removed by anyone else.
//
// The price is stale files: a holder killed (SIGKILL, a crash) leaves its
// socket file behind. A file that refuses connections is stale; it is
// removed under a cleanup mutex, so that two cleaners cannot both see it
// stale and the second remove what a third process bound in between. That
// mutex is the one abstract socket, named by an HMAC with the directory's
// secret: others cannot predict it, and one who has seen it and holds it can
// only delay the recovery of a stale lock, never take a lock (the bounded
// waits of where.ts end that).

import { createHmac, createHash } from 'node:crypto';
import { closeSync, openSync, constants, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import type { HostDef } from './hosts.js';
import { dirSecret, privateDir, type PrivateDir } from './private-dir.js';

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

/** The socket directory for `lockDir` ($DISTCC_DIR/lock): private to this user. */
export function socketDir(lockDir: string): PrivateDir {
  return privateDir(join(lockDir, `tsdistcc-${process.getuid?.() ?? 0}`));
}

/** A socket name that fits sun_path (108 bytes) after /proc/self/fd/N/. */
function socketName(name: string): string {
  if (name.length <= 64 && !name.includes('/')) return name;
  return `h-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

function cleanupAddress(dir: PrivateDir, name: string): string {
  const mac = createHmac('sha256', dirSecret(dir)).update(name).digest('base64url');
  return `\0tsdistcc-gc/${mac.slice(0, 43)}`;
}

/** Binds `path`: the server, or undefined if the name is taken. */
function bind(path: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    // A probe (isLive) only wants to know someone is there.
    const server: Server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    });
    server.listen({ path }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Whether a live process holds the socket at `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      // Refused: no listener (stale, or not a socket); gone: released meanwhile.
      // Anything else (a full backlog) means someone is there.
      resolve(!(err.code === 'ECONNREFUSED' || err.code === 'ENOENT'));
    });
  });
}

/** Tries the lock `name` in `dir` without waiting: the release function, or undefined if held. */
export async function tryLock(dir: PrivateDir, name: string): Promise<(() => void) | undefined> {
  try {
    return await tryOnce(dir, name);
  } catch (err) {
    if (err instanceof TsdistccError) throw err;
    throw new TsdistccError(
      `cannot take the lock ${join(dir.path, socketName(name))}: ${(err as Error).message}`,
      ExitCode.IO_ERROR,
      { cause: err },
    );
  }
}

async function tryOnce(dir: PrivateDir, name: string): Promise<(() => void) | undefined> {
  const sock = socketName(name);
  const path = dir.at(sock);
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = await bind(path);
    // Closing unlinks the file first, then the socket (libuv), so a new
    // holder's file is never removed by an old holder.
    if (server) return () => server.close();
    if (await isLive(path)) return undefined;
    const cleaner = await bind(cleanupAddress(dir, sock));
    if (!cleaner) return undefined; // another cleaner is at it: busy for now
    try {
      // Checked again under the mutex: only a cleaner removes a file, and
      // nobody can bind while it is there, so it is still the stale one.
      if (!(await isLive(path))) {
        try {
          unlinkSync(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    } finally {
      cleaner.close();
    }
  }
  return undefined;
}

function touch(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o666));
  } catch {
    /* the file is only for people to look at; the socket is the lock */
  }
}

/** Tries the lock that distcc keeps in `lockDir/name`: the release function, or undefined if held. */
export function tryLockFile(lockDir: string, name: string): Promise<(() => void) | undefined> {
  touch(join(lockDir, name));
  return tryLock(socketDir(lockDir), name);
}

/** Tries `host`'s slot `slot` in `lockDir`. */
export async function tryLockSlot(
  lockDir: string,
  host: HostDef,
  slot: number,
): Promise<SlotLock | undefined> {
  const release = await tryLockFile(lockDir, lockName(host, slot));
  return release ? { slot, release } : undefined;
}
