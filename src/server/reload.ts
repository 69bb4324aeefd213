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
] as const satisfies readonly (keyof DaemonConfig)[];

function same(a: unknown, b: unknown): boolean {
  return (
    JSON.stringify(a, (_k, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)] : v)) ===
    JSON.stringify(b, (_k, v: unknown) => (v instanceof Set ? [...(v as Set<unknown>)] : v))
  );
}

export type ReloadReport = { changed: string[]; needRestart: string[] };

export function applyReload(ctx: ServerContext, next: DaemonConfig): ReloadReport {
  const old = ctx.config;
  const changed = LIVE.filter((k) => !same(old[k], next[k]));
  const needRestart = RESTART.filter((k) => !same(old[k], next[k]));
  // Keep what cannot change live, and the compilers found on PATH at start.
  const kept = Object.fromEntries(RESTART.map((k) => [k, old[k]]));
  ctx.config = Object.freeze({
    ...next,
    ...kept,
    whitelist: Object.freeze({ ...next.whitelist, names: old.whitelist.names }),
  });
  if (changed.includes('logLevel')) ctx.logger.setLevel(next.logLevel);
  if (changed.includes('jobs') || changed.includes('queueLimit')) {
    ctx.queue.resize(next.jobs, next.queueLimit);
  }
  return { changed, needRestart };
}
