// Reads an async sequence ahead of its consumer, up to `limit` items: the contact listing arrives
// page by page, and reading it ahead of the fetching and writing of each page tells the total (for
// progress and the time left) long before the last page is written. Bounded, so that a campaign of
// millions of contacts does not hold all its ids at once.

export interface ReadAheadHooks<T> {
  /** An item was read (not yet consumed). */
  onRead?: (item: T) => void;
  /** The sequence ended without error: every item has been read. */
  onEnd?: () => void;
}

export async function* readAhead<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  limit: number,
  signal: AbortSignal,
  hooks: ReadAheadHooks<T> = {},
): AsyncGenerator<T> {
  // Ends the reading when the consumer stops early (its own failure) or the run is aborted.
  const reading = new AbortController();
  const abort = () => reading.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer = () => {};
  let wakeReader = () => {};
  const reader = (async () => {
    try {
      for await (const item of open(reading.signal)) {
        queue.push(item);
        hooks.onRead?.(item);
        wakeConsumer();
        while (queue.length >= limit && !reading.signal.aborted) await new Promise<void>((resolve) => (wakeReader = resolve));
        // Stopped: never taken for the end of the sequence.
        reading.signal.throwIfAborted();
      }
      hooks.onEnd?.();
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      wakeConsumer();
    }
  })();
  try {
    for (;;) {
      signal.throwIfAborted();
      const next = queue.shift();
      if (next !== undefined) {
        wakeReader();
        yield next;
        continue;
      }
      // What was read before a failure is consumed first, as if read one by one.
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    reading.abort();
    wakeReader();
    signal.removeEventListener("abort", abort);
    await reader;
  }
}
