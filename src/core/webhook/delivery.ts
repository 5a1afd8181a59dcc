// Sends what the outbox holds: one POST per delivery, at most `concurrency` at once and one at a time
// per contact (in recording order), through the rate limiter and the circuit breaker. A failed
// attempt is written back with its next time (exponential backoff with jitter, or Retry-After); the
// last one moves the delivery to the dead-letter list. Nothing is dropped, a breaker that opens does
// open, and a contact's deliveries arrive in order (the original dropped failed ones, its breaker
// practically never opened, and its parallel senders sent in any order).
import type { CircuitBreaker } from "./circuit-breaker.ts";
import { networkReason } from "../common/network-errors.ts";
import { LogDigest, oneLine } from "../common/log-digest.ts";
import type { DeliverySelection, OutboxEntry, WebhookOutbox } from "./outbox.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { parseRetryAfter, sleep } from "../common/retry.ts";
import { signWebhook } from "./signature.ts";

export interface DeliveryLogger {
  info(message: string): void;
  warn(message: string): void;
  /** One line per dead letter, for the log file only: the console gets them as a count. */
  record?(message: string): void;
}

export interface DelivererOptions {
  outbox: WebhookOutbox;
  selection: DeliverySelection;
  /** The decoded Standard Webhooks key; deliveries are unsigned without it. */
  signingKey?: Uint8Array;
  /** Attempts in all before a delivery is dead-lettered. */
  attempts: number;
  /** Waits between attempts: `baseMs` doubling up to `maxMs`, with jitter. */
  backoff: { baseMs: number; maxMs: number };
  /** Requests per second of the limiter, for the length of a lease. */
  rate: number;
  timeoutMs: number;
  concurrency: number;
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  userAgent: string;
  log: DeliveryLogger;
  /** Dead letters reach the console at most once per this period, as a count. */
  reportEveryMs?: number;
  /** The run ended: reports still held back are said now. */
  onStop?: () => void;
  /**
   * Told about every outcome as it is counted in `stats` (for metrics). `answered`: the receiver gave
   * an answer (true), did not or failed with 5xx (false), or was not asked (held back; undefined).
   */
  onOutcome?: (outcome: DeliveryOutcome, answered: boolean | undefined) => void;
  now?: () => number;
}

export interface DeliveryStats {
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
}

export type DeliveryOutcome = "delivered" | "failed" | "dead_lettered";

/** `asked`: the receiver was sent the delivery and answered (a refusal, not a fault). */
type Verdict = { ok: true } | { ok: false; error: string; retryAfterMs?: number; receiverFault: boolean; asked?: boolean };

