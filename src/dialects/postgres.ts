// PostgreSQL through postgres.js: a small pool that reconnects by itself, every statement with bound
// parameters, tables in the URL's schema (`currentSchema`/`search_path`, else `public`).
import { readFileSync } from "node:fs";
import postgres, { type Options, type ParameterOrJSON, type Sql } from "postgres";
import { columnDefinitions, readingUrl, TargetError, type Dialect, type SqlExecutor, type SqlValue, limitRows } from "../core/sql/dialect.ts";
import { fitIdentifier, utf8Bytes } from "../core/sql/identifiers.ts";
import { fileReason, type ParsedServerUrl, parseServerUrl, scrub } from "../core/sql/server-url.ts";
import { socketReason } from "../core/common/network-errors.ts";
import type { Column, LogicalType, TableSpec } from "../core/sql/tables.ts";

/** Seconds to wait for a connection before the database counts as unreachable. */
const CONNECT_TIMEOUT_S = 5;
/** A few connections: the sync writes one batch at a time and reads a little alongside. */
const POOL_SIZE = 4;
/** Connections for transactions (see Lane), besides the pool. */
const TRANSACTION_LANES = 2;
/**
 * How long a statement waits for a lock. Without a limit an `ALTER TABLE` for a new field waits
 * behind any reader's open transaction for ever, and while it waits it blocks every other reader of
 * the table. After this it fails with 55P03, a transient error: the pipeline tries again later.
 * `options=-c lock_timeout=…` in the URL sets another.
 */
const LOCK_TIMEOUT = "10s";

/** No length limits anywhere, so long values are stored whole (W16, W18). */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "text",
  string: "text",
  text: "text",
  int: "numeric",
  bool: "boolean",
};


/** Everything the URL says, read without connecting: a fault in it is a TargetUrlError. */
export function postgresSettings(url: string) {
  return readingUrl(() => {
    const parsed = parseServerUrl(url, (message) => new TargetError(message));
    const database = parsed.path.join("/");
    if (database === "") {
      throw new TargetError(`${parsed.safeUrl} names no database; use postgres://USER:PASSWORD@HOST:5432/DATABASE`);
    }
    return { parsed, options: connectionOptions(parsed, database) };
  });
}

export async function createPostgresDialect(url: string): Promise<Dialect> {
  const { parsed, options } = postgresSettings(url);
  const reason = (error: unknown) => driverReason(error, parsed);
  const sql = postgres(options);
  try {
    const [row] = await withDeadline(
      sql.unsafe<{ schema: string | null }[]>("SELECT current_schema() AS schema"),
      (options.connect_timeout as number) + 1,
    );
    if (row?.schema == null) {
      const wanted = options.connection?.search_path ?? "public";
      throw new TargetError(`cannot open the database at ${parsed.safeUrl}: the schema ${wanted} does not exist`);
    }
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    if (error instanceof TargetError) throw error;
    throw new TargetError(`cannot open the database at ${parsed.safeUrl}: ${reason(error)}`, {
      cause: error,
      transient: isTransient(error),
    });
  }
  return new PostgresDialect(sql, options, parsed.safeUrl, reason);
}

/**
 * A connection of its own for transactions. postgres.js's `begin` and `reserve` pin a connection and
 * write to it even after the server closed it, which throws from a timer and ends the process
 * (porsager/postgres#1066, #1208, unfixed in 3.4.9). A lane is a one-connection pool instead:
 * postgres.js reconnects it safely, and `generation` counts its closes, so a transaction notices
 * that its connection went away and never sends the rest of its statements outside of it.
 */
interface Lane {
  sql: Sql;
  generation: number;
  busy: boolean;
}

class PostgresDialect implements Dialect {
  readonly kind = "postgres";
  /** The wire protocol counts a statement's parameters in 16 bits; postgres.js refuses 65534 and more. */
  readonly maxParams = 65533;
  readonly maxRowsPerStatement = 1000;
  /** Quoted identifiers are case-sensitive. */
  readonly indexesTextColumns = true;
  readonly caseInsensitiveColumns = false;

