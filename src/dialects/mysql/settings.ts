// What a MySQL URL asks for, as mysql2 pool options and the statement every connection runs first:
// read without connecting, so that a fault in the URL is found before any network is used.
import type { PoolOptions } from "mysql2/promise";
import { readingUrl, TargetError } from "../../core/sql/dialect.ts";
import { parseServerUrl, serverLogin, type ParsedServerUrl } from "../../core/sql/server-url.ts";
import { sslOption } from "./tls.ts";

export const CONNECT_TIMEOUT_MS = 5_000;
const POOL_SIZE = 4;
/** Seconds a statement waits for a metadata lock (an ALTER TABLE behind an open transaction). */
const LOCK_WAIT_TIMEOUT_S = 10;

export interface MysqlSettings {
  parsed: ParsedServerUrl;
  options: PoolOptions;
  /** Run first on every new connection (see sessionSql). */
  session: string;
}

/** Everything the URL says, read without connecting: a fault in it is a TargetUrlError. */
export function mysqlSettings(url: string): MysqlSettings {
  return readingUrl(() => {
    const parsed = parseServerUrl(url, (message) => new TargetError(message));
    if (parsed.path.length === 0) {
      throw new TargetError(`${parsed.safeUrl} names no database; use mysql://USER:PASSWORD@HOST:3306/DATABASE`);
    }
    return { parsed, options: poolOptions(parsed), session: sessionSql(parsed) };
  });
}

/**
 * What every connection of the pool runs first: strict mode, so that a value a column cannot
 * hold is refused instead of cut or rounded with only a warning (`'12,5'` into a decimal would be
 * 12 on a server without strict mode), and a bounded wait for metadata locks, so that an `ALTER
 * TABLE` behind a reader's open transaction fails (transient, retried) instead of waiting for the
 * server's default of a day while it blocks every other reader of the table. The server's other
 * modes stay. `?lock_wait_timeout=SECONDS` in the URL changes the wait (as Go's driver takes
 * system variables).
 */
function sessionSql(url: ParsedServerUrl): string {
  const given = url.params.get("lock_wait_timeout");
  const seconds = given === null ? LOCK_WAIT_TIMEOUT_S : Number(given);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 31_536_000) {
    throw new TargetError(`${url.safeUrl}: lock_wait_timeout must be a whole number of seconds from 1 to 31536000`);
  }
  return (
    "SET @@SESSION.sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'), " +
    `@@SESSION.lock_wait_timeout = ${seconds}`
  );
}

function poolOptions(url: ParsedServerUrl): PoolOptions {
  const query = url.params;
  const timeout = Number(query.get("connectTimeout") ?? query.get("connect_timeout") ?? query.get("timeout"));
  return {
    ...serverLogin(url, 3306),
    charset: "UTF8MB4_UNICODE_CI",
    ssl: sslOption(query, url),
    connectionLimit: POOL_SIZE,
    maxIdle: POOL_SIZE,
    idleTimeout: 300_000,
    waitForConnections: true,
    connectTimeout: Number.isFinite(timeout) && timeout > 0 ? (timeout < 1000 ? timeout * 1000 : timeout) : CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    multipleStatements: false,
    // the settings of sessionSql must stay
    resetOnRelease: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    // rows as arrays through the static parser: the generated one refuses a column named "__proto__"
    disableEval: true,
  };
}
