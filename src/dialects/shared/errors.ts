// What every driver's errors have in common: the failure a wrapper stands for, the socket codes of a
// connection that could not be made or broke, and the statement as an error message shows it.
import { TargetError } from "../../core/sql/dialect.ts";

/** An AggregateError (several addresses tried) stands for its first error. */
export function innermost(error: unknown): unknown {
  return error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
}

/** Socket-level failures every driver passes on from the runtime: the server is unreachable or went away. */
export const SOCKET_ERROR_CODES: readonly string[] = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
];

/** Longest part of a statement an error message quotes: enough to recognise it, never a whole upsert. */
const SHOWN_STATEMENT_LENGTH = 80;

/** ` (SELECT …)`: the start of the statement on one line, to follow the URL in an error message. */
export function statementDetail(sql: string): string {
  const shown = sql.length > SHOWN_STATEMENT_LENGTH ? `${sql.slice(0, SHOWN_STATEMENT_LENGTH)}…` : sql;
  return ` (${shown.replace(/\s+/g, " ")})`;
}

/** How a driver's errors read and whether they are worth waiting for. */
export interface DriverErrors {
  /** The driver's reason as one line, without the password. */
  reason(error: unknown): string;
  transient(error: unknown): boolean;
}

/**
 * `what` failed at the database (`statement failed`, `cannot commit`, …), with the start of the
 * statement when there is one; the driver's error stays as `cause`. A TargetError passes as it is.
 */
export function databaseError(safeUrl: string, errors: DriverErrors, what: string, error: unknown, sql?: string): TargetError {
  if (error instanceof TargetError) return error;
  const detail = sql === undefined ? "" : statementDetail(sql);
  return new TargetError(`${what} at ${safeUrl}${detail}: ${errors.reason(error)}`, { cause: error, transient: errors.transient(error) });
}
