// A running daemon: its listeners, its shared context, and its shutdown.
// SIGTERM/SIGINT: stop accepting, let running jobs finish within the grace
// period, then resolve `stopped`; a second signal ends the wait at once.

import { REQUEST_MEMORY, RequestBudget, requestDisk } from './request-memory.js';
import type { Server } from 'node:net';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { Logger } from '../logging/logger.js';
import type { Runner } from '../compiler/runner.js';
import { JobDirs } from '../compiler/job-dir.js';
import { JobBoard } from './job-board.js';
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
  runner: Runner = { kind: 'none', confinement: {} },
): ServerContext {
  const cannotRemove = (err: Error) =>
    logger.warning(`cannot remove a job directory: ${err.message}`);
  const ctx: ServerContext = Object.seal({
    ...(runner.launcher ? { launcher: runner.launcher } : {}),
    ...(runner.bwrap ? { sandbox: runner.bwrap } : {}),
    config,
    logger,
    stats: new Stats(config.tmpdir),
    queue: new JobQueue(config.jobs, config.queueLimit),
    jobs: new JobBoard(),
    compilerEnv,
    cleanups: new Cleanups(cannotRemove),
    // In a --chroot root without a sandbox, what a compiler left running
    // could change a directory under the next job: none is reused there.
    jobDirs: new JobDirs(
      cannotRemove,
      config.chroot !== undefined && runner.kind === 'none' ? 0 : 16,
    ),
    // ctx.config, read at each use: SIGHUP may change --max-body-size.
    requests: new RequestBudget(() => ({
      memory: REQUEST_MEMORY,
      disk: requestDisk(ctx.config.limits.maxBodySize),
    })),
  });
  return ctx;
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
    // Jobs cut above end once their compilers are killed (at most the kill
    // grace): wait for that, bounded, so that their directories go too.
    if (listener.active.size > 0) {
      await Promise.race([
        Promise.allSettled([...listener.active]),
        new Promise((r) => setTimeout(r, 5000).unref()),
      ]);
    }
    await ctx.cleanups.settled();
    await ctx.jobDirs.empty();
    ctx.launcher?.close();
  };
  return Object.freeze({ ctx, listener, ...(statsServer ? { statsServer } : {}), stop, stopNow });
}
