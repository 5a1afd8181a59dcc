// Pushes CDR calls into the phonecalls service: with bounded concurrency, counting what was created,
// what was there already, what the service rejected (by reason, not retried) and what failed after
// retries. The sender is either HTTP (push-http.ts: a `dbsync serve` or NiMbox) or the database the
// service uses (databaseSender: the service itself, in this process).
import { backoffMs, type RetryPolicy, sleep } from "../common/retry.ts";
import { TargetError } from "../sql/dialect.ts";
import { resolveMapping } from "../talkdesk/contact-mapping.ts";
import type { Dialect } from "../sql/dialect.ts";
import { callParams, checkCreate, type NewPhonecall } from "./phonecalls.ts";
import { openPhonecallService, REFUSAL } from "./service.ts";

export type PushOutcome =
  | { kind: "created" }
  | { kind: "present" }
  | { kind: "rejected"; reason: string }
  | { kind: "failed"; error: string };

/** Sends one call, retries included. */
export type Sender = (call: NewPhonecall) => Promise<PushOutcome>;

/** One try at sending a call: its outcome, or why another try may go better (and when the other side asked for it). */
export type SendTry = PushOutcome | { kind: "again"; error: string; retryAfterMs?: number };

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
  send: Sender;
  concurrency: number;
  /** Every `every` calls (the Perl script this command replaces reported every 1,000). */
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
          if (summary.failures.length < 5)
            summary.failures.push(`${call.initiated} ${call.source} → ${call.destination}: ${outcome.error}`);
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

/**
 * A few tries within seconds: a target restarting is back by then, and longer waits would hold up the
 * run. A service that asks for a pause (Retry-After) gets it, up to a minute.
 */
export const SEND_RETRY: RetryPolicy = { attempts: 4, baseMs: 500, maxMs: 8_000, maxRetryAfterMs: 60_000 };

/** Tries again what may go better a moment later, a few times, waiting longer each time. */
export async function sendWithRetries(attempt: () => Promise<SendTry>, signal: AbortSignal, policy = SEND_RETRY): Promise<PushOutcome> {
  for (let n = 1; ; n++) {
    const result = await attempt();
    if (result.kind !== "again") return result;
    if (n >= policy.attempts) return { kind: "failed", error: result.error };
    await sleep(backoffMs(policy, n - 1, result.retryAfterMs), signal);
  }
}

/**
 * The service's refusals as push reports them: the web service tells a caller to send an ambiguous
 * number in full, but for push that is the PBX's CDR to fix (--rewrite), so only the fact is said.
 */
const PUSH_REFUSAL: typeof REFUSAL = { ...REFUSAL, ambiguous: "several contacts have this number" };

/** Straight into the service's database: the same checks and the same service as the web route. */
export function databaseSender(dialect: Dialect, prefix: string, signal: AbortSignal): Sender {
  let indexError = "";
  const { service } = openPhonecallService(dialect, prefix, {
    phoneColumns: (columns) => resolveMapping(columns).phones,
    settleMs: 0,
    onError: (error) => {
      indexError = error instanceof Error ? error.message : String(error);
    },
  });
  const again = (reason: string): SendTry => ({ kind: "again", error: `${reason}${indexError ? ` (the index: ${indexError})` : ""}` });
  return async (call) => {
    const checked = checkCreate(callParams(call));
    if (!checked.ok) return { kind: "rejected", reason: rejectionReason(checked.errors) };
    return sendWithRetries(async () => {
      try {
        const outcome = await service.create(checked.value);
        if (outcome.kind === "created") return { kind: "created" };
        if (outcome.kind === "already-stored") return { kind: "present" };
        if (outcome.kind === "busy") return again(outcome.reason);
        return { kind: "rejected", reason: rejectionReason({ destination: PUSH_REFUSAL[outcome.kind] }) };
      } catch (cause) {
        // A lost connection, a deadlock: worth another try, a few times.
        if (cause instanceof TargetError && cause.transient) return again(cause.message);
        throw cause;
      }
    }, signal);
  };
}
