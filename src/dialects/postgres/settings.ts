// What a PostgreSQL URL asks for, as postgres.js options: read without connecting, so that a fault
// in the URL is found before any network is used.
import type { Options } from "postgres";
import { readingUrl, TargetError } from "../../core/sql/dialect.ts";
import { parseServerUrl, serverLogin, type ParsedServerUrl } from "../../core/sql/server-url.ts";
import { sslOption } from "./tls.ts";
import { TEXT_FRIENDLY_TYPES } from "./values.ts";

export type PostgresOptions = Options<Record<string, never>>;

/** Seconds to wait for a connection before the database counts as unreachable. */
export const CONNECT_TIMEOUT_S = 5;
/** A few connections: the sync writes one batch at a time and reads a little alongside. */
const POOL_SIZE = 4;
/**
 * How long a statement waits for a lock. Without a limit an `ALTER TABLE` for a new field waits
 * behind any reader's open transaction for ever, and while it waits it blocks every other reader of
 * the table. After this it fails with 55P03, a transient error: the pipeline tries again later.
 * `options=-c lock_timeout=…` in the URL sets another.
 */
const LOCK_TIMEOUT = "10s";

/** Everything the URL says, read without connecting: a fault in it is a TargetUrlError. */
export function postgresSettings(url: string): { parsed: ParsedServerUrl; options: PostgresOptions } {
  return readingUrl(() => {
    const parsed = parseServerUrl(url, (message) => new TargetError(message));
    if (parsed.path.length === 0) {
      throw new TargetError(`${parsed.safeUrl} names no database; use postgres://USER:PASSWORD@HOST:5432/DATABASE`);
    }
    return { parsed, options: connectionOptions(parsed) };
  });
}

function connectionOptions(url: ParsedServerUrl): PostgresOptions {
  const query = url.params;
  const connection: Record<string, string> = {};
  // `options=-c search_path=x -c statement_timeout=0`, as libpq takes it
  for (const match of (query.get("options") ?? "").matchAll(/(?:-c\s*|--)([A-Za-z_.]+)=(\S+)/g)) {
    connection[match[1]] = match[2].replaceAll("\\ ", " ");
  }
  const schema = query.get("currentSchema") ?? query.get("search_path") ?? query.get("schema");
  if (schema) connection.search_path = schema;
  connection.lock_timeout ??= LOCK_TIMEOUT;
  connection.application_name = query.get("application_name") ?? "dbsync";
  const timeout = Number(query.get("connect_timeout") ?? query.get("connectTimeout"));
  return {
    ...serverLogin(url, 5432),
    ssl: sslOption(query, url),
    max: POOL_SIZE,
    connect_timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : CONNECT_TIMEOUT_S,
    idle_timeout: 300,
    // one-off statements: named prepared statements would pile up on the server
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
    connection,
    types: TEXT_FRIENDLY_TYPES,
  };
}
