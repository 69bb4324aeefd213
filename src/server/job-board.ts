// The daemon's live jobs, for /jobs, /metrics and /ui on the stats port: one
// entry a connection, from the first byte of its request to its last reply
// byte, with the phase it is in and the compile slot it holds.
//
// Phases: receive (reading the request), queued (waiting for a slot),
// compile (holding a slot: job directory, compiler, reply encoding), send
// (writing the reply).

import type { Readable } from 'node:stream';
import { JobMetrics } from './job-metrics.js';

export const JobPhase = {
  RECEIVE: 'receive',
  QUEUED: 'queued',
  COMPILE: 'compile',
  SEND: 'send',
} as const;
export type JobPhaseName = (typeof JobPhase)[keyof typeof JobPhase];

/** One job as /jobs shows it; times in seconds. */
export type JobView = {
  id: number;
  /** The client's address and port; null for an inetd job. */
  client: string | null;
  port: number | null;
  /** Known once the request is read. */
  compiler: string | null;
  input: string | null;
  phase: JobPhaseName;
  /** The compile slot (0-based) held in phase compile, else null. */
  slot: number | null;
  elapsed: number;
  phaseElapsed: number;
};

const seconds = (ms: number) => Math.round(ms) / 1000;

export class TrackedJob {
  compiler: string | null = null;
  input: string | null = null;
  #phase: JobPhaseName = JobPhase.RECEIVE;
  #slot: number | null = null;
  readonly #started = performance.now();
  #phaseStarted = this.#started;
  #closed = false;

  constructor(
    readonly id: number,
    readonly client: string | null,
    readonly port: number | null,
    readonly board: JobBoard,
  ) {}

  get phase(): JobPhaseName {
    return this.#phase;
  }

  get slot(): number | null {
    return this.#slot;
  }

  #enter(phase: JobPhaseName): void {
    const now = performance.now();
    this.board.metrics.spent(this.#phase, now - this.#phaseStarted);
    this.board.moved(this.#phase, phase);
    if (phase !== JobPhase.COMPILE && this.#slot !== null) {
      this.board.freeSlot(this.#slot);
      this.#slot = null;
    }
    if (phase === JobPhase.COMPILE && this.#slot === null) this.#slot = this.board.takeSlot();
    this.#phase = phase;
    this.#phaseStarted = now;
  }

  /** The request is read and checked; the job waits for a slot. */
  queued(compiler: string, input: string): void {
    this.compiler = compiler;
    this.input = input;
    this.#enter(JobPhase.QUEUED);
  }

  /** It holds a slot now. */
  compiling(): void {
    this.#enter(JobPhase.COMPILE);
  }

  /** The slot is given back; what is left is writing the reply. */
  sending(): void {
    this.#enter(JobPhase.SEND);
  }

  /** The job is decided: timed, and its reply counted, if it has one. */
  finish(msecs: number, reply?: readonly Buffer[]): void {
    this.board.metrics.finished(msecs, reply);
    this.sending();
  }

  /** The connection is over: the job leaves the board. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.board.metrics.spent(this.#phase, performance.now() - this.#phaseStarted);
    this.board.moved(this.#phase, undefined);
    if (this.#slot !== null) this.board.freeSlot(this.#slot);
    this.#slot = null;
    this.board.remove(this);
  }

  view(now: number): JobView {
    return {
      id: this.id,
      client: this.client,
      port: this.port,
      compiler: this.compiler,
      input: this.input,
      phase: this.#phase,
      slot: this.#slot,
      elapsed: seconds(now - this.#started),
      phaseElapsed: seconds(now - this.#phaseStarted),
    };
  }
}

export class JobBoard {
  readonly metrics = new JobMetrics();
  readonly #jobs = new Map<number, TrackedJob>();
  readonly #slotsInUse = new Set<number>();
  readonly #detach = new Map<number, () => void>();
  #nextId = 1;
  readonly #count: Record<JobPhaseName, number> = { receive: 0, queued: 0, compile: 0, send: 0 };
  #peak = { running: 0, queued: 0 };

  /**
   * A new connection, in phase receive. Every byte read from `input` is
   * counted as received.
   */
  open(peer: { address?: string; port?: number }, input?: Readable): TrackedJob {
    const job = new TrackedJob(this.#nextId++, peer.address ?? null, peer.port ?? null, this);
    this.#jobs.set(job.id, job);
    this.#count.receive++;
    if (input) {
      const count = (chunk: Buffer | string) => this.metrics.received(chunk.length);
      input.on('data', count);
      this.#detach.set(job.id, () => input.off('data', count));
    }
    return job;
  }

  /** A job went from one phase to another (undefined: it left). */
  moved(from: JobPhaseName, to: JobPhaseName | undefined): void {
    this.#count[from]--;
    if (to === undefined) return;
    this.#count[to]++;
    this.#peak.running = Math.max(this.#peak.running, this.#count.compile);
    this.#peak.queued = Math.max(this.#peak.queued, this.#count.queued);
  }

  /**
   * The most jobs compiling and queued at once since the last call (so a
   * sampler misses no short job), then starts again from now.
   */
  takePeaks(): { running: number; queued: number } {
    const peak = this.#peak;
    this.#peak = { running: this.#count.compile, queued: this.#count.queued };
    return peak;
  }

  /** The lowest slot number not in use. */
  takeSlot(): number {
    let n = 0;
    while (this.#slotsInUse.has(n)) n++;
    this.#slotsInUse.add(n);
    return n;
  }

  freeSlot(n: number): void {
    this.#slotsInUse.delete(n);
  }

  remove(job: TrackedJob): void {
    this.#jobs.delete(job.id);
    this.#detach.get(job.id)?.();
    this.#detach.delete(job.id);
  }

  get size(): number {
    return this.#jobs.size;
  }

  /** Every job now, oldest first. */
  list(now: number = performance.now()): JobView[] {
    return [...this.#jobs.values()].map((j) => j.view(now));
  }
}