  #sql: Sql;
  readonly #options: Options<Record<string, never>>;
  readonly #reason: (error: unknown) => string;
  readonly #lanes: Lane[];
  readonly #waiting: ((lane: Lane) => void)[] = [];

  constructor(
    sql: Sql,
    options: Options<Record<string, never>>,
    readonly safeUrl: string,
    reason: (error: unknown) => string,
  ) {
    this.#sql = sql;
    this.#options = options;
    this.#reason = reason;
    this.#lanes = Array.from({ length: TRANSACTION_LANES }, () => {
      const lane: Lane = { sql: undefined as unknown as Sql, generation: 0, busy: false };
      lane.sql = this.#laneSql(lane);
      return lane;
    });
  }

  #laneSql(lane: Lane): Sql {
    const sql: Sql = postgres({
      ...this.#options,
      max: 1,
      // no lifetime limit: postgres.js would end an idle connection between two statements of a transaction
      max_lifetime: 0,
      onclose: () => {
        if (lane.sql === sql) lane.generation++;
      },
    });
    return sql;
  }

  /*
   * After a connection failed, the pool (or lane) it belonged to is replaced by a new one and ended:
   * postgres.js 3.4.9 cannot always reuse it. A statement it sends between a socket's error and its
   * close is never answered, and one buffered when the socket closed stays in its write buffer, so
   * that every later connection of that slot waits for an answer to a start-up it never sent
   * (CONNECT_TIMEOUT for ever). Ending the old pool fails whatever it still holds; the server rolls
   * back what a broken connection had begun.
   */

  #renewLane(lane: Lane): void {
    const old = lane.sql;
    lane.sql = this.#laneSql(lane);
    lane.generation++;
    void old.end({ timeout: 0 }).catch(() => undefined);
  }

  #renewPool(failed: Sql): void {
    if (this.#sql !== failed) return; // replaced already
    this.#sql = postgres(this.#options);
    // statements still running on healthy connections of the old pool get a moment to finish
    void failed.end({ timeout: 2 }).catch(() => undefined);
  }

  /** `work` on the pool, which is replaced when its connection failed. */
  async #pooled<T>(work: (on: Sql) => Promise<T>): Promise<T> {
    const sql = this.#sql;
    try {
      return await work(sql);
    } catch (error) {
      if (connectionFailed(error)) this.#renewPool(sql);
      throw error;
    }
  }

  /** NAMEDATALEN - 1 = 63 bytes. */
  fitIdentifier(name: string): string {
    return fitIdentifier(name, 63, utf8Bytes);
  }

  quote(identifier: string): string {
    return `"${identifier.replaceAll('"', '""')}"`;
  }

  placeholder(n: number): string {
    return `$${n}`;
  }

  limitClause(n: number): string {
    return limitRows(n);
  }

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns " +
        "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
      [table],
    );
    return rows.map((row) => String(row.name));
  }

  createTableSql(spec: TableSpec): string {
    return `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columnDefinitions(this, spec)})`;
  }

  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    const added = columns.map((column) => `ADD COLUMN IF NOT EXISTS ${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.quote(table)} ${added.join(", ")}`];
  }

  /**
   * The original client's `varchar(50)` columns reject longer values (W18), so they become `text`;
   * a bounded `numeric(p,s)` or an integer type becomes plain `numeric`. Only ever widens; key
   * columns and columns a view depends on (PostgreSQL refuses to retype those) are left alone.
   */
  async widenColumnsSql(table: string, columns: readonly Column[]): Promise<string[]> {
    const existing = await this.all<{ name: string; type: string; bounded: boolean; key: boolean; viewed: boolean }>(
      `SELECT a.attname AS name, a.atttypid::regtype::text AS type, a.atttypmod > 0 AS bounded,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey)) AS key,
              EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                       WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                         AND r.ev_class <> a.attrelid) AS viewed
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
      [table],
    );
    const byName = new Map(existing.map((column) => [column.name, column]));
    const changes: string[] = [];
    for (const column of columns) {
      const now = byName.get(column.name);
      if (!now || now.key || now.viewed) continue;
      const isString = column.type === "short_string" || column.type === "string" || column.type === "text";
      const boundedText = (now.type === "character varying" || now.type === "character") && now.bounded;
      const boundedNumber = (now.type === "numeric" && now.bounded) || ["smallint", "integer", "bigint"].includes(now.type);
      if ((isString && boundedText) || (column.type === "int" && boundedNumber)) {
        changes.push(`ALTER COLUMN ${this.quote(column.name)} TYPE ${this.columnType(column.type)}`);
      }
    }
    return changes.length === 0 ? [] : [`ALTER TABLE ${this.quote(table)} ${changes.join(", ")}`];
  }

  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string {
    const columns = index.columns.map((column) => this.quote(column)).join(", ");
    return `CREATE INDEX IF NOT EXISTS ${this.quote(index.name)} ON ${this.quote(table)} (${columns})`;
  }

  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string {
    let n = 0;
    const rows = Array.from({ length: rowCount }, () => `(${columns.map(() => `$${++n}`).join(", ")})`);
    const updates = columns
      .filter((column) => column !== primaryKey)
      .map((column) => `${this.quote(column)} = EXCLUDED.${this.quote(column)}`);
    const onConflict = updates.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${updates.join(", ")}`;
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    return (
      `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${rows.join(", ")} ` +
      `ON CONFLICT (${this.quote(primaryKey)}) ${onConflict}`
    );
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#pooled((on) => runOn(on, this.safeUrl, this.#reason, sql, params));
  }

  runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#pooled(async (on) => {
      try {
        return (await on.unsafe(sql, params.map(toParameter))).count;
      } catch (error) {
        throw statementError(this.safeUrl, this.#reason, sql, error);
      }
    });
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#pooled((on) => allOn<T>(on, this.safeUrl, this.#reason, sql, params));
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const lane = await this.#acquire();
    try {
      const generation = await this.#begin(lane);
      const closed = () =>
        new TargetError(`transaction failed at ${this.safeUrl}: the connection was closed`, { transient: true });
      const alive = () => lane.generation === generation;
      const executor: SqlExecutor = {
        run: (sql, params = []) =>
          alive() ? runOn(lane.sql, this.safeUrl, this.#reason, sql, params) : Promise.reject(closed()),
        all: <R>(sql: string, params: readonly SqlValue[] = []) =>
          alive() ? allOn<R>(lane.sql, this.safeUrl, this.#reason, sql, params) : Promise.reject(closed()),
      };
      try {
        const result = await work(executor);
        if (!alive()) throw closed();
        try {
          await lane.sql.unsafe("COMMIT");
        } catch (error) {
          throw this.#error("cannot commit", error);
        }
        // A connection replaced while the COMMIT was on its way ran it outside of the transaction,
        // which the server had rolled back: a no-op that must not count as written. (Trying again
        // is safe: every write is an upsert.)
        if (!alive()) {
          throw new TargetError(`cannot commit at ${this.safeUrl}: the connection was replaced, the transaction rolled back`, {
            transient: true,
          });
        }
        return result;
      } catch (error) {
        // A closed or broken connection rolls the transaction back on the server.
        if (!alive() || connectionFailed(error)) this.#renewLane(lane);
        else await this.#rollback(lane);
        throw error;
      }
    } finally {
      this.#release(lane);
    }
  }

  /**
   * Waits up to two seconds for statements still running. (After the server ended a connection in
   * the middle of a statement, postgres.js believes it still runs and always waits that long.)
   */
  async close(): Promise<void> {
    await Promise.all([this.#sql, ...this.#lanes.map((lane) => lane.sql)].map((sql) => sql.end({ timeout: 2 })));
  }

  /**
   * BEGIN, tried twice when the connection fails: the first statement on a connection that replaced
   * one the server ended mid-statement can get that statement's error (postgres.js keeps it).
   * Returns the lane's generation the transaction lives in.
   */
  async #begin(lane: Lane): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const generation = lane.generation;
      try {
        await lane.sql.unsafe("BEGIN");
        return generation;
      } catch (error) {
        if (lane.generation !== generation || connectionFailed(error)) this.#renewLane(lane);
        else await this.#rollback(lane);
        if (attempt >= 2 || !isTransient(error)) throw this.#error("cannot start a transaction", error);
      }
    }
  }

  /** ROLLBACK; a lane whose connection cannot even do that (or never answers) is replaced. */
  async #rollback(lane: Lane): Promise<void> {
    try {
      await withDeadline(lane.sql.unsafe("ROLLBACK"), CONNECT_TIMEOUT_S);
    } catch {
      this.#renewLane(lane);
    }
  }

  #acquire(): Promise<Lane> {
    const free = this.#lanes.find((lane) => !lane.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else lane.busy = false;
  }

  #error(what: string, error: unknown): TargetError {
    if (error instanceof TargetError) return error;
    return new TargetError(`${what} at ${this.safeUrl}: ${this.#reason(error)}`, { cause: error, transient: isTransient(error) });
  }
}

