// MySQL and MariaDB through mysql2: a small pool that reconnects by itself, utf8mb4 throughout.
// Statements go as text with every value escaped here (mysql2's `execute` would prepare and cache a
// server-side statement per distinct SQL text, and multi-row upserts have many; they would exhaust
// max_prepared_stmt_count). Values are still never part of the SQL the dialect builds.
import { readFileSync } from "node:fs";
import mysql, { type Pool, type PoolConnection, type PoolOptions } from "mysql2/promise";
import { readingUrl, TargetError, type Dialect, type SqlExecutor, type SqlValue, limitRows } from "../core/sql/dialect.ts";
import { contactsMd5Index, type Column, type LogicalType, type TableSpec } from "../core/sql/tables.ts";
import { characters, fitIdentifier } from "../core/sql/identifiers.ts";
import { fileReason, parseServerUrl, scrub, type ParsedServerUrl } from "../core/sql/server-url.ts";
import { socketReason } from "../core/common/network-errors.ts";

const CONNECT_TIMEOUT_MS = 5_000;
const POOL_SIZE = 4;
/** Seconds a statement waits for a metadata lock (an ALTER TABLE behind an open transaction). */
const LOCK_WAIT_TIMEOUT_S = 10;

/**
 * Long values stored whole (W18): strings are `longtext` (up to 4 GB) in utf8mb4, so emoji fit;
 * numbers `decimal(65,10)`, which keeps 55 integer digits and 10 decimals exactly (the original's
 * `numeric` is `decimal(10,0)` and rounds away every decimal).
 */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "longtext CHARACTER SET utf8mb4",
  string: "longtext CHARACTER SET utf8mb4",
  text: "longtext CHARACTER SET utf8mb4",
  int: "decimal(65,10)",
  bool: "boolean",
};
/**
 * Key and index columns need a length. Binary collation: ids compare exactly (with a `_ci` collation
 * `abc` and `ABC` would be one row).
 */
const KEY_TYPE = "varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
const INDEXED_CONTACT_COLUMNS = new Set(contactsMd5Index("").columns);
const TEXT_TYPES = ["tinytext", "text", "mediumtext", "longtext"];

/** ER_DUP_KEYNAME: the index exists already (MySQL has no CREATE INDEX IF NOT EXISTS). */
const DUPLICATE_INDEX = 1061;

/** Everything the URL says, read without connecting: a fault in it is a TargetUrlError. */
export function mysqlSettings(url: string) {
  return readingUrl(() => {
    const parsed = parseServerUrl(url, (message) => new TargetError(message));
    const database = parsed.path.join("/");
    if (database === "") {
      throw new TargetError(`${parsed.safeUrl} names no database; use mysql://USER:PASSWORD@HOST:3306/DATABASE`);
    }
    return { parsed, options: poolOptions(parsed, database), session: sessionSql(parsed) };
  });
}

