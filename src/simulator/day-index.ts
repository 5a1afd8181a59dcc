// Listings page through large sets in a fixed order. Items are kept in buckets per day and a bucket
// is sorted only when a listing reaches it, so a change costs a set insert, a two-minute window
// touches one day, and keys that are expensive to compute (a contact's md5) are computed only for
// the days actually listed.

interface Bucket<T> {
  members: Set<T>;
  sorted?: { keys: string[]; items: T[] };
}

export class DayIndex<T> {
  private readonly buckets = new Map<string, Bucket<T>>();
  /** Days that have a bucket, in order. */
  private readonly days: string[] = [];
  private readonly dayOfItem = new Map<T, string>();

  /**
   * `keyOf` must start with `dayOf` (a `YYYY-MM-DD`), be unique, and sort as plain text in the
   * intended order. `prepare` runs on a bucket's items before their keys are computed.
   */
  constructor(
    private readonly dayOf: (item: T) => string,
    private readonly keyOf: (item: T) => string,
    items: Iterable<T> = [],
    private readonly prepare: (items: Iterable<T>) => void = () => {},
  ) {
    for (const item of items) this.upsert(item);
  }

  /** Adds the item, or notes that its key may have changed. */
  upsert(item: T): void {
    const previous = this.dayOfItem.get(item);
    if (previous !== undefined) {
      const bucket = this.bucket(previous);
      bucket.members.delete(item);
      bucket.sorted = undefined;
    }
    const day = this.dayOf(item);
    this.dayOfItem.set(item, day);
    const bucket = this.bucket(day);
    bucket.members.add(item);
    bucket.sorted = undefined;
  }

  /** Items in key order, starting at the first key >= `from` (> `from` when `exclusive`). */
  *scan(from: string, exclusive = false): Generator<{ key: string; item: T }> {
    const fromDay = from.slice(0, 10);
    for (let d = lowerBound(this.days, fromDay); d < this.days.length; d++) {
      const { keys, items } = this.sorted(this.bucket(this.days[d]));
      let position = 0;
      if (this.days[d] === fromDay) position = exclusive ? upperBound(keys, from) : lowerBound(keys, from);
      for (; position < keys.length; position++) yield { key: keys[position], item: items[position] };
    }
  }

  /** The day's bucket, made on first use; buckets are never removed, so a day once seen keeps its own. */
  private bucket(day: string): Bucket<T> {
    let bucket = this.buckets.get(day);
    if (!bucket) {
      bucket = { members: new Set() };
      this.buckets.set(day, bucket);
      this.days.splice(lowerBound(this.days, day), 0, day);
    }
    return bucket;
  }

  private sorted(bucket: Bucket<T>): { keys: string[]; items: T[] } {
    if (!bucket.sorted) {
      this.prepare(bucket.members);
      const entries = [...bucket.members].map((item) => [this.keyOf(item), item] as const);
      entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      bucket.sorted = { keys: entries.map((e) => e[0]), items: entries.map((e) => e[1]) };
    }
    return bucket.sorted;
  }
}

/** First position whose value is >= `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** First position whose value is > `key`. */
function upperBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] <= key) low = mid + 1;
    else high = mid;
  }
  return low;
}
