// Console reports of events that can come by the thousand, as counts at most once a minute; the log
// file keeps one line per event (see core/common/log-digest.ts).
import type { ConsolaInstance } from "consola";
import { LogDigest } from "../core/common/log-digest.ts";
import type { Logger } from "../core/sync/options.ts";

/** Tags lines only the log file takes: one per event that the console reports as a count. */
export const FILE_ONLY = "file-only";

/** The same logger, writing to the log file only (nowhere when there is none). */
export function fileOnly(log: ConsolaInstance): ConsolaInstance {
  return log.withTag(FILE_ONLY);
}

/** The pipeline's view of a campaign's logger. */
export function pipelineLog(log: ConsolaInstance): Logger {
  return { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m) };
}

/** API requests tried again: with 32 workers and a flaky API, dozens a minute. */
export function apiRetryReport(log: ConsolaInstance, periodMs?: number): LogDigest {
  const file = fileOnly(log);
  return new LogDigest({
    say: (message) => log.warn(message),
    record: (line) => file.warn(line),
    periodMs,
    first: (line) => line,
    summary: (count, total, last) =>
      `${count} more API ${count === 1 ? "request was" : "requests were"} tried again ` +
      `(${total} in this run; each in the log file); the last: ${last}`,
  });
}

export interface BreakerReports {
  onOpen(failures: number, openMs: number): void;
  onClose(): void;
  /** Says what is still held back (at the end of a run). */
  flush(): void;
}

/**
 * The circuit breaker's news. While a receiver stays down, every failed probe opens the breaker again:
 * those go to the log file only. A receiver failing on and off opens and closes it every few seconds:
 * the console gets the first of each at once, then counts at most once per period.
 */
export function breakerReports(log: ConsolaInstance, periodMs?: number): BreakerReports {
  const file = fileOnly(log);
  let down = false;
  const outages = new LogDigest({
    say: (message) => log.warn(message),
    record: (line) => file.warn(line),
    periodMs,
    first: (line) => line,
    summary: (count, total, last) =>
      `the receiver failed again ${count} ${count === 1 ? "time" : "times"} after answering (${total} in this run); ` +
      `deliveries are held back each time; the last: ${last}`,
  });
  const recoveries = new LogDigest({
    say: (message) => log.info(message),
    record: (line) => file.info(line),
    periodMs,
    first: (line) => line,
    summary: (count, total) =>
      `the receiver answered again ${count} more ${count === 1 ? "time" : "times"} (${total} in this run); delivering`,
  });
  return {
    onOpen(failures, openMs) {
      const line = `the receiver failed ${failures} of the last requests; holding deliveries back, next probe in ${openMs / 1000} s`;
      if (down) file.warn(`the probe failed: ${line}`);
      else outages.add(line);
      down = true;
    },
    onClose() {
      down = false;
      recoveries.add("the receiver answers again; delivering");
    },
    flush() {
      outages.flush();
      recoveries.flush();
    },
  };
}
