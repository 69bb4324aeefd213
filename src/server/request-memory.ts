// One budget for the request data of every connection still being read:
// what the decoders hold in memory (arguments, a pump request's files, an
// unparsed tail) and what is spooled into job files (a body on its way to
// its compiler). Per-request limits bound one request; this bounds them all
// together, so no number of clients sending at once can take the daemon's
// memory (or fill its TMPDIR, often a tmpfs).
//
// Past the budget, the request holding the most goes: the connection is
// closed with one log line and its client compiles locally. The largest
// holder, not the newest, so that a small real job still gets in while a
// few clients send huge bodies slowly.

export type BudgetLimits = Readonly<{ memory: number; disk: number }>;

/** Memory all requests being read may hold together. */
export const REQUEST_MEMORY = 256 * 1024 * 1024;
/** Bytes all requests being read may have spooled into job files together (at least 2 bodies of --max-body-size). */
export const requestDisk = (maxBodySize: number) =>
  Math.max(2 * 1024 * 1024 * 1024, 2 * maxBodySize);

export type Holder = {
  readonly who: string;
  /** performance.now() when the connection was opened. */
  readonly started: number;
  memory: number;
  disk: number;
  /** Bytes of the request received so far. */
  received: number;
  /** Closes the connection; `why` is for its log line. */
  readonly drop: (why: string) => void;
};

const MiB = 1024 * 1024;
const mib = (n: number) => `${Math.ceil(n / MiB)} MiB`;

export class RequestBudget {
  readonly #holders = new Set<Holder>();
  #memory = 0;
  #disk = 0;

  constructor(readonly limits: () => BudgetLimits) {}

  open(who: string, drop: (why: string) => void): Holder {
    const h: Holder = { who, started: performance.now(), memory: 0, disk: 0, received: 0, drop };
    this.#holders.add(h);
    return h;
  }

  /**
   * Records what `h` holds now. Returns false if that dropped `h` itself
   * (the caller stops reading it); other holders dropped to make room have
   * had their drop() called.
   */
  update(h: Holder, memory: number, disk: number, received = h.received): boolean {
    if (!this.#holders.has(h)) return false;
    h.received = received;
    this.#memory += memory - h.memory;
    this.#disk += disk - h.disk;
    h.memory = memory;
    h.disk = disk;
    const limits = this.limits();
    if (this.#memory > limits.memory) this.#shed('memory', limits.memory);
    if (this.#disk > limits.disk) this.#shed('disk', limits.disk);
    return this.#holders.has(h);
  }

  /**
   * At the connection limit: drops the request that comes slowest (fewest
   * bytes a second, of those open at least `minAgeMs`), so that clients
   * sending a byte now and then cannot keep a real one out. False if none
   * is old enough.
   */
  dropSlowest(why: string, minAgeMs = 2000): boolean {
    const now = performance.now();
    let slowest: Holder | undefined;
    let slowestRate = Infinity;
    for (const h of this.#holders) {
      const age = now - h.started;
      if (age < minAgeMs) continue;
      const rate = h.received / age;
      if (rate < slowestRate) {
        slowest = h;
        slowestRate = rate;
      }
    }
    if (!slowest) return false;
    this.close(slowest);
    const secs = Math.round((now - slowest.started) / 1000);
    slowest.drop(`${why}, and its request is the slowest (${slowest.received} bytes in ${secs}s)`);
    return true;
  }

  close(h: Holder): void {
    if (!this.#holders.delete(h)) return;
    this.#memory -= h.memory;
    this.#disk -= h.disk;
  }

  #shed(kind: 'memory' | 'disk', limit: number): void {
    while ((kind === 'memory' ? this.#memory : this.#disk) > limit) {
      let largest: Holder | undefined;
      for (const h of this.#holders) if (!largest || h[kind] > largest[kind]) largest = h;
      if (!largest) return;
      const held = largest[kind];
      this.close(largest);
      largest.drop(
        kind === 'memory'
          ? `its request holds ${mib(held)} of memory, the most of any, and all requests together are over the daemon's ${mib(limit)}`
          : `its request has ${mib(held)} in job files, the most of any, and all requests together are over the daemon's ${mib(limit)}`,
      );
    }
  }
}
