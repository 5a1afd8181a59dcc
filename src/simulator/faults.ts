// Failure modes the real API (or the network in front of it) shows and the client must survive
// (server errors, rate limits, slow and broken answers), plus counters so tests can see which ones
// actually happened.

/** Per-request probabilities (0..1); the object is read on every request, so tests may change it live. */
export interface Faults {
  /** 500 Internal Server Error. */
  errorRate: number;
  /** 429 Too Many Requests with `Retry-After: retryAfterSeconds`. */
  rateLimitRate: number;
  /** Answer only after `slowMs` (given up when the client aborts). */
  slowRate: number;
  slowMs: number;
  /** 200 with a truncated, unparseable JSON body. */
  malformedRate: number;
  retryAfterSeconds: number;
}

export function noFaults(): Faults {
  return { errorRate: 0, rateLimitRate: 0, slowRate: 0, slowMs: 2000, malformedRate: 0, retryAfterSeconds: 1 };
}

export type Endpoint =
  | "fields" // GET …/fields/list
  | "contactsList" // GET …/contacts/list
  | "contactsFetch" // POST …/contacts/
  | "transactions" // GET …/contacts/transactions/
  | "inboundCalls" // GET …/inbound/calls/
  | "campaign" // legacy GET /api/campaigns/{cid}
  | "flatView" // legacy POST …/contacts/flat_view
  | "unknown";

/** `slow` is counted in addition to the outcome of the delayed answer. */
export type Outcome = "ok" | "badRequest" | "forbidden" | "notFound" | "serverError" | "rateLimited" | "malformed" | "slow" | "aborted";

export class RequestStats {
  private counts = new Map<string, number>();

  record(endpoint: Endpoint, outcome: Outcome): void {
    const key = `${endpoint} ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Requests matching the filter; without one, every answered request (slow ones once). */
  count(filter: { endpoint?: Endpoint; outcome?: Outcome } = {}): number {
    let total = 0;
    for (const [key, n] of this.counts) {
      const [endpoint, outcome] = key.split(" ");
      if (filter.endpoint && filter.endpoint !== endpoint) continue;
      if (filter.outcome ? filter.outcome !== outcome : outcome === "slow") continue;
      total += n;
    }
    return total;
  }

  /** `{ endpoint: { outcome: n } }` of everything counted so far. */
  snapshot(): Partial<Record<Endpoint, Partial<Record<Outcome, number>>>> {
    const out: Partial<Record<Endpoint, Partial<Record<Outcome, number>>>> = {};
    for (const [key, n] of this.counts) {
      const [endpoint, outcome] = key.split(" ") as [Endpoint, Outcome];
      out[endpoint] ??= {};
      out[endpoint][outcome] = n;
    }
    return out;
  }

  /** So that `JSON.stringify(stats)` shows the counts. */
  toJSON() {
    return this.snapshot();
  }

  reset(): void {
    this.counts.clear();
  }
}
