// SIGHUP: a new configuration from the re-read env file. What can change
// live takes effect for new connections (allow list, log level, jobs, limits,
// timeouts, whitelist); what cannot (ports, addresses, user, log
// destination...) is logged as needing a restart and keeps its old value.

import type { DaemonConfig } from '../config/daemon-config.js';
import type { ServerContext } from './context.js';

const LIVE = [
  'allow',
  'logLevel',
  'jobs',
  'queueLimit',
  'maxConnections',
  'jobLifetime',
  'limits',
  'ioTimeout',
  'whitelist',
  'shutdownGrace',
] as const satisfies readonly (keyof DaemonConfig)[];

const RESTART = [
  'port',
  'listen',
  'stats',
  'statsPort',
  'user',
  'pidFile',
  'mode',
  'logFile',
  'logRotation',
  'logStderr',
  'logFormat',
  'syslogSocket',
  'nice',
  'launcher',
  'tmpdir',
  'whitelistPath',
  'lifetime',
  'zeroconf',
  // The launcher fixed these when it started (compiler/launcher.ts).
  'chroot',
  'personality',
  'sandbox',
] as const satisfies readonly (keyof DaemonConfig)[];

const sets = (_k: string, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)] : v);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, sets) === JSON.stringify(b, sets);
}

export type ReloadReport = { changed: string[]; needRestart: string[] };

export function applyReload(ctx: ServerContext, reread: DaemonConfig): ReloadReport {
  const old = ctx.config;
  // The compilers found on PATH at start stay: PATH is not re-read.
  const next: DaemonConfig = {
    ...reread,
    whitelist: Object.freeze({ ...reread.whitelist, names: old.whitelist.names }),
  };
  const changed = LIVE.filter((k) => !same(old[k], next[k]));
  const needRestart = RESTART.filter((k) => !same(old[k], next[k]));
  // Keep what cannot change live.
  const kept = Object.fromEntries(RESTART.map((k) => [k, old[k]]));
  ctx.config = Object.freeze({ ...next, ...kept });
  if (changed.includes('logLevel')) ctx.logger.setLevel(next.logLevel);
  if (changed.includes('jobs') || changed.includes('queueLimit')) {
    ctx.queue.resize(next.jobs, next.queueLimit);
  }
  return { changed, needRestart };
}
