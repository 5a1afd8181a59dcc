// Pushes CDR calls into the phonecalls service (issue 6): with bounded concurrency, counting what
// was created, what was there already, what the service rejected (by reason, not retried) and what
// failed after retries. The sender is either HTTP (a `dbsync serve` or NiMbox) or the database.
import type { NewPhonecall } from "./phonecalls.ts";

export type PushOutcome =
  | { kind: "created" }
  | { kind: "present" }
  | { kind: "rejected"; reason: string }
  | { kind: "failed"; error: string };

/** The target refused the token: nothing else can succeed, the run stops. */
export class PushAuthError extends Error {
  override name = "PushAuthError";
}

export interface PushSummary {
  calls: number;
  created: number;
  present: number;
  rejected: Map<string, number>;
  failed: number;
  /** The first few failures, for the report. */
  failures: string[];
}

export interface PushOptions {
  calls: AsyncIterable<NewPhonecall[]>;
  send: (call: NewPhonecall) => Promise<PushOutcome>;
  concurrency: number;
  /** Every `every` calls (the script's 1,000). */
  onProgress?: (done: number) => void;
  every?: number;
  signal?: AbortSignal;
}

export async function pushPhonecalls(options: PushOptions): Promise<PushSummary> {
  const summary: PushSummary = { calls: 0, created: 0, present: 0, rejected: new Map(), failed: 0, failures: [] };
  const every = options.every ?? 1000;
  for await (const batch of options.calls) {
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        options.signal?.throwIfAborted();
        const call = batch[next++] as NewPhonecall;
        const outcome = await options.send(call);
        if (outcome.kind === "created") summary.created++;
        else if (outcome.kind === "present") summary.present++;
        else if (outcome.kind === "rejected") summary.rejected.set(outcome.reason, (summary.rejected.get(outcome.reason) ?? 0) + 1);
        else {
          summary.failed++;
          if (summary.failures.length < 5) summary.failures.push(`${call.initiated} ${call.source} → ${call.destination}: ${outcome.error}`);
        }
        summary.calls++;
        if (summary.calls % every === 0) options.onProgress?.(summary.calls);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, batch.length)) }, worker));
  }
  return summary;
}

/** The reason of a rejection as the service words it: `destination: no contact has this number`. */
export function rejectionReason(errors: Record<string, unknown>): string {
  return Object.entries(errors)
    .map(([field, message]) => `${field}: ${String(message)}`)
    .sort()
    .join("; ");
}