export async function createMysqlDialect(url: string): Promise<Dialect> {
  const { parsed, options, session } = mysqlSettings(url);
  const reason = (error: unknown) => driverReason(error, parsed);
  let dialect = new MysqlDialect(mysql.createPool(options), parsed.safeUrl, reason, session);
  try {
    await dialect.open();
  } catch (error) {
    await dialect.close().catch(() => undefined);
    // sslMode=PREFERRED: TLS when the server offers it, else a plain connection
    if (parsed.params.get("sslMode")?.toUpperCase() === "PREFERRED" || parsed.params.get("ssl-mode")?.toUpperCase() === "PREFERRED") {
      if ((error as { code?: unknown }).code === "HANDSHAKE_NO_SSL_SUPPORT") {
        dialect = new MysqlDialect(mysql.createPool({ ...options, ssl: undefined }), parsed.safeUrl, reason, session);
        await dialect.open().catch(async (again: unknown) => {
          await dialect.close().catch(() => undefined);
          throw openError(parsed.safeUrl, reason, again);
        });
        return dialect;
      }
    }
    throw openError(parsed.safeUrl, reason, error);
  }
  return dialect;
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

function openError(safeUrl: string, reason: (e: unknown) => string, error: unknown): TargetError {
  return new TargetError(`cannot open the database at ${safeUrl}: ${reason(error)}`, {
    cause: error,
    transient: isTransient(error),
  });
}

interface UpsertShape {
  table: string;
  primaryKey: string;
  columns: readonly string[];
  rowCount: number;
}

class MysqlDialect implements Dialect {
  readonly kind = "mysql";
  /** Values are escaped into the text, so only the packet size limits a statement (see #fitPacket). */
  readonly maxParams = 65535;
  readonly maxRowsPerStatement = 1000;
  readonly indexesTextColumns = false;
  readonly caseInsensitiveColumns = true;

  readonly #pool: Pool;
  readonly #reason: (error: unknown) => string;
  /** Run first on every new connection (see sessionSql). */
  readonly #sessionSql: string;
  /** The pool's connections that ran #sessionSql (the driver's own objects, which it never reuses). */
  readonly #prepared = new WeakSet<object>();
  #mariadb = false;
  /** Bytes one statement may have: max_allowed_packet less some room. */
  #maxStatementBytes = 4 * 1024 * 1024;
  /** The server's lower_case_table_names: 0 means table names are case-sensitive. */
  #lowerCaseTableNames = 0;
  /** The upserts this dialect wrote, so that one too big for a packet can be cut into smaller ones. */
  readonly #upserts = new Map<string, UpsertShape>();

  constructor(pool: Pool, readonly safeUrl: string, reason: (error: unknown) => string, sessionSql: string) {
    this.#pool = pool;
    this.#reason = reason;
    this.#sessionSql = sessionSql;
  }

  /** The first connection: reads what the server is. Throws the driver's error as it is. */
  async open(): Promise<void> {
    const connection = await this.#connection();
    try {
      const [rows] = await connection.query({
        sql: "SELECT VERSION(), @@max_allowed_packet, @@lower_case_table_names",
        rowsAsArray: true,
      });
      const [version, packet, lowerCase] = (rows as unknown[][])[0] ?? [];
      this.#mariadb = /mariadb/i.test(String(version));
      this.#maxStatementBytes = Math.max(64 * 1024, (Number(packet) || 4 * 1024 * 1024) - 64 * 1024);
      this.#lowerCaseTableNames = Number(lowerCase) || 0;
    } finally {
      connection.release();
    }
  }

  /**
   * 64 characters. MySQL also refuses characters outside the Basic Multilingual Plane (emoji) and
   * names ending in a space: such names get the hashed form of what is left of them.
   */
  fitIdentifier(name: string): string {
    const holdable = [...name].filter((char) => (char.codePointAt(0) ?? 0) <= 0xffff).join("").replace(/\s+$/, "");
    return fitIdentifier(name, 64, characters, holdable || "field");
  }

  quote(identifier: string): string {
    return `\`${identifier.replaceAll("`", "``")}\``;
  }

  placeholder(_n: number): string {
    return "?";
  }

  limitClause(n: number): string {
    return limitRows(n);
  }

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string; table_name: string }>(
      "SELECT column_name AS name, table_name AS table_name FROM information_schema.columns " +
        "WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
      [table],
    );
    return rows.filter((row) => this.#isTable(row.table_name, table)).map((row) => String(row.name));
  }

  /**
   * Whether `found` (a name information_schema gave) is the table `wanted`, as the server resolves
   * table names: exactly where lower_case_table_names is 0 (Linux's default, where `dfire_contacts`
   * and `DFIRE_contacts` are two tables), else ignoring case. (information_schema may compare
   * ignoring case either way.)
   */
  #isTable(found: unknown, wanted: string): boolean {
    const name = String(found);
    return this.#lowerCaseTableNames === 0 ? name === wanted : name.toLowerCase() === wanted.toLowerCase();
  }

  createTableSql(spec: TableSpec): string {
    const columns = spec.columns.map((column) => {
      if (column.name === spec.primaryKey) return `${this.quote(column.name)} ${KEY_TYPE} NOT NULL`;
      if (spec.key === "contacts" && INDEXED_CONTACT_COLUMNS.has(column.name)) return `${this.quote(column.name)} ${KEY_TYPE}`;
      return `${this.quote(column.name)} ${this.columnType(column.type)}`;
    });
    return (
      `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columns.join(", ")}, PRIMARY KEY (${this.quote(spec.primaryKey)})) ` +
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    );
  }

  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    const added = columns.map((column) => `ADD COLUMN ${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.quote(table)} ${added.join(", ")}`];
  }

  /**
   * The original client's `varchar(50)`/`varchar(100)`/`text` columns truncate or refuse longer values
   * (W18) and its `numeric` (`decimal(10,0)`) rounds decimals and refuses large numbers: they become
   * `longtext` and `decimal(65,10)`. Only ever widens. Key columns (every primary key, and contacts'
   * `$id`/`$md5`, which the `$id|$md5` index needs, also where that index is missing still) become
   * the key type `varchar(255)`, never a text type: an index on text would need a prefix length. (A
   * key column of a text type, as an earlier version of dbsync left a `$md5` without index, becomes
   * `varchar(255)` as well; in strict mode the server refuses that rather than cut a longer value.)
   * Columns of indexes of the user's own keep their type; tables of other engines than InnoDB
   * (MyISAM: at most 1000 bytes per key) keep their key columns as they are.
   */
  async widenColumnsSql(table: string, columns: readonly Column[]): Promise<string[]> {
    const existing = (
      await this.all<{
        name: string;
        type: string;
        length: unknown;
        precision: unknown;
        scale: unknown;
        nullable: string;
        key: string;
        table_name: string;
      }>(
        `SELECT column_name AS name, LOWER(data_type) AS type, character_maximum_length AS length,
                numeric_precision AS \`precision\`, numeric_scale AS scale, is_nullable AS nullable,
                column_key AS \`key\`, table_name AS table_name
           FROM information_schema.columns
          WHERE table_schema = DATABASE() AND table_name = ?`,
        [table],
      )
    ).filter((row) => this.#isTable(row.table_name, table));
    const indexed = new Set(
      (
        await this.all<{ name: string; table_name: string }>(
          "SELECT column_name AS name, table_name AS table_name FROM information_schema.statistics " +
            "WHERE table_schema = DATABASE() AND table_name = ?",
          [table],
        )
      )
        .filter((row) => this.#isTable(row.table_name, table))
        .map((row) => String(row.name).toLowerCase()),
    );
    const [about] = (
      await this.all<{ engine: string | null; row_format: string | null; table_name: string }>(
        "SELECT engine AS engine, row_format AS row_format, table_name AS table_name FROM information_schema.tables " +
          "WHERE table_schema = DATABASE() AND table_name = ?",
        [table],
      )
    ).filter((row) => this.#isTable(row.table_name, table));
    // Other engines (MyISAM: 1000 bytes per key) may not hold a varchar(255) utf8mb4 key at all.
    const innodb = String(about?.engine ?? "").toLowerCase() === "innodb";

    const byName = new Map(existing.map((row) => [row.name.toLowerCase(), row]));
    const changes: string[] = [];
    let keysWidened = false;
    for (const column of columns) {
      const now = byName.get(column.name.toLowerCase());
      if (!now) continue;
      const notNull = now.nullable === "NO" ? " NOT NULL" : "";
      if (now.key === "PRI" || INDEXED_CONTACT_COLUMNS.has(now.name.toLowerCase())) {
        const narrowKey = (["char", "varchar"].includes(now.type) && Number(now.length) < 255) || TEXT_TYPES.includes(now.type);
        if (narrowKey && innodb) {
          changes.push(`MODIFY COLUMN ${this.quote(now.name)} ${KEY_TYPE}${notNull}`);
          keysWidened = true;
        }
        continue;
      }
      if (indexed.has(now.name.toLowerCase())) continue;
      const isString = column.type === "short_string" || column.type === "string" || column.type === "text";
      const narrowText = ["char", "varchar", "tinytext", "text", "mediumtext"].includes(now.type);
      const integerDigits = Number(now.precision) - Number(now.scale);
      const narrowNumber =
        (now.type === "decimal" && integerDigits <= 55 && Number(now.scale) <= 10 && !(Number(now.precision) === 65 && Number(now.scale) === 10)) ||
        ["tinyint", "smallint", "mediumint", "int", "bigint"].includes(now.type);
      if ((isString && narrowText) || (column.type === "int" && narrowNumber)) {
        changes.push(`MODIFY COLUMN ${this.quote(now.name)} ${this.columnType(column.type)}${notNull}`);
      }
    }
    if (changes.length === 0) return [];
    // COMPACT and REDUNDANT rows (MySQL 5.6's default) hold at most 767 bytes of an indexed column.
    const rowFormat = String(about?.row_format ?? "").toLowerCase();
    if (keysWidened && (rowFormat === "compact" || rowFormat === "redundant")) changes.push("ROW_FORMAT=DYNAMIC");
    return [`ALTER TABLE ${this.quote(table)} ${changes.join(", ")}`];
  }

  /** MariaDB knows IF NOT EXISTS; on MySQL an existing index (error 1061) counts as success. */
  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string {
    const columns = index.columns.map((column) => this.quote(column)).join(", ");
    const ifNotExists = this.#mariadb ? "IF NOT EXISTS " : "";
    return `CREATE INDEX ${ifNotExists}${this.quote(index.name)} ON ${this.quote(table)} (${columns})`;
  }

  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string {
    const row = `(${columns.map(() => "?").join(", ")})`;
    const values = Array.from({ length: rowCount }, () => row).join(", ");
    const key = primaryKey.toLowerCase();
    const updates = columns
      .filter((column) => column.toLowerCase() !== key)
      .map((column) => `${this.quote(column)} = VALUES(${this.quote(column)})`);
    // Only the key: a no-op update (INSERT IGNORE would also swallow real errors).
    if (updates.length === 0) updates.push(`${this.quote(primaryKey)} = ${this.quote(primaryKey)}`);
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    const sql = `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${values} ON DUPLICATE KEY UPDATE ${updates.join(", ")}`;
    if (this.#upserts.size > 500) this.#upserts.clear();
    this.#upserts.set(sql, { table, primaryKey, columns: [...columns], rowCount });
    return sql;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#pooled(sql, (connection) => this.#runOn(connection, sql, params));
  }

  runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#pooled(sql, async (connection) => {
      try {
        const [result] = await connection.query(format(sql, params));
        return (result as { affectedRows: number }).affectedRows;
      } catch (error) {
        throw this.#statementError(sql, error);
      }
    });
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#pooled(sql, (connection) => this.#allOn<T>(connection, sql, params));
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let connection: PoolConnection;
    try {
      connection = await this.#connection();
    } catch (error) {
      throw this.#error("cannot start a transaction", error);
    }
    let broken = false;
    try {
      try {
        await connection.query("START TRANSACTION");
      } catch (error) {
        throw this.#error("cannot start a transaction", error);
      }
      const executor: SqlExecutor = {
        run: (sql, params = []) => this.#runOn(connection, sql, params),
        all: <R>(sql: string, params: readonly SqlValue[] = []) => this.#allOn<R>(connection, sql, params),
      };
      const result = await work(executor);
      try {
        await connection.query("COMMIT");
      } catch (error) {
        throw this.#error("cannot commit", error);
      }
      return result;
    } catch (error) {
      await connection.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      // A connection that cannot even roll back is not given to the next caller.
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** `work` on a connection of the pool, given back afterwards. */
  async #pooled<T>(sql: string, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    let connection: PoolConnection;
    try {
      connection = await this.#connection();
    } catch (error) {
      throw this.#statementError(sql, error);
    }
    try {
      return await work(connection);
    } finally {
      connection.release();
    }
  }

  /** A connection of the pool that ran #sessionSql; one that cannot is not used. */
  async #connection(): Promise<PoolConnection> {
    const connection = await this.#pool.getConnection();
    const driverConnection = (connection as unknown as { connection: object }).connection;
    if (!this.#prepared.has(driverConnection)) {
      try {
        await connection.query(this.#sessionSql);
      } catch (error) {
        connection.destroy();
        throw error;
      }
      this.#prepared.add(driverConnection);
    }
    return connection;
  }

  async #runOn(on: PoolConnection, sql: string, params: readonly SqlValue[]): Promise<void> {
    for (const statement of this.#fitPacket(sql, params)) {
      try {
        await on.query(statement);
      } catch (error) {
        const isIndexStatement = /^CREATE INDEX /.test(sql);
        if (isIndexStatement && (error as { errno?: unknown }).errno === DUPLICATE_INDEX) return;
        throw this.#statementError(sql, error);
      }
    }
  }

  async #allOn<T>(on: PoolConnection, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    try {
      const [rows, fields] = await on.query({ sql: format(sql, params), rowsAsArray: true });
      if (!Array.isArray(fields)) return [];
      const names = fields.map((field) => field.name);
      // fromEntries defines own properties, so even a column named "__proto__" comes back as one
      return (rows as unknown[][]).map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])) as T);
    } catch (error) {
      throw this.#statementError(sql, error);
    }
  }

  /**
   * The statement as text, cut into several when it would exceed max_allowed_packet (possible with
   * many long values in one multi-row upsert); all of them run on the same connection.
   */
  #fitPacket(sql: string, params: readonly SqlValue[]): string[] {
    const text = format(sql, params);
    const shape = this.#upserts.get(sql);
    if (!shape || shape.rowCount < 2 || Buffer.byteLength(text) <= this.#maxStatementBytes) return [text];
    const half = Math.ceil(shape.rowCount / 2);
    const width = shape.columns.length;
    const first = this.upsertSql(shape.table, shape.primaryKey, shape.columns, half);
    const second = this.upsertSql(shape.table, shape.primaryKey, shape.columns, shape.rowCount - half);
    return [...this.#fitPacket(first, params.slice(0, half * width)), ...this.#fitPacket(second, params.slice(half * width))];
  }

  #statementError(sql: string, error: unknown): TargetError {
    const statement = sql.length > 80 ? `${sql.slice(0, 80)}…` : sql;
    return this.#error(`statement failed`, error, ` (${statement.replace(/\s+/g, " ")})`);
  }

  #error(what: string, error: unknown, detail = ""): TargetError {
    if (error instanceof TargetError) return error;
    return new TargetError(`${what} at ${this.safeUrl}${detail}: ${this.#reason(error)}`, {
      cause: error,
      transient: isTransient(error),
    });
  }
}

