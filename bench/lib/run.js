// Timed commands. A failed command throws with its stderr: a benchmark whose
// jobs fail measures nothing.

import { spawn } from 'node:child_process';

function failure(cmd, args, status, stderr) {
  const text = String(stderr).trim().split('\n').slice(-20).join('\n');
  return new Error(`\`${[cmd, ...args].join(' ')}\` exited ${status}:\n${text}`);
}

/**
 * Runs to the end and resolves to the wall time in ms. Never spawnSync: a
 * blocked event loop would not stop the daemons on SIGINT or SIGTERM.
 */
export function timed(cmd, args, { cwd, env = process.env } = {}) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // The time is taken at exit; 'close' (its stderr read to the end) comes after.
  let ms = NaN;
  child.once('exit', () => (ms = performance.now() - t0));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(ms);
      else reject(failure(cmd, args, code ?? signal, stderr));
    });
  });
}
