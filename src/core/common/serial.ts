/**
 * Runs async operations one after the other. The libSQL client lends its connection to an open
 * transaction, so another call on the same client meanwhile would wait for that transaction's
 * lock (blocking the whole process) or fail outright (in-memory databases); a SQL Server
 * transaction's connection takes one request at a time.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Resolves once everything queued so far has settled, whether it succeeded or not. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
