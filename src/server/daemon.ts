// A running daemon: its listeners, its shared context, and its shutdown.
// SIGTERM/SIGINT: stop accepting, let running jobs finish within the grace
// period, then resolve `stopped`; a second signal ends the wait at once.

import type { Server } from 'node:net';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { Logger } from '../logging/logger.js';
import { Launcher } from '../compiler/launcher.js';
import { LAUNCHER_SCRIPT } from '../compiler/launcher-script.js';
import { findOnPath } from '../compiler/environment.js';
import { JobQueue } from './job-queue.js';
import { startListener, type Listener } from './listener.js';
import { Stats } from './stats.js';
import { startStatsServer } from './stats-server.js';
import { Cleanups, type ServerContext } from './context.js';

export type Daemon = Readonly<{
  ctx: ServerContext;
  listener: Listener;
  statsServer?: Server;
  /** Stops accepting and waits (at most the grace period) for running jobs. */
  stop: (why: string) => Promise<void>;
  /** Ends the wait of a stop in progress: remaining connections are cut. */
  stopNow: () => void;
}>;

export function makeContext(
  config: DaemonConfig,
  logger: Logger,
  compilerEnv: NodeJS.ProcessEnv,
  useLauncher = false,
): ServerContext {
  let launcher: Launcher | undefined;
  if (useLauncher && config.launcher) {
    if (findOnPath('perl', compilerEnv.PATH ?? '')) {
      launcher = new Launcher(compilerEnv, LAUNCHER_SCRIPT, (m) => logger.error(m));
    } else {
      logger.warning('no perl on PATH: compilers are forked by the daemon itself (slower per job)');
    }
  }
  return Object.seal({
    ...(launcher ? { launcher } : {}),
    config,
    logger,
    stats: new Stats(config.tmpdir),
    queue: new JobQueue(config.jobs, config.queueLimit),
    compilerEnv,
    cleanups: new Cleanups((err) =>
      logger.warning(`cannot remove a job directory: ${err.message}`),
    ),
  });
}

export async function startDaemon(
  ctx: ServerContext,
  passed: { jobs?: number; stats?: number } = {},
): Promise<Daemon> {
  const listener = await startListener(ctx, passed.jobs);
  let statsServer: Server | undefined;
  try {
    if (ctx.config.stats || passed.stats !== undefined) {
      statsServer = await startStatsServer(ctx, passed.stats);
    }
  } catch (err) {
    listener.server.close();
    throw err;
  }
  let cut: (() => void) | undefined;
  const stopNow = () => {
    for (const s of listener.sockets) s.destroy();
    cut?.();
  };
  const stop = async (why: string) => {
    const { logger, config } = ctx;
    logger.notice(`${why}: no new jobs; waiting for ${listener.active.size} running`);
    listener.server.close();
    statsServer?.close();
    if (listener.active.size > 0) {
      await new Promise<void>((resolve) => {
        cut = resolve;
        const timer = setTimeout(() => {
          logger.warning(
            `grace period of ${config.shutdownGrace}s over; cutting ${listener.active.size} jobs`,
          );
          stopNow();
          resolve();
        }, config.shutdownGrace * 1000);
        void Promise.allSettled([...listener.active]).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await ctx.cleanups.settled();
    ctx.launcher?.close();
  };
  return Object.freeze({ ctx, listener, ...(statsServer ? { statsServer } : {}), stop, stopNow });
}