/** Bodies of error answers are kept only this long in the outbox's last error. */
const ERROR_TEXT = 200;
/** How long an idle deliverer waits before looking at the outbox again on its own. */
const IDLE_POLL_MS = 5_000;
/** A Retry-After beyond this is taken as this: a receiver cannot stop deliveries for a day. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

export class Deliverer {
  readonly stats: DeliveryStats = { delivered: 0, failedAttempts: 0, deadLettered: 0 };
  private readonly now: () => number;
  private readonly running = new Set<Promise<void>>();
  /** Ids of the deliveries our tasks are working on. */
  private readonly inFlight = new Set<string>();
  private wakeUp: (() => void) | undefined;
  private failure: unknown;
  private lastReceiverError = "";
  private readonly deadLetters: LogDigest;

  constructor(private readonly options: DelivererOptions) {
    this.now = options.now ?? Date.now;
    this.deadLetters = new LogDigest({
      say: (message) => options.log.warn(message),
      record: options.log.record && ((line) => options.log.record?.(line)),
      periodMs: options.reportEveryMs,
      first: (line) => `${line}; list the dead letters with: dbsync webhook failed`,
      summary: (count, total) =>
        `${count} more ${count === 1 ? "delivery" : "deliveries"} failed for good and ${count === 1 ? "is" : "are"} ` +
        `in the dead-letter list (${total} in this run); ` +
        "list them with: dbsync webhook failed; send them again with: dbsync webhook replay",
    });
  }

  /** New deliveries were recorded. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Delivers until `signal` aborts, or until `done` says so (asked whenever nothing is under way).
   * Deliveries interrupted by the abort are given back untouched; an error of the outbox itself (the
   * state store) ends the run with that error.
   */
  async run(signal: AbortSignal, { done }: { done?: () => Promise<boolean> } = {}): Promise<void> {
    const onAbort = () => this.wakeUp?.();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted && this.failure === undefined) {
        const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
        const started = await this.startDue(signal);
        if (started === 0 && done && (await done())) return;
        if (started > 0 && this.running.size < this.options.concurrency) {
          // Store calls may resolve without real I/O: let timers and answers in between.
          await sleep(0);
          continue;
        }
        await this.idle(woken, signal);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.wakeUp = undefined;
      await Promise.allSettled([...this.running]);
      this.deadLetters.flush();
      this.options.onStop?.();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private async startDue(signal: AbortSignal): Promise<number> {
    // While the probe is out nothing starts (its answer decides), and when one is due only it.
    const gate = this.options.breaker.gate();
    const slots = this.options.concurrency - this.running.size;
    const free = gate === "probing" ? 0 : Math.min(gate === "probe" ? 1 : Number.POSITIVE_INFINITY, slots);
    if (free <= 0) return 0;
    const entries = await this.options.outbox.due(this.options.selection, this.now(), free + this.inFlight.size);
    let started = 0;
    for (const entry of entries) {
      // Taken by a task of ours that is still waiting for the rate limiter (not claimed yet).
      if (started >= free || this.inFlight.has(entry.id)) continue;
      this.inFlight.add(entry.id);
      const task = this.deliver(entry, signal)
        .catch((error: unknown) => {
          if (!signal.aborted) this.failure ??= error;
        })
        .finally(() => {
          this.inFlight.delete(entry.id);
          this.running.delete(task);
          this.wakeUp?.();
        });
      this.running.add(task);
      started++;
    }
    return started;
  }

  /** Until something finishes, is recorded, or comes due. */
  private async idle(woken: Promise<void>, signal: AbortSignal): Promise<void> {
    const nextDue = this.running.size < this.options.concurrency ? await this.options.outbox.nextDueAt(this.options.selection) : undefined;
    const waitMs = Math.min(IDLE_POLL_MS, nextDue === undefined ? IDLE_POLL_MS : Math.max(0, nextDue - this.now()) + 5);
    if (signal.aborted) return;
    const timer = new AbortController();
    await Promise.race([woken, sleep(waitMs, timer.signal).catch(() => {})]);
    timer.abort();
  }

  /**
   * One attempt of one delivery. It waits for the rate limiter first (a Retry-After pause may be
   * long), then claims the delivery with a lease in the outbox, so that no other deliverer, in this
   * process or another, touches it meanwhile; every write of the outcome names that lease, so one
   * that comes after the lease ended changes nothing. After a crash the delivery is due again when
   * the lease ends.
   */
  private async deliver(entry: OutboxEntry, signal: AbortSignal): Promise<void> {
    const { outbox, breaker, limiter } = this.options;
    const claim = async () => {
      const lease = this.now() + 2 * this.options.timeoutMs + 5_000;
      return (await outbox.claim(entry.id, this.now(), lease)) ? lease : undefined;
    };
    if (entry.signed && !this.options.signingKey) {
      // Sent unsigned, it would be refused by a receiver that verifies; it waits for the secret.
      const lease = await claim();
      if (lease === undefined) return;
      return this.failed(entry, lease, {
        ok: false,
        error: "recorded with a signature, and no secret is given (DBSYNC_WEBHOOK_SECRET or --webhook-secret)",
        receiverFault: false,
      });
    }
    if (!breaker.allow()) {
      // The probe is out (its answer decides) or the receiver keeps failing: this turn is held back.
      if (breaker.probing) return;
      const lease = await claim();
      if (lease === undefined) return;
      const seconds = Math.max(0, Math.ceil((breaker.retryAt - this.now()) / 1000));
      return this.failed(entry, lease, {
        ok: false,
        error: `held back: the receiver keeps failing (last: ${this.lastReceiverError}); next probe in ${seconds} s`,
        receiverFault: false,
      });
    }
    try {
      await limiter.take(signal);
    } catch (error) {
      breaker.release();
      throw error;
    }
    const lease = await claim();
    if (lease === undefined) {
      breaker.release();
      return;
    }
    const verdict = await this.attempt(entry, signal);
    if (verdict.ok) {
      breaker.success();
      await outbox.delivered(entry.id, this.now(), lease);
      this.stats.delivered++;
      this.options.onOutcome?.("delivered", true);
      return;
    }
    if (signal.aborted) {
      breaker.release();
      await outbox.release(entry.id, this.now(), lease);
      return;
    }
    // Retry-After asks this client to wait, not just this delivery.
    if (verdict.retryAfterMs !== undefined) limiter.pauseFor(Math.min(verdict.retryAfterMs, MAX_RETRY_AFTER_MS));
    if (verdict.receiverFault) {
      this.lastReceiverError = verdict.error;
      breaker.failure();
    } else {
      breaker.success(); // it answered: it is up, even if it refused this one
    }
    await this.failed(entry, lease, verdict);
  }

  private async failed(entry: OutboxEntry, lease: number, verdict: Extract<Verdict, { ok: false }>): Promise<void> {
    const attempts = entry.attempts + 1;
    this.stats.failedAttempts++;
    const answered = verdict.receiverFault ? false : verdict.asked;
    if (attempts >= this.options.attempts) {
      await this.options.outbox.deadLetter(entry.id, attempts, verdict.error, new Date(this.now()), lease);
      this.stats.deadLettered++;
      this.options.onOutcome?.("dead_lettered", answered);
      this.deadLetters.add(
        `delivery ${entry.id} (contact ${entry.contactId}, transaction fired ${entry.fired ?? "?"}) ` +
          `is in the dead-letter list after ${attempts} attempts: ${oneLine(verdict.error)}`,
      );
      return;
    }
    this.options.onOutcome?.("failed", answered);
    const waitMs = retryWaitMs(this.options.backoff, attempts - 1, verdict.retryAfterMs);
    // While the breaker is open a delivery spends at most one attempt per probe period, so a short
    // outage does not use up its attempts.
    // Whole milliseconds: a server state store keeps them in a BIGINT, which refuses a fraction.
    const nextAt = Math.round(Math.max(this.now() + waitMs, this.options.breaker.retryAt + Math.random() * 1000));
    await this.options.outbox.retryLater(entry.id, attempts, nextAt, verdict.error, lease);
  }

  private async attempt(entry: OutboxEntry, signal: AbortSignal): Promise<Verdict> {
    const timestamp = Math.floor(this.now() / 1000);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.options.userAgent,
      "webhook-id": entry.id,
      "webhook-timestamp": String(timestamp),
    };
    if (this.options.signingKey) headers["webhook-signature"] = signWebhook(this.options.signingKey, entry.id, timestamp, entry.body);
    // One controller for the request and the reading of its answer: the timeout covers both.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    const onAbort = () => controller.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await fetch(entry.url, {
        method: "POST",
        headers,
        body: entry.body,
        // A 301/302 would turn the POST into a GET without the body, and its 200 would look like success.
        redirect: "manual",
        signal: controller.signal,
      });
      if (response.status >= 200 && response.status < 300) {
        // What a receiver says after accepting does not matter, nor how slowly it says it.
        response.body?.cancel().catch(() => {});
        return { ok: true };
      }
      return refusal(response, await readStart(response));
    } catch (error) {
      const reason = timedOut
        ? `no answer within ${this.options.timeoutMs / 1000} s`
        : `cannot reach the receiver: ${networkReason(error)}`;
      return { ok: false, error: reason, receiverFault: true };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** A receiver's answer other than 2xx as a failed attempt. */
function refusal(response: Response, text: string): Extract<Verdict, { ok: false }> {
  if (response.status >= 300 && response.status < 400) {
    // Neither the target nor the body (which often repeats it) goes into logs whole: it may carry a key.
    const location = response.headers.get("location");
    return {
      ok: false,
      error: `the receiver redirects${location ? ` to ${withoutSecrets(location)}` : ""} (HTTP ${response.status}); give that URL`,
      receiverFault: false,
      asked: true,
    };
  }
  const status = `HTTP ${response.status}${text ? `: ${text}` : ""}`;
  const busy = response.status === 429 || response.status === 503;
  return {
    ok: false,
    error: status,
    retryAfterMs: busy ? parseRetryAfter(response.headers.get("retry-after")) : undefined,
    // 429 means the receiver is up and wants us slower (Retry-After does that), not that it is down.
    receiverFault: response.status >= 500 || response.status === 408,
    asked: true,
  };
}

/**
 * The wait before attempt `attempt + 2`: `baseMs` doubling up to `maxMs`, ±20% so that deliveries
 * failed together do not come back together; never shorter than the receiver's Retry-After.
 */
export function retryWaitMs(
  backoff: { baseMs: number; maxMs: number },
  attempt: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const wait = Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt) * (0.8 + 0.4 * random());
  return Math.max(wait, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** A URL for messages: without password and query, either of which may hold a key. */
function withoutSecrets(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
  } catch {
    return "(an invalid URL)";
  }
}

/** The start of an answer's body, for the error message; the rest is discarded. */
async function readStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  let text = "";
  const decoder = new TextDecoder();
  while (text.length < ERROR_TEXT) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => {});
  return text.replace(/\s+/g, " ").trim().slice(0, ERROR_TEXT);
}
