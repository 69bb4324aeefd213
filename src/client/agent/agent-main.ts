// The resident client agent: one per user and runtime directory, started on
// demand by the launcher (bin/tsdistcc) and gone after an idle period. Node
// starts in tens of milliseconds, a C distcc client in one or two; a bash
// launcher that hands each compile to a Node process already running is how
// tsdistcc keeps its per-file cost near distcc's (see bench/RESULTS.md).
//
// It listens on 127.0.0.1, on a port it writes with a random token and its
// pid into DIR/agent (DIR is mode 0700 and must be the user's own). Before a
// launcher sends anything but a nonce, the agent proves it is this user's by
// creating DIR/proof.TOKEN.NONCE; then the launcher proves it is this user's
// by sending the token (session.ts says why that way round).

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { startClient } from '../../client-main.js';
import { tryLock } from '../locks.js';
import { privateDir, type PrivateDir } from '../private-dir.js';
import { inspectLauncher, launcherCaller, RequestReader, tokenMatches } from './session.js';

export type AgentOptions = { dir: string; idleMs: number };

/** A launcher has this long, from connecting, to say hello and send its token. */
const HELLO_MS = 10_000;
/** Connections still without the token, at most; past it the oldest is closed. */
const MAX_UNPROVEN = 64;

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already */
  }
}

function serve(
  socket: Socket,
  dir: PrivateDir,
  token: string,
  unproven: Set<Socket>,
  onDone: () => void,
): void {
  let proof: string | undefined;
  const dropProof = () => {
    if (proof) removeQuietly(proof);
    proof = undefined;
  };
  const timer = setTimeout(() => socket.destroy(), HELLO_MS);
  unproven.add(socket);
  if (unproven.size > MAX_UNPROVEN) unproven.values().next().value?.destroy();
  const reader = new RequestReader((t) => tokenMatches(t, token));
  let finished = false;
  let requested = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    unproven.delete(socket);
    dropProof();
    onDone();
  };
  const fail = () => {
    socket.destroy();
    finish();
  };
  const onData = (chunk: Buffer) => {
    let messages;
    try {
      messages = reader.push(chunk);
    } catch {
      return fail();
    }
    for (const message of messages) {
      if (message.kind === 'hello') {
        const path = dir.at(`proof.${token}.${message.nonce}`);
        try {
          closeSync(
            openSync(
              path,
              constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
              0o600,
            ),
          );
        } catch {
          return fail();
        }
        proof = path;
        socket.write('proof\n');
        continue;
      }
      // The launcher has checked the proof and sent the right token.
      requested = true;
      socket.off('data', onData);
      clearTimeout(timer);
      unproven.delete(socket);
      dropProof();
      let who;
      try {
        who = inspectLauncher(message.pid);
      } catch {
        return fail();
      }
      const caller = launcherCaller(socket, message, who);
      const run = startClient(message.argv, caller);
      socket.once('close', run.cleanup);
      run.exitCode
        .then(
          (code) => caller.finish(code),
          (err: unknown) => {
            caller.stderr(`tsdistcc: internal error: ${(err as Error).stack ?? String(err)}\n`);
            caller.finish(100);
          },
        )
        .finally(finish);
      return;
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    // Before the request: nothing runs that would call finish.
    if (!requested) finish();
  });
}

/** Proof files a killed agent left (this agent holds the directory's lock). */
function removeStaleProofs(dir: PrivateDir): void {
  for (const name of readdirSync(dir.at('.'))) {
    if (name.startsWith('proof.')) removeQuietly(dir.at(name));
  }
}

/** Identifies the agent's code on disk: a rebuild or an upgrade changes it. */
function codeStamp(): string {
  const st = statSync(fileURLToPath(import.meta.url));
  return `${st.ino}:${st.mtimeMs}`;
}

/** Runs the agent until it has been idle for `idleMs`; resolves when it stops. */
export async function runAgent(options: AgentOptions): Promise<void> {
  const dir = privateDir(options.dir);
  const file = join(options.dir, 'agent');
  // One agent per directory: a second one started by a racing launcher leaves.
  const release = await tryLock(dir, 'agent.lock');
  if (!release) return;
  removeStaleProofs(dir);
  const token = randomBytes(24).toString('hex');
  const unproven = new Set<Socket>();
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
    serve(socket, dir, token, unproven, () => {
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
  const temp = dir.at(`agent.${process.pid}`);
  removeQuietly(temp);
  writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  renameSync(temp, dir.at('agent'));
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
