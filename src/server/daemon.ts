// A running daemon: its listeners, its shared context, and its shutdown.
// SIGTERM/SIGINT: stop accepting, let running jobs finish within the grace
// period, then resolve `stopped`; a second signal ends the wait at once.

import type { Server } from 'node:net';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { Logger } from '../logging/logger.js';
import { Launcher, personalitySyscall, type Confinement } from '../compiler/launcher.js';
import { ConfigError } from '../errors.js';
import type { Account } from '../system/privileges.js';
import { LAUNCHER_SCRIPT } from '../compiler/launcher-script.js';
import { findOnPath } from '../compiler/environment.js';
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

const PERSONALITY = { native: undefined, linux32: 0x0008, linux64: 0x0000 } as const;

/** What the launcher fixes for every compiler: root, account, personality, sandbox. */
export function confinementFor(
  config: DaemonConfig,
  account: Account | undefined,
  hostPath: string,
): Confinement {
  const bwrap = config.sandbox === 'bwrap' ? findOnPath('bwrap', hostPath) : undefined;
  if (config.sandbox === 'bwrap' && bwrap === undefined) {
    throw new ConfigError('--sandbox bwrap: no bwrap on PATH (install bubblewrap)');
  }
  const personality = PERSONALITY[config.personality];
  if (personality !== undefined && personalitySyscall() === undefined) {
    throw new ConfigError(
      `--personality ${config.personality}: personality(2)'s system call number is not known on ${process.arch}`,
    );
  }
  // chroot(2) needs root: the launcher then stays root and switches to the
  // account in each compiler after entering the root. bubblewrap needs none.
  const switchUser = config.chroot !== undefined && bwrap === undefined && account !== undefined;
  return {
    ...(config.chroot !== undefined ? { root: config.chroot } : {}),
    ...(switchUser ? { uid: account.uid, gid: account.gid } : {}),
    ...(personality !== undefined ? { personality } : {}),
    ...(bwrap !== undefined ? { bwrap } : {}),
  };
}

export function makeContext(
  config: DaemonConfig,
  logger: Logger,
  compilerEnv: NodeJS.ProcessEnv,
  launch?: { account?: Account; hostPath: string },
): ServerContext {
  let launcher: Launcher | undefined;
  if (launch && config.launcher) {
    if (findOnPath('perl', launch.hostPath)) {
      launcher = new Launcher(
        compilerEnv,
        LAUNCHER_SCRIPT,
        (m) => logger.error(m),
        confinementFor(config, launch.account, launch.hostPath),
      );
    } else if (
      config.chroot !== undefined ||
      config.sandbox !== 'none' ||
      config.personality !== 'native'
    ) {
      throw new ConfigError(
        '--chroot, --personality and --sandbox need perl on PATH (for the launcher)',
      );
    } else {
      logger.warning('no perl on PATH: compilers are forked by the daemon itself (slower per job)');
    }
  }
  const cannotRemove = (err: Error) =>
    logger.warning(`cannot remove a job directory: ${err.message}`);
  return Object.seal({
    ...(launcher ? { launcher } : {}),
    config,
    logger,
    stats: new Stats(config.tmpdir),
    queue: new JobQueue(config.jobs, config.queueLimit),
    jobs: new JobBoard(),
    compilerEnv,
    cleanups: new Cleanups(cannotRemove),
    jobDirs: new JobDirs(cannotRemove),
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
