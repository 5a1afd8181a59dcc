// Which PostgreSQL failures are worth waiting for, which mean the connection itself broke, and the
// one line a user reads about any of them.
import postgres from "postgres";
import { TargetError } from "../../core/sql/dialect.ts";
import { scrub, type ParsedServerUrl } from "../../core/sql/server-url.ts";
import { socketReason } from "../../core/common/network-errors.ts";
import { innermost, SOCKET_ERROR_CODES } from "../shared/errors.ts";
import { CONNECT_TIMEOUT_S } from "./settings.ts";

/**
 * SQLSTATE classes and codes that mean the server went away or is not there yet, or that a lock was
 * not to be had in time (55P03, see LOCK_TIMEOUT in settings.ts).
 */
const TRANSIENT_STATES = /^(08|57P0[1-3]|53300|40001|40P01|55P03)/;
/** SQLSTATEs of a connection the server ended or that failed: see connectionFailed. */
const CONNECTION_STATES = /^(08|57P0[1-3])/;
/** Socket-level failures, and postgres.js's own names for a lost connection. */
const TRANSIENT_CODES = new Set([...SOCKET_ERROR_CODES, "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_DESTROYED"]);

/** What Node says when the server answers a TLS request with "no" and postgres.js goes on anyway. */
const TLS_REFUSED = /before secure TLS connection was established/;

export function isTransient(error: unknown): boolean {
  const first = innermost(error);
  if (first instanceof Error && TLS_REFUSED.test(first.message)) return false;
  const code = (first as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  if (first instanceof postgres.PostgresError) return TRANSIENT_STATES.test(code);
  return TRANSIENT_CODES.has(code);
}

/** Whether the connection failed (rather than the statement): its pool or lane is then replaced. */
export function connectionFailed(error: unknown): boolean {
  const first = innermost(error instanceof TargetError ? error.cause : error);
  const code = (first as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  if (first instanceof postgres.PostgresError) return CONNECTION_STATES.test(code);
  return TRANSIENT_CODES.has(code);
}

/** One line with the driver's reason, the SQLSTATE when there is one, and never the password. */
export function driverReason(error: unknown, url: ParsedServerUrl): string {
  const first = innermost(error);
  const code = (first as { code?: unknown } | undefined)?.code;
  let text: string;
  const socket = socketReason(first);
  if (socket) text = socket;
  else if (code === "CONNECT_TIMEOUT") text = `no connection within ${CONNECT_TIMEOUT_S} s`;
  else if (code === "CONNECTION_CLOSED" || code === "CONNECTION_DESTROYED") text = "the connection was closed";
  else if (code === "CONNECTION_ENDED") text = "the connection pool has been closed";
  else if (first instanceof Error && TLS_REFUSED.test(first.message)) {
    text = "the server does not accept TLS connections (use sslmode=prefer or sslmode=disable)";
  } else text = first instanceof Error ? first.message : String(first);
  if (first instanceof postgres.PostgresError) text += ` (${first.code})`;
  return scrub(text, url);
}
