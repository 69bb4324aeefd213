// At most `slots` compilers at once; up to `queueLimit` more jobs wait in
// order. A job that finds the queue full is refused (distccd's REJ_OVERLOAD).

export class JobQueue {
  #slots: number;
  #queueLimit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(slots: number, queueLimit: number) {
    this.#slots = slots;
    this.#queueLimit = queueLimit;
  }

  /** New limits (SIGHUP); more slots start waiting jobs at once. */
  resize(slots: number, queueLimit: number): void {
    this.#slots = slots;
    this.#queueLimit = queueLimit;
    while (this.#running < this.#slots && this.#waiting.length > 0) this.#waiting.shift()!();
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves to a release function once a slot is free, or to undefined at
   * once when the queue is full. If `signal` aborts while waiting, the wait
   * ends with undefined too.
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (this.#running < this.#slots) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.#queueLimit) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#running++;
        resolve(this.#releaser());
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(wake);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#running--;
      this.#waiting.shift()?.();
    };
  }
}
