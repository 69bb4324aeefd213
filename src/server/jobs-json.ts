// /jobs: the daemon's live jobs and totals as one JSON document, for
// `tsdistccmon --server`, the /ui page and scripts.

import { VERSION } from '../version.js';
import type { ServerContext } from './context.js';
import type { JobView } from './job-board.js';
import type { JobResultName } from './stats.js';

export type JobsSnapshot = {
  server: {
    pid: number;
    version: string;
    /** Seconds since the daemon started. */
    uptime: number;
    /** Compile slots (--jobs) and the most that may wait (--queue-limit). */
    slots: number;
    queueLimit: number;
    rss: number;
  };
  /** Jobs holding a slot, and jobs waiting for one. */
  running: number;
  queued: number;
  /** Jobs ended by result (distccd's counters), connections, bytes. */
  totals: Record<JobResultName, number> & { bytesIn: number; bytesOut: number };
  /** Every connection being served, oldest first. */
  jobs: JobView[];
};

export function jobsSnapshot(ctx: ServerContext): JobsSnapshot {
  const { config, queue, stats, jobs } = ctx;
  return {
    server: {
      pid: process.pid,
      version: VERSION,
      uptime: Math.round(process.uptime() * 1000) / 1000,
      slots: config.jobs,
      queueLimit: config.queueLimit,
      rss: process.memoryUsage.rss(),
    },
    running: queue.running,
    queued: queue.queued,
    totals: { ...stats.counters, bytesIn: jobs.metrics.bytesIn, bytesOut: jobs.metrics.bytesOut },
    jobs: jobs.list(),
  };
}