/**
 * postgres.js retries for ever when a socket closes while connecting without an error (seen with
 * filtered addresses), so the first statement gets a deadline of its own.
 */
async function withDeadline<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "CONNECT_TIMEOUT" })), seconds * 1000);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A pool or an open transaction. */
type Runs = Pick<Sql, "unsafe">;

async function runOn(on: Runs, safeUrl: string, reason: (e: unknown) => string, sql: string, params: readonly SqlValue[]) {
  try {
    await on.unsafe(sql, params.map(toParameter));
  } catch (error) {
    throw statementError(safeUrl, reason, sql, error);
  }
}

async function allOn<T>(on: Runs, safeUrl: string, reason: (e: unknown) => string, sql: string, params: readonly SqlValue[]) {
  try {
    const result = await on.unsafe(sql, params.map(toParameter)).values();
    const names = result.columns.map((column) => column.name);
    // fromEntries defines own properties, so even a column named "__proto__" comes back as one
    return result.map((row) => Object.fromEntries(names.map((name, i) => [name, (row as unknown[])[i]])) as T);
  } catch (error) {
    throw statementError(safeUrl, reason, sql, error);
  }
}

/**
 * Every value goes as text of unknown type, so PostgreSQL reads it as the column's type: numbers stay
 * exact, booleans are "1"/"0" (what the original stored, valid for boolean, numeric and text
 * columns). PostgreSQL text cannot hold NUL characters; they are left out.
 */
