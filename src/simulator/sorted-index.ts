// Listings page through large sets in a fixed order; keeping them sorted by a fixed-width text key
// turns windows and cursors into binary searches and a change into one remove plus one insert,
// instead of a full sort per request.

export class SortedIndex<T> {
  private keys: string[] = [];
  private items: T[] = [];
  private readonly keyOfItem = new Map<T, string>();

  /** Keys must be unique and must sort as plain text (`<`) in the intended order. */
  constructor(
    private readonly keyOf: (item: T) => string,
    initial: Iterable<T> = [],
  ) {
    const entries: [string, T][] = [];
    for (const item of initial) {
      const key = keyOf(item);
      entries.push([key, item]);
      this.keyOfItem.set(item, key);
    }
    entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    this.keys = entries.map((e) => e[0]);
    this.items = entries.map((e) => e[1]);
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds the item, or moves it to where its key now belongs. */
  upsert(item: T): void {
    const previous = this.keyOfItem.get(item);
    if (previous !== undefined) {
      const at = this.lowerBound(previous);
      this.keys.splice(at, 1);
      this.items.splice(at, 1);
    }
    const key = this.keyOf(item);
    const at = this.lowerBound(key);
    this.keys.splice(at, 0, key);
    this.items.splice(at, 0, item);
    this.keyOfItem.set(item, key);
  }

  keyAt(position: number): string {
    return this.keys[position];
  }

  itemAt(position: number): T {
    return this.items[position];
  }

  /** Position of the first key that is >= `key`. */
  lowerBound(key: string): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.keys[mid] < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Position of the first key that is > `key`. */
  upperBound(key: string): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.keys[mid] <= key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
