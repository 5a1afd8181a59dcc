// Events that can come by the thousand (dead letters while a receiver is down, API retries of a
// backfill) must not flood the console or the journal: the first is said at once, the ones after it
// at most once per period as a count. Each is still written as one line where the caller keeps a
// full record (the log file).

export interface LogDigestOptions {
  /** A line for the console (and the log file). */
  say: (message: string) => void;
  /** One line per event, for the log file only. */
  record?: (line: string) => void;
  /** What the console says of an event said at once; it stands for that event in the log file too. */
  first: (line: string) => string;
  /** The line for `count` events held back since the last one said, `total` in this run, `last` the latest. */
  summary: (count: number, total: number, last: string) => string;
  periodMs?: number;
  now?: () => number;
}

export class LogDigest {
  private pending = 0;
  private last = "";
  private total = 0;
  private lastSaid: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly periodMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LogDigestOptions) {
    this.periodMs = options.periodMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  add(line: string): void {
    this.total++;
    const now = this.now();
    if (this.pending === 0 && (this.lastSaid === undefined || now - this.lastSaid >= this.periodMs)) {
      this.lastSaid = now;
      this.options.say(this.options.first(line));
      return;
    }
    this.options.record?.(line);
    this.last = line;
    this.pending++;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), (this.lastSaid ?? now) + this.periodMs - now);
    // A count still to say must not keep a finished process alive; flush() at the end says it.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Says the count held back, if any (when its period is over, and at the end of a run). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === 0) return;
    const count = this.pending;
    this.pending = 0;
    this.lastSaid = this.now();
    this.options.say(this.options.summary(count, this.total, this.last));
  }
}

/** An error text as one line of bounded length: a receiver's answer or a runtime's hint may span lines. */
export function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
