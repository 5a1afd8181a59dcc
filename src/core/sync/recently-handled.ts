// Each poll reads its windows back by a look-back (late events, calls indexed by their start), so it
// sees again much of what earlier polls handled. This remembers what was handled, by a key and a
// hash of its content, so that only what is new or changed is fetched and written again.
export class RecentlyHandled {
  private readonly entries = new Map<string, { hash: string; seenAt: number }>();

  has(key: string, hash: string): boolean {
    return this.entries.get(key)?.hash === hash;
  }

  /** Called once these are written: a window that failed is asked for, and handled, again. */
  remember(handled: Iterable<readonly [key: string, hash: string]>, seenAt: number): void {
    for (const [key, hash] of handled) this.entries.set(key, { hash, seenAt });
  }

  /** Entries no window can return any more; forgetting one too early costs a second write, nothing more. */
  forgetBefore(ms: number): void {
    for (const [key, entry] of this.entries) if (entry.seenAt < ms) this.entries.delete(key);
  }
}
