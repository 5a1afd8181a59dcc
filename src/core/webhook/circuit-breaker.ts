// Stops hammering a receiver that is down (the original's breaker practically never opened: one
// execution outlasted the period after which it forgot its failures).
// It opens when nearly all of the last requests failed (a receiver failing some requests at random
// is up, and is left alone); while open, attempts fail at once without a request. After `openMs` one
// probe may go through: its success closes the breaker, its failure opens it again for twice as
// long (up to `maxOpenMs`).

export interface CircuitBreakerOptions {
  /** How many of the latest outcomes are looked at. */
  window?: number;
  /** No opening before this many outcomes are known. */
  minimumCalls?: number;
  /** Share of failures among the latest outcomes that opens the breaker. */
  failureRatio?: number;
  openMs?: number;
  maxOpenMs?: number;
  now?: () => number;
  onOpen?: (failures: number, openMs: number) => void;
  onClose?: () => void;
}

export class CircuitBreaker {
  /** The latest outcomes, true for a failure. */
  private outcomes: boolean[] = [];
  private openUntil = 0;
  private openMs: number;
  private state: "closed" | "open" | "probing" = "closed";
  private readonly window: number;
  private readonly minimumCalls: number;
  private readonly failureRatio: number;
  private readonly baseOpenMs: number;
  private readonly maxOpenMs: number;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions = {}) {
    this.window = options.window ?? 20;
    this.minimumCalls = Math.min(this.window, options.minimumCalls ?? 10);
    this.failureRatio = options.failureRatio ?? 0.9;
    this.baseOpenMs = options.openMs ?? 10_000;
    this.maxOpenMs = Math.max(this.baseOpenMs, options.maxOpenMs ?? 6 * this.baseOpenMs);
    this.openMs = this.baseOpenMs;
    this.now = options.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.state !== "closed";
  }

  /** What may go out now: everything, nothing but held-back turns, one probe, or nothing (probing). */
  gate(): "closed" | "holding" | "probe" | "probing" {
    if (this.state === "closed") return "closed";
    if (this.state === "probing") return "probing";
    return this.now() >= this.openUntil ? "probe" : "holding";
  }

  /** A probe is out: its answer decides. */
  get probing(): boolean {
    return this.state === "probing";
  }

  /** When the next probe may go out (epoch ms); 0 while closed. */
  get retryAt(): number {
    return this.state === "closed" ? 0 : this.openUntil;
  }

  /** Whether a request may go out now; a true while open makes it the probe. */
  allow(): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && this.now() >= this.openUntil) {
      this.state = "probing";
      return true;
    }
    return false;
  }

  success(): void {
    const wasOpen = this.state !== "closed";
    this.record(false);
    if (!wasOpen) return;
    this.state = "closed";
    this.outcomes = [];
    this.openMs = this.baseOpenMs;
    this.options.onClose?.();
  }

  failure(): void {
    this.record(true);
    if (this.state === "probing") {
      this.openMs = Math.min(this.maxOpenMs, this.openMs * 2);
      this.open();
    } else if (this.state === "closed" && this.tripped()) {
      this.open();
    }
  }

  /** A permitted request ended without an answer that says anything (shutdown): let another probe. */
  release(): void {
    if (this.state === "probing") this.state = "open";
  }

  private record(failed: boolean): void {
    this.outcomes.push(failed);
    if (this.outcomes.length > this.window) this.outcomes.shift();
  }

  private tripped(): boolean {
    const failures = this.outcomes.filter(Boolean).length;
    return this.outcomes.length >= this.minimumCalls && failures >= this.failureRatio * this.outcomes.length;
  }

  private open(): void {
    this.state = "open";
    this.openUntil = this.now() + this.openMs;
    this.options.onOpen?.(this.outcomes.filter(Boolean).length, this.openMs);
  }
}
