// What /metrics and /ui count beyond distccd's <distccstats> counters: bytes
// in and out, and how long answered jobs took.

/** Upper bounds (seconds) of the job duration histogram: a hello.c to a big C++ unit. */
export const DURATION_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/** A Prometheus histogram: counts per upper bound (not yet cumulative), sum and count. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** [le, cumulative count] for each bound, then +Inf. */
  cumulative(): [number, number][] {
    let running = 0;
    const rows: [number, number][] = this.bounds.map((b, i) => {
      running += this.counts[i]!;
      return [b, running];
    });
    rows.push([Infinity, this.count]);
    return rows;
  }
}

/** The phases of a job, as job-board.ts names them. */
export type PhaseName = 'receive' | 'queued' | 'compile' | 'send';

export class JobMetrics {
  readonly duration = new Histogram(DURATION_BUCKETS);
  /** Seconds all jobs spent in each phase, summed: a benchmark's server-side split. */
  readonly phaseSeconds: Record<PhaseName, number> = { receive: 0, queued: 0, compile: 0, send: 0 };
  bytesIn = 0;
  bytesOut = 0;
  /** Jobs answered with a reply (compiled, failed, or timed out). */
  answered = 0;

  spent(phase: PhaseName, ms: number): void {
    this.phaseSeconds[phase] += ms / 1000;
  }

  received(bytes: number): void {
    this.bytesIn += bytes;
  }

  /**
   * A job's outcome. Jobs with a reply are timed (`msecs` as the job's log
   * line gives it) and their reply counted as sent; refusals have no reply.
   */
  finished(msecs: number, reply?: readonly Buffer[]): void {
    if (!reply) return;
    this.answered++;
    this.duration.observe(msecs / 1000);
    for (const part of reply) this.bytesOut += part.length;
  }
}
