// The resident client agent: one per user and runtime directory, started on
// demand by the launcher (bin/tsdistcc) and gone after an idle period. Node
// starts in tens of milliseconds, a C distcc client in one or two; a bash
// launcher that hands each compile to a Node process already running is how
// tsdistcc keeps its per-file cost near distcc's (see bench/RESULTS.md).
//
// It listens on 127.0.0.1, on a port it writes with a random token and its
// pid into DIR/agent (DIR is mode 0700 and must be the user's own); a
// launcher proves it is the same user by reading the token.

import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { startClient } from '../../client-main.js';
import { lockAddress, tryLock } from '../locks.js';
import { inspectLauncher, launcherCaller, RequestReader, tokenMatches } from './session.js';

export type AgentOptions = { dir: string; idleMs: number };

function ownPrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} must be a directory of this user with mode 0700`);
  }
}

function serve(socket: Socket, token: string, onDone: () => void): void {
  const reader = new RequestReader();
  const fail = () => {
    socket.destroy();
    onDone();
  };
  const onData = (chunk: Buffer) => {
    let request;
    try {
      request = reader.push(chunk);
    } catch {
      return fail();
    }
    if (!request) return;
    socket.off('data', onData);
    if (!tokenMatches(request.token, token)) return fail();
    let who;
    try {
      who = inspectLauncher(request.pid);
    } catch {
      return fail();
    }
    const caller = launcherCaller(socket, request, who);
    const run = startClient(request.argv, caller);
    socket.once('close', run.cleanup);
    run.exitCode
      .then(
        (code) => caller.finish(code),
        (err: unknown) => {
          caller.stderr(`tsdistcc: internal error: ${(err as Error).stack ?? String(err)}\n`);
          caller.finish(100);
        },
      )
      .finally(onDone);
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

/** Identifies the agent's code on disk: a rebuild or an upgrade changes it. */
function codeStamp(): string {
  const st = statSync(fileURLToPath(import.meta.url));
  return `${st.ino}:${st.mtimeMs}`;
}

/** Runs the agent until it has been idle for `idleMs`; resolves when it stops. */
export async function runAgent(options: AgentOptions): Promise<void> {
  ownPrivateDir(options.dir);
  const file = join(options.dir, 'agent');
  // One agent per directory: a second one started by a racing launcher leaves.
  const release = await tryLock(lockAddress(`agent:${file}`));
  if (!release) return;
  const token = randomBytes(24).toString('hex');
  let active = 0;
  let idle: NodeJS.Timeout | undefined;
  const stamp = codeStamp();
  let retiring = false;
  const server = createServer({ noDelay: true }, (socket) => {
    // Code replaced under a running agent (upgrade, rebuild): serve this one,
    // then leave so the next launcher starts the new code.
    if (!retiring && codeStampSafe() !== stamp) retire();
    active++;
    clearTimeout(idle);
    let done = false;
    serve(socket, token, () => {
      if (done) return;
      done = true;
      if (--active === 0) idle = setTimeout(stop, retiring ? 0 : options.idleMs);
    });
  });
  const content = await new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as { port: number };
      resolve(`${port} ${token} ${process.pid}\n`);
    });
  });
  writeFileSync(`${file}.${process.pid}`, content, { mode: 0o600 });
  renameSync(`${file}.${process.pid}`, file);
  idle = setTimeout(stop, options.idleMs);

  function retire() {
    if (retiring) return;
    retiring = true;
    try {
      if (readFileSync(file, 'utf8') === content) unlinkSync(file);
    } catch {
      /* someone else's now */
    }
    server.close();
    release?.();
  }
  function codeStampSafe(): string {
    try {
      return codeStamp();
    } catch {
      return '';
    }
  }

  let resolveStopped: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  function stop() {
    retire();
    resolveStopped();
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {});
  return stopped;
}
