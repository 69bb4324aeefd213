// Polling helpers for things that happen in other processes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never happened: ${what}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Options of a foreground daemon on loopback, allowing loopback. */
export function localDaemonArgs(port: number | string = 0): string[] {
  return ['--no-detach', '--listen', '127.0.0.1', '--port', String(port), '--allow', '127.0.0.1'];
}

/** A mark for a fixture compiler's command line (hang-cc's HANG_MARK), unique to this call. */
export function uniqueMark(what: string): string {
  return `${what}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** The pid (as seen here) of the process with `mark` in its command line, once there is one. */
export async function pidWith(mark: string, ms = 10_000): Promise<number> {
  let pid: number | undefined;
  await until(
    `a process with ${mark} in its command line`,
    () => {
      const r = spawnSync('pgrep', ['-f', '--', mark], { encoding: 'utf8' });
      pid = r.status === 0 ? Number(r.stdout.trim().split('\n')[0]) : undefined;
      return pid !== undefined;
    },
    ms,
  );
  return pid!;
}
