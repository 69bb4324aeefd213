// What every connection of one daemon shares.

import type { DaemonConfig } from '../config/daemon-config.js';
import type { Logger } from '../logging/logger.js';
import type { JobQueue } from './job-queue.js';
import type { Stats } from './stats.js';

export type ServerContext = Readonly<{
  config: DaemonConfig;
  logger: Logger;
  stats: Stats;
  queue: JobQueue;
  /** The environment compilers run with (PATH without masquerade dirs). */
  compilerEnv: NodeJS.ProcessEnv;
}>;
