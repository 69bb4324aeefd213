// Polling helpers for things that happen in other processes.

import assert from 'node:assert/strict';

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