function toParameter(value: SqlValue): ParameterOrJSON<never> {
  if (value === null) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return String(value);
  return value.includes("\u0000") ? value.replaceAll("\u0000", "") : value;
}

function statementError(safeUrl: string, reason: (e: unknown) => string, sql: string, error: unknown): TargetError {
  const statement = sql.length > 80 ? `${sql.slice(0, 80)}…` : sql;
  return new TargetError(`statement failed at ${safeUrl} (${statement.replace(/\s+/g, " ")}): ${reason(error)}`, {
    cause: error,
    transient: isTransient(error),
  });
}

/**
 * SQLSTATE classes and codes that mean the server went away or is not there yet, or that a lock was
 * not to be had in time (55P03, see LOCK_TIMEOUT).
 */
const TRANSIENT_STATES = /^(08|57P0[1-3]|53300|40001|40P01|55P03)/;
/** Socket-level failures, and postgres.js's own names for a lost connection. */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
]);

/** What Node says when the server answers a TLS request with "no" and postgres.js goes on anyway. */
const TLS_REFUSED = /before secure TLS connection was established/;

function isTransient(error: unknown): boolean {
  const first = innermost(error);
  if (first instanceof Error && TLS_REFUSED.test(first.message)) return false;
  const code = (first as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  if (first instanceof postgres.PostgresError) return TRANSIENT_STATES.test(code);
  return TRANSIENT_CODES.has(code);
}

/** Whether the connection failed (rather than the statement): see #renewPool. */
function connectionFailed(error: unknown): boolean {
  const first = innermost(error instanceof TargetError ? error.cause : error);
  const code = (first as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return false;
  if (first instanceof postgres.PostgresError) return /^(08|57P0[1-3])/.test(code);
  return TRANSIENT_CODES.has(code);
}

/** An AggregateError (several addresses tried) stands for its first error. */
function innermost(error: unknown): unknown {
  return error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
}

/** One line with the driver's reason, the SQLSTATE when there is one, and never the password. */
function driverReason(error: unknown, url: ParsedServerUrl): string {
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
  }
  else text = first instanceof Error ? first.message : String(first);
  if (first instanceof postgres.PostgresError) text += ` (${first.code})`;
  return scrub(text, url);
}


function connectionOptions(url: ParsedServerUrl, database: string): Options<Record<string, never>> {
  const query = url.params;
  const connection: Record<string, string> = {};
  // `options=-c search_path=x -c statement_timeout=0`, as libpq takes it
  for (const match of (query.get("options") ?? "").matchAll(/(?:-c\s*|--)([A-Za-z_.]+)=(\S+)/g)) {
    connection[match[1]!] = match[2]!.replaceAll("\\ ", " ");
  }
  const schema = query.get("currentSchema") ?? query.get("search_path") ?? query.get("schema");
  if (schema) connection.search_path = schema;
  connection.lock_timeout ??= LOCK_TIMEOUT;
  connection.application_name = query.get("application_name") ?? "dbsync";
  const timeout = Number(query.get("connect_timeout") ?? query.get("connectTimeout"));
  return {
    host: url.host,
    port: url.port ?? 5432,
    user: url.user,
    pass: url.password,
    database,
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

/**
 * postgres.js serializes a parameter by the type the server describes for it. Ours are text (or
 * "1"/"0" for booleans, see toParameter), which its defaults would mangle for boolean, json and
 * date columns (a table may have such columns of the user's own); these hand the text on as it is.
 * Read back, json and dates stay text as well.
 */
const TEXT_FRIENDLY_TYPES = {
  bool: {
    to: 16,
    from: [16],
    serialize: (x: unknown) => (x === true ? "t" : x === false ? "f" : String(x)),
    parse: (x: string) => x === "t",
  },
  json: { to: 114, from: [114, 3802], serialize: (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x)), parse: (x: string) => x },
  date: {
    to: 1184,
    from: [1082, 1114, 1184],
    serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
    parse: (x: string) => x,
  },
} as unknown as Record<string, never>;

/**
 * libpq's `sslmode` (lib/pq's default was `require`; `prefer` accepts both kinds of server), with
 * `sslrootcert`, `sslcert` and `sslkey` naming PEM files; `ssl=true|false` as a short form.
 */
function sslOption(query: URLSearchParams, url: ParsedServerUrl): Options<Record<string, never>>["ssl"] {
  const read = (name: string) => {
    const path = query.get(name);
    if (!path || path === "system") return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new TargetError(`${url.safeUrl}: cannot read ${name} ${path}: ${fileReason(error)}`);
    }
  };
  const ssl = query.get("ssl")?.toLowerCase();
  let mode = query.get("sslmode")?.toLowerCase() ?? (ssl === "true" || ssl === "1" ? "require" : ssl === "false" || ssl === "0" ? "disable" : "prefer");
  if (query.get("sslrootcert") && (mode === "require" || mode === "prefer")) mode = "verify-ca";
  const files = { ca: read("sslrootcert"), cert: read("sslcert"), key: read("sslkey") };
  switch (mode) {
    case "disable":
      return false;
    case "allow":
    case "prefer":
      return "prefer";
    case "require":
      return files.cert ? { rejectUnauthorized: false, ...files } : "require";
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...files };
    case "verify-full":
      return { rejectUnauthorized: true, ...files };
    default:
      throw new TargetError(
        `${url.safeUrl}: unknown sslmode "${mode}"; use disable, allow, prefer, require, verify-ca or verify-full`,
      );
  }
}