/**
 * The statement with each `?` outside quotes, backticks and comments replaced by its value as a
 * literal. Strings are quoted by doubling `'`, which every sql_mode reads the same way; a string
 * holding a backslash or NUL (whose meaning depends on NO_BACKSLASH_ESCAPES) goes as hex instead.
 */
export function format(sql: string, params: readonly SqlValue[]): string {
  if (params.length === 0 && !sql.includes("?")) return sql;
  let out = "";
  let next = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "`" || c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "#" || (c === "-" && sql.startsWith("-- ", i)) || (c === "/" && sql[i + 1] === "*")) {
      const end = c === "/" ? sql.indexOf("*/", i + 2) + 2 : sql.indexOf("\n", i) + 1;
      const stop = end <= 1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      if (next >= params.length) throw new TargetError(`the statement has more placeholders than the ${params.length} values given`);
      out += literal(params[next++]!);
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (next !== params.length) throw new TargetError(`the statement has ${next} placeholders but ${params.length} values were given`);
  return out;
}

/** The index just past the quote that closes the one at `start` (doubled quotes stay inside). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === "\\" && quote !== "`") i += 2;
    else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function literal(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : `'${String(value)}'`;
  if (/[\\\u0000]/.test(value)) return `_utf8mb4 X'${Buffer.from(value, "utf8").toString("hex")}'`;
  return `'${value.replaceAll("'", "''")}'`;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
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

function isTransient(error: unknown): boolean {
  const first = innermost(error) as { code?: unknown; errno?: unknown; fatal?: unknown } | undefined;
  if (!first || typeof first !== "object") return false;
  if (typeof first.code === "string" && TRANSIENT_CODES.has(first.code)) return true;
  if (typeof first.errno === "number" && TRANSIENT_ERRNOS.has(first.errno)) return true;
  // A broken connection is fatal; a refusal by the server (access denied, unknown database) is an ER_.
  // (HANDSHAKE_NO_SSL_SUPPORT and the like are settings, not outages)
  return first.fatal === true && !(typeof first.code === "string" && /^(ER_|HANDSHAKE_)/.test(first.code));
}

function innermost(error: unknown): unknown {
  return error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
}

function driverReason(error: unknown, url: ParsedServerUrl): string {
  const first = innermost(error) as { code?: unknown; message?: unknown } | undefined;
  let text = first instanceof Error ? first.message : String(first);
  const socket = socketReason(first);
  if (socket) text = socket;
  else if (first?.code === "ETIMEDOUT") text = `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`;
  else if (text === "") text = String(first?.code ?? "unknown error");
  else if (typeof first?.code === "string" && /^(ER_|HANDSHAKE_)/.test(first.code)) text += ` (${first.code})`;
  return scrub(text, url);
}

function poolOptions(url: ParsedServerUrl, database: string): PoolOptions {
  const query = url.params;
  const timeout = Number(query.get("connectTimeout") ?? query.get("connect_timeout") ?? query.get("timeout"));
  return {
    host: url.host,
    port: url.port ?? 3306,
    user: url.user,
    password: url.password,
    database,
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
    // the session settings of sessionSql must stay
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

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/**
 * TLS as the usual URL forms ask for it: `useSSL`/`requireSSL`/`verifyServerCertificate`
 * (Connector/J), `sslMode`/`ssl-mode` (MySQL), `tls` (Go driver), `ssl` (true, false, or mysql2's
 * JSON form); `sslca`/`ssl-ca`/`sslrootcert` name a PEM file. Default: no TLS, as dbsync2.
 */
