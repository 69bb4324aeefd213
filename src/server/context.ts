// What every connection of one daemon shares.

import type { DaemonConfig } from '../config/daemon-config.js';
import type { Logger } from '../logging/logger.js';
import type { JobDirs } from '../compiler/job-dir.js';
import type { Launcher } from '../compiler/launcher.js';
import type { Sandbox } from '../compiler/sandbox.js';
import type { JobBoard } from './job-board.js';
import type { JobQueue } from './job-queue.js';
import type { Stats } from './stats.js';
import type { RequestBudget } from './request-memory.js';

export type ServerContext = {
  /** Replaced on SIGHUP (see reload.ts): read it at each use, don't keep a copy. */
  config: DaemonConfig;
  readonly logger: Logger;
  readonly stats: Stats;
  readonly queue: JobQueue;
  /** The jobs being served, for the stats port's /jobs, /metrics and /ui. */
  readonly jobs: JobBoard;
  /** The environment compilers run with (PATH without masquerade dirs). */
  readonly compilerEnv: NodeJS.ProcessEnv;
  /** The resident process that forks compilers, if used. */
  readonly launcher?: Launcher;
  /** The sandbox every compiler runs in, unless --sandbox none or it cannot run here. */
  readonly sandbox?: Sandbox;
  /** Job directories being emptied or removed; shutdown waits for them. */
  readonly cleanups: Cleanups;
  /** Makes job directories and keeps emptied ones for the next jobs. */
  readonly jobDirs: JobDirs;
  /** What the requests being read hold, in memory and in job files, all together. */
  readonly requests: RequestBudget;
};

export class Cleanups {
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly onError: (err: Error) => void) {}

  track(work: Promise<void>): void {
    const p = work.catch((err: Error) => this.onError(err)).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
