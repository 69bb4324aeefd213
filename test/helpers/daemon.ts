// Starts a real tsdistccd (or distccd) process on a free loopback port and
// reads its log from stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_BIN, FIXTURE_BIN } from './paths.js';

export type RunningDaemon = {
  port: number;
  statsPort?: number;
  child: ChildProcess;
  log: () => string;
  waitForLog: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  stop: () => Promise<number | null>;
};

/** A fresh directory anyone can write (compilers run as nobody when tests run as root). */
export function openTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o1777);
  return dir;
}

export function freshDistccDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'distcc-dir-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function watch(child: ChildProcess) {
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = text.match(waiters[i]!.re);
      if (m) {
        waiters[i]!.resolve(m);
        waiters.splice(i, 1);
      }
    }
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    text += d;
    check();
  });
  const waitForLog = (re: RegExp, timeoutMs = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const m = text.match(re);
      if (m) return resolve(m);
      const timer = setTimeout(
        () => reject(new Error(`log never matched ${re}; log:\n${text}`)),
        timeoutMs,
      );
      waiters.push({
        re,
        resolve: (mm) => {
          clearTimeout(timer);
          resolve(mm);
        },
      });
    });
  return { log: () => text, waitForLog };
}

function stopper(child: ChildProcess) {
  return () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
}

export async function startTsdistccd(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  /** A command to run the daemon under, e.g. `['prlimit', '--nofile=64:64', '--']`. */
  wrapper: string[] = [],
  /** Run the daemon's file itself, so its #! line picks node and its flags. */
  { asItsFile = false }: { asItsFile?: boolean } = {},
): Promise<RunningDaemon> {
  const argv = [
    ...(asItsFile ? [] : [process.execPath]),
    DAEMON_BIN,
    '--no-detach',
    '--log-stderr',
    '--listen',
    '127.0.0.1',
    '--port',
    '0',
    ...args,
  ];
  const [command, ...rest] = [...wrapper, ...argv];
  const child = spawn(command!, rest, {
    env: { ...process.env, DISTCCD_PATH: `${FIXTURE_BIN}:/usr/local/bin:/usr/bin:/bin`, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const w = watch(child);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`tsdistccd exited ${code} at start:\n${w.log()}`)),
    ),
  );
  exited.catch(() => {});
  const m = await Promise.race([
    w.waitForLog(/listening on [^ ]+:(\d+)(?:, stats on port (\d+))?/),
    exited,
  ]);
  return {
    port: Number(m[1]),
    ...(m[2] ? { statsPort: Number(m[2]) } : {}),
    child,
    ...w,
    stop: stopper(child),
  };
}

/** The real distccd from Debian's package, in the foreground on `port`. */
export async function startDistccd(
  port: number,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningDaemon> {
  const child = spawn(
    'distccd',
    [
      '--daemon',
      '--no-detach',
      '--log-stderr',
      '--log-level',
      'info',
      '--listen',
      '127.0.0.1',
      '--port',
      String(port),
      '--allow',
      '127.0.0.1',
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const w = watch(child);
  // distccd logs nothing when it is ready: wait until the port answers.
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child, ...w, stop: stopper(child) };
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Two free loopback ports in a row: an instance's port and the stats port after it. */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p >= 65535) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return p;
  }
}
