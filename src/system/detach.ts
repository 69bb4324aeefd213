// Going to the background after binding, as distccd does (distcc
// src/dparent.c): Node cannot fork, so the parent starts a copy of itself in a
// new session and waits on a pipe until the copy says it is listening (or
// why it could not), then exits with that status.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const CHILD_MARK = 'TSDISTCCD_DETACHED_CHILD';

export function isDetachedChild(): boolean {
  return process.env[CHILD_MARK] === '1';
}

/** In the parent: starts the background copy; resolves with the exit status to use. */
export function detach(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  return new Promise((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => {
      text += d;
      const m = /^(ready|exit (\d+)(?: (.*))?)\n/s.exec(text);
      if (!m) return;
      if (m[3]) process.stderr.write(`tsdistccd: ${m[3]}\n`);
      child.unref();
      (pipe as unknown as { destroy: () => void }).destroy();
      resolve(m[1] === 'ready' ? 0 : Number(m[2]));
    });
    child.on('exit', (code) => resolve(code ?? 100));
  });
}

/** In the background copy: tells the parent how start-up went. */
export function reportToParent(status: 'ready' | { exitCode: number; message: string }): void {
  if (!isDetachedChild()) return;
  const line = status === 'ready' ? 'ready\n' : `exit ${status.exitCode} ${status.message.replace(/\n/g, ' ')}\n`;
  const out = createWriteStream('', { fd: 3 });
  out.end(line);
}
