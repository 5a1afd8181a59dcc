// Which SQL Server failures are worth waiting for, and the one line a user reads about any of them.
import { TargetError } from "../../core/sql/dialect.ts";
import { socketReason } from "../../core/common/network-errors.ts";
import { SOCKET_ERROR_CODES } from "../shared/errors.ts";

/** Driver codes of a connection that could not be made or broke: worth waiting for. */
const TRANSIENT_CODES = new Set([
  ...SOCKET_ERROR_CODES,
  "ESOCKET",
  "ETIMEOUT",
  "ECONNCLOSED",
  "ECONNABORTED",
  "ECLOSE",
  "EINSTLOOKUP",
  "ENOTFOUND",
]);

/**
 * SQL Server error numbers that mean "try again": deadlock victim (1205), lock timeout (1222), server
 * shutting down (6005, 6006), login while the server is starting (18401), and Azure SQL's
 * unavailable/busy/failover errors.
 */
const TRANSIENT_NUMBERS = new Set([
  1205, 1222, 6005, 6006, 18401, 233, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40613, 49918, 49919, 49920,
]);

/** Whether an error of the driver means the server could not be reached or the connection broke. */
export function isTransientMssqlError(error: unknown): boolean {
  return errorChain(error).some((e) => {
    const record = e as { code?: unknown; number?: unknown; info?: { number?: unknown } };
    if (typeof record.code === "string" && TRANSIENT_CODES.has(record.code)) return true;
    const number = typeof record.number === "number" ? record.number : record.info?.number;
    return typeof number === "number" && TRANSIENT_NUMBERS.has(number);
  });
}

/** The error, the errors it wraps (`originalError`, `cause`) and those an AggregateError holds. */
function errorChain(error: unknown): object[] {
  const chain: object[] = [];
  const visit = (e: unknown) => {
    if (typeof e !== "object" || e === null || chain.includes(e) || chain.length > 20) return;
    chain.push(e);
    const record = e as { originalError?: unknown; cause?: unknown; errors?: unknown };
    visit(record.originalError);
    visit(record.cause);
    if (Array.isArray(record.errors)) record.errors.forEach(visit);
  };
  visit(error);
  return chain;
}

/** The driver's reason on one line, with the innermost different reason (e.g. ECONNREFUSED) added. */
function reasonOf(error: unknown): string {
  const socket = socketReason(error);
  if (socket) return socket;
  const messages: string[] = [];
  for (const e of errorChain(error)) {
    const message = (e as { message?: unknown }).message;
    if (typeof message !== "string" || message.trim() === "") continue;
    if (messages.some((known) => known.includes(message))) continue;
    messages.push(message);
  }
  if (messages.length === 0) return String(error);
  const [first, ...rest] = messages;
  return rest.length > 0 ? `${first} (${rest.at(-1)})` : first;
}

/**
 * One line naming the step, the URL without password and the driver's reason; the original error is
 * the `cause`. The password is cut out of the reason should the driver ever quote it.
 */
export function mssqlError(safeUrl: string, what: string, error: unknown, password?: string, detail = ""): TargetError {
  if (error instanceof TargetError && detail === "" && error.message.includes(safeUrl)) return error;
  let reason = reasonOf(error);
  if (password !== undefined && password.length >= 3) {
    for (const form of new Set([password, encodeURIComponent(password)])) reason = reason.replaceAll(form, "***");
  }
  const line = `${what} at ${safeUrl}${detail}: ${reason}`.replace(/\s*[\r\n]+\s*/g, " ");
  return new TargetError(line, { cause: error, transient: isTransientMssqlError(error) });
}
