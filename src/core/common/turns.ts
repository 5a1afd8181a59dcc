/**
 * At most `size` pieces of work at once; the others wait their turn in order. A waiter whose signal
 * aborts leaves the line with the signal's reason.
 */
export class Turns {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  /**
   * Runs `work` in its turn. Stopped while it runs, it gives its turn to the next at once: work told
   * to stop may still hang (on a target that does not answer), and the line must not wait for it.
   */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#take(signal);
    let given = false;
    const giveTurn = () => {
      if (given) return;
      given = true;
      signal?.removeEventListener("abort", giveTurn);
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
    if (signal?.aborted) {
      giveTurn();
      throw signal.reason;
    }
    signal?.addEventListener("abort", giveTurn, { once: true });
    try {
      return await work();
    } finally {
      giveTurn();
    }
  }

  #take(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      const leave = () => {
        const place = this.#waiting.indexOf(turn);
        if (place >= 0) this.#waiting.splice(place, 1);
        reject(signal?.reason);
      };
      this.#waiting.push(turn);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }
}
