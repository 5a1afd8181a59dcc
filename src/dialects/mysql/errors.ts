// Which MySQL/MariaDB failures are worth waiting for, and the one line a user reads about any of them.
import { TargetError } from "../../core/sql/dialect.ts";
import { scrub, type ParsedServerUrl } from "../../core/sql/server-url.ts";
import { socketReason } from "../../core/common/network-errors.ts";
import { innermost, SOCKET_ERROR_CODES } from "../shared/errors.ts";
import { CONNECT_TIMEOUT_MS } from "./settings.ts";

const TRANSIENT_CODES = new Set([
  ...SOCKET_ERROR_CODES,
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_TOO_MANY_USER_CONNECTIONS",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_CONNECTION_KILLED",
  "ER_QUERY_INTERRUPTED",
  "ER_NET_READ_ERROR",
  "ER_NET_READ_INTERRUPTED",
  "ER_NET_ERROR_ON_WRITE",
  "ER_CLIENT_INTERACTION_TIMEOUT",
]);
/** Server error numbers of the same kinds, for servers whose codes mysql2 does not name. */
const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013, 4031]);

export function isTransient(error: unknown): boolean {
  const first = innermost(error) as { code?: unknown; errno?: unknown; fatal?: unknown } | undefined;
  if (!first || typeof first !== "object") return false;
  if (typeof first.code === "string" && TRANSIENT_CODES.has(first.code)) return true;
  if (typeof first.errno === "number" && TRANSIENT_ERRNOS.has(first.errno)) return true;
  // A broken connection is fatal; a refusal by the server (access denied, unknown database) is an ER_.
  // (HANDSHAKE_NO_SSL_SUPPORT and the like are settings, not outages)
  return first.fatal === true && !(typeof first.code === "string" && /^(ER_|HANDSHAKE_)/.test(first.code));
}

/** The server's error number behind a failed statement (`errno`), if it gave one. */
export function serverErrno(error: unknown): unknown {
  const cause = error instanceof TargetError ? error.cause : error;
  return (innermost(cause) as { errno?: unknown } | undefined)?.errno;
}

export function driverReason(error: unknown, url: ParsedServerUrl): string {
  const first = innermost(error) as { code?: unknown; message?: unknown } | undefined;
  let text = first instanceof Error ? first.message : String(first);
  const socket = socketReason(first);
  if (socket) text = socket;
  else if (first?.code === "ETIMEDOUT") text = `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`;
  else if (text === "") text = String(first?.code ?? "unknown error");
  else if (typeof first?.code === "string" && /^(ER_|HANDSHAKE_)/.test(first.code)) text += ` (${first.code})`;
  return scrub(text, url);
}
