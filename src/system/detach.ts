// Going to the background after binding, as distccd does (distcc
// src/dparent.c): Node cannot fork, so the parent starts a copy of itself in a
// new session and waits on a pipe until the copy says it is listening (or
// why it could not), then exits with that status.

import { closeSync, writeSync } from 'node:fs';
import { startProcess } from './spawn.js';

const CHILD_MARK = 'TSDISTCCD_DETACHED_CHILD';

export function isDetachedChild(): boolean {
  return process.env[CHILD_MARK] === '1';
}

/** In the parent: starts the background copy; resolves with the exit status to use. */
export function detach(): Promise<number> {
  const { child, ended } = startProcess(
    [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...process.env, [CHILD_MARK]: '1' },
    },
  );
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy: () => void };
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const settle = (code: number) => {
      if (settled) return;
      settled = true;
      child.unref();
      pipe.destroy();
      resolve(code);
    };
    // Unlike a start that fails later, one that cannot start says nothing on the pipe.
    void ended.then(({ error }) => {
      if (!error) return;
      process.stderr.write(`tsdistccd: cannot start the background copy: ${error.message}\n`);
      settle(100);
    });
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      text += d;
      if (text.startsWith('ready\n')) settle(0);
    });
    // The copy closes the pipe when it reports a failure or exits.
    pipe.on('end', () => {
      const m = /^exit (\d+) ?(.*)\n/s.exec(text);
      if (m) {
        if (m[2]) process.stderr.write(`tsdistccd: ${m[2]}\n`);
        settle(Number(m[1]));
      } else {
        void ended.then(({ exitCode }) => settle(exitCode ?? 100));
      }
    });
  });
}

/** In the background copy: tells the parent how start-up went. */
export function reportToParent(status: 'ready' | { exitCode: number; message: string }): void {
  if (!isDetachedChild()) return;
  const line =
    status === 'ready'
      ? 'ready\n'
      : `exit ${status.exitCode} ${status.message.replace(/\n/g, ' ')}\n`;
  // Synchronous: the process may exit right after a failure report.
  try {
    writeSync(3, line);
    if (status !== 'ready') closeSync(3);
  } catch {
    /* the parent is gone */
  }
}
