// Sends the alerts of `dbsync run` to their webhook, one after the other, in the background: a
// receiver that is slow, down or wrong costs the campaigns nothing. Each message is tried a few times
// with a timeout each; one that still fails is given up with one line in the log, and messages that
// pile up behind a dead receiver are dropped beyond a few, counted in that line.
import { Serial } from "../core/common/serial.ts";
import { sleep } from "../core/common/retry.ts";

export interface AlertSenderOptions {
  /** One line about a message given up; the URL in it is already masked. */
  warn: (line: string) => void;
  timeoutMs?: number;
  attempts?: number;
  /** The wait after the first failed attempt; doubled after each next one. */
  retryWaitMs?: number;
  /** Messages queued beyond this many are dropped (a dead receiver must not grow the process). */
  maxWaiting?: number;
}

export class AlertSender {
  readonly #options: Required<AlertSenderOptions>;
  readonly #queue = new Serial();
  #waiting = 0;
  #dropped = 0;

  constructor(options: AlertSenderOptions) {
    this.#options = { timeoutMs: 10_000, attempts: 3, retryWaitMs: 1000, maxWaiting: 20, ...options };
  }

  /** Queues the message and returns at once; never throws. */
  send(url: string, message: unknown): void {
    if (this.#waiting >= this.#options.maxWaiting) {
      this.#dropped++;
      return;
    }
    this.#waiting++;
    void this.#queue.run(async () => {
      this.#waiting--;
      await this.#deliver(url, message);
    });
  }

  /** Resolves once every queued message was sent or given up, or after `deadlineMs`. */
  async idle(deadlineMs: number): Promise<void> {
    const waited = new AbortController();
    await Promise.race([this.#queue.idle(), sleep(deadlineMs, waited.signal).catch(() => {})]);
    // A pending timer would keep the process alive until it fired.
    waited.abort();
  }

  async #deliver(url: string, message: unknown): Promise<void> {
    const problem = await this.#post(url, JSON.stringify(message));
    const dropped = this.#dropped;
    this.#dropped = 0;
    const drops = dropped > 0 ? `${dropped} alerts were dropped meanwhile (too many waiting)` : "";
    const target = alertUrlForLogs(url);
    if (problem) this.#options.warn(`alerts: an alert could not be sent to ${target} (${problem})${drops ? `; ${drops}` : ""}`);
    else if (drops) this.#options.warn(`alerts: ${drops} for ${target}`);
  }

  /** What went wrong with the last attempt; "" once one was accepted. */
  async #post(url: string, body: string): Promise<string> {
    const { attempts, timeoutMs, retryWaitMs } = this.#options;
    let problem = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(retryWaitMs * 2 ** (attempt - 1));
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        // The answer is not needed; read, so that the connection can be used again.
        await response.arrayBuffer().catch(() => {});
        if (response.ok) return "";
        problem = `HTTP ${response.status}`;
      } catch (error) {
        problem = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : "cannot connect";
      }
    }
    return `${attempts} attempts, the last: ${problem}`;
  }
}

/** The alert webhook in a log: scheme and host only, as a Slack hook's path is its secret. */
export function alertUrlForLogs(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return "(invalid URL)";
  }
}