function sslOption(query: URLSearchParams, url: ParsedServerUrl): PoolOptions["ssl"] {
  const get = (...names: string[]) => {
    for (const name of names) {
      const value = query.get(name);
      if (value !== null) return value;
    }
    return undefined;
  };
  const caPath = get("sslca", "ssl-ca", "sslrootcert", "sslCa");
  let ca: string | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath, "utf8");
    } catch (error) {
      throw new TargetError(`${url.safeUrl}: cannot read the CA file ${caPath}: ${fileReason(error)}`);
    }
  }
  const verify = (identity: boolean) => ({
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(identity ? {} : { checkServerIdentity: () => undefined }),
  });
  const noVerify = { rejectUnauthorized: false, ...(ca ? { ca } : {}) };

  const mode = get("sslMode", "ssl-mode", "sslmode")?.toUpperCase();
  if (mode !== undefined) {
    switch (mode.replace("-", "_")) {
      case "DISABLED":
      case "DISABLE":
        return undefined;
      case "PREFERRED":
      case "PREFER":
      case "REQUIRED":
      case "REQUIRE":
        return noVerify;
      case "VERIFY_CA":
        return verify(false);
      case "VERIFY_IDENTITY":
      case "VERIFY_FULL":
        return verify(true);
      default:
        throw new TargetError(`${url.safeUrl}: unknown sslMode "${mode}"; use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`);
    }
  }
  const tls = get("tls")?.toLowerCase();
  if (tls !== undefined) {
    if (FALSE.has(tls)) return undefined;
    if (tls === "skip-verify" || tls === "preferred") return noVerify;
    return verify(true);
  }
  const ssl = get("ssl");
  if (ssl !== undefined && ssl.trim().startsWith("{")) {
    try {
      return JSON.parse(ssl) as PoolOptions["ssl"];
    } catch {
      throw new TargetError(`${url.safeUrl}: the ssl parameter is not valid JSON`);
    }
  }
  const use = (get("useSSL", "requireSSL", "ssl") ?? "").toLowerCase();
  if (TRUE.has(use)) {
    const check = get("verifyServerCertificate")?.toLowerCase();
    return check !== undefined && TRUE.has(check) ? verify(true) : noVerify;
  }
  return undefined;
}
