// /history: what the /ui graph draws — the most jobs running and queued
// within each few seconds, and jobs answered so far, over the last minutes.

import type { ServerContext } from './context.js';

export type HistorySample = {
  /** Milliseconds since the epoch. */
  t: number;
  running: number;
  queued: number;
  /** Jobs answered since the daemon started: throughput is its slope. */
  answered: number;
};

export type HistoryOptions = { everyMs: number; keepMs: number };

export const HISTORY_DEFAULTS: HistoryOptions = { everyMs: 2000, keepMs: 15 * 60_000 };

export class JobHistory {
  readonly #samples: HistorySample[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ServerContext,
    readonly options: HistoryOptions = HISTORY_DEFAULTS,
  ) {}

  /** Running and queued are the most at once since the last sample. */
  sample(now: number = Date.now()): void {
    const { jobs } = this.ctx;
    this.#samples.push({ t: now, ...jobs.takePeaks(), answered: jobs.metrics.answered });
    const cutoff = now - this.options.keepMs;
    while (this.#samples.length > 0 && this.#samples[0]!.t < cutoff) this.#samples.shift();
  }

  /** Samples from now on; the timer does not keep the daemon alive. */
  start(): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.options.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The samples so far, and one for this moment. */
  snapshot(now: number = Date.now()): { everyMs: number; samples: HistorySample[] } {
    const { queue, jobs } = this.ctx;
    return {
      everyMs: this.options.everyMs,
      samples: [
        ...this.#samples,
        { t: now, running: queue.running, queued: queue.queued, answered: jobs.metrics.answered },
      ],
    };
  }
}
