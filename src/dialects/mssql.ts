// Microsoft SQL Server through the `mssql` driver (tedious). Not run against a real SQL Server here: no
// server can run on the development machines, so it is tested by its SQL, its limits and its errors.
//
// Types (spec §5.3 and W16/W18): every string kind is NVARCHAR(MAX), so no value is ever cut or refused
// for its length; only primary-key columns are NVARCHAR(450), the longest an index key may be (900
// bytes). `int` is NVARCHAR(MAX) too: SQL Server has no exact number type without bounds (DECIMAL(38,10)
// would round past 10 decimals and fail the whole batch past 28 integer digits or on a value that is not
// a number), dbsync2 itself used NVARCHAR(50) there, and text keeps every number exactly as written.
// `bool` is BIT.
//
// Every parameter is bound as NVARCHAR (numbers as exact decimal text, booleans as "1"/"0", as dbsync2
// wrote them): the column types of a multi-row `VALUES` list follow SQL Server's type precedence over
// all rows, so one number bound as INT in a text column would make every text value of that column
// fail to convert. Text converts implicitly to whatever type the target column has.
//
// The `$id|$md5` index has `$id` as key and includes `$md5` (an NVARCHAR(MAX) cannot be a key column);
// see createIndexSql. Tables go to the login's default schema (normally dbo), like dbsync2's.
import { columnDefinitions, TargetError, TargetUrlError, type Dialect, type SqlExecutor, type SqlValue } from "../core/sql/dialect.ts";
import { fitIdentifier, utf16Units } from "../core/sql/identifiers.ts";
import type { Column, LogicalType, TableSpec } from "../core/sql/tables.ts";
import { socketReason } from "../core/common/network-errors.ts";
import {
  openMssqlSession,
  type MssqlParam,
  type MssqlSession,
  type MssqlStatements,
  type MssqlTransactionSession,
  type SqlServerConfig,
} from "./mssql-driver.ts";

export type { MssqlParam, MssqlSession, MssqlTransactionSession, SqlServerConfig } from "./mssql-driver.ts";

const URL_FORM = "sqlserver://USER:PASSWORD@HOST:1433/[INSTANCE/]DATABASE";

/** SQL Server refuses a request with more than 2100 parameters. */
export const MSSQL_PARAMETER_LIMIT = 2100;
/** A table value constructor (`VALUES (…), (…)`) of an INSERT may hold at most 1000 rows. */
export const MSSQL_ROW_LIMIT = 1000;

const DEFAULT_CONNECT_TIMEOUT_S = 5;
/** Long enough for widening a large table's columns (see widenColumnsSql); `request timeout=0` lifts it. */
const DEFAULT_REQUEST_TIMEOUT_S = 600;
/** Longer than any timer may wait: what "0 = no limit" of the go-mssqldb URL options becomes. */
const NO_LIMIT_MS = 2_147_483_647;

const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "nvarchar(max)",
  string: "nvarchar(max)",
  text: "nvarchar(max)",
  int: "nvarchar(max)",
  bool: "bit",
};

/** Primary keys must be index keys: at most 900 bytes, i.e. 450 UTF-16 code units. */
const KEY_STRING_TYPE = "nvarchar(450)";

export interface ParsedSqlServerUrl {
  config: SqlServerConfig;
  /** The URL without password or options, for logs and messages. */
  safeUrl: string;
  /** `?schema=`; absent means the login's default schema (normally dbo). */
  schema?: string;
}

/**
 * Reads `sqlserver://USER:PASSWORD@HOST[:PORT]/[INSTANCE/]DATABASE[?options]` (also `mssql://`), the
 * form dbsync2 documents. Percent-encoded user and password (`%40` for `@`, `%2F` for `/`, `%3A` for
 * `:`). Options, names case- and space-insensitive: `database`, `encrypt` (true/false/strict, also
 * go-mssqldb's disable), `trustServerCertificate`, `connection timeout`/`dial timeout` and
 * `request timeout` in seconds (as go-mssqldb), `app name`, `schema`; others are ignored.
 *
 * Without `encrypt` and `trustServerCertificate` the connection is encrypted and the server's
 * certificate accepted, which is what go-mssqldb (dbsync2's driver) did for such URLs, so a URL that
 * worked there works here; `encrypt=true` alone makes the certificate checked, as there.
 */
export function parseSqlServerUrl(url: string): ParsedSqlServerUrl {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase() ?? "";
  const shown = `${scheme || "sqlserver"}://…`;
  if (scheme !== "sqlserver" && scheme !== "mssql") {
    throw new TargetUrlError(`${shown} is not a SQL Server URL; use ${URL_FORM}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new TargetUrlError(`${shown} is not a valid URL (check the port and percent-encode @ / : in the password); use ${URL_FORM}`);
  }

  const userText = decode(parsed.username);
  const password = decode(parsed.password);
  const hostname = parsed.hostname;
  const segments = parsed.pathname.split("/").filter((segment) => segment !== "").map(decode);
  const options = new Map<string, string>();
  for (const [key, value] of parsed.searchParams) options.set(key.toLowerCase().replace(/[\s_-]+/g, ""), value);

  const database = options.get("database") || segments.at(-1) || "";
  const instance = segments.length >= 2 ? segments.at(-2) : undefined;
  const port = parsed.port === "" ? undefined : Number(parsed.port);
  const safeUrl =
    `${scheme}://${userText === "" ? "" : `${encodeURIComponent(userText)}@`}${hostname}${port === undefined ? "" : `:${port}`}` +
    `/${instance === undefined ? "" : `${encodeURIComponent(instance)}/`}${encodeURIComponent(database)}`;
  const refuse = (problem: string) => new TargetUrlError(`${safeUrl} ${problem}; use ${URL_FORM}`);

  if (hostname === "") throw refuse("names no host");
  if (database === "") throw refuse("names no database");
  if (segments.length > 2) throw refuse("has too many path segments (only INSTANCE/DATABASE)");
  if (userText === "") throw refuse("names no user");

  const encryptOption = options.get("encrypt");
  const trustOption = options.get("trustservercertificate");
  const encrypt = encryptOption === undefined ? true : encryptValue(encryptOption, refuse);
  const trustServerCertificate =
    trustOption !== undefined ? flag(trustOption, "trustServerCertificate", refuse) : encryptOption === undefined;
  const connectSeconds = options.get("connectiontimeout") ?? options.get("connecttimeout") ?? options.get("dialtimeout");
  const requestSeconds = options.get("requesttimeout") ?? options.get("querytimeout");

  const backslash = userText.indexOf("\\");
  const config: SqlServerConfig = {
    server: hostname.replace(/^\[(.*)\]$/, "$1"),
    port: port ?? (instance === undefined ? 1433 : undefined),
    database,
    user: backslash >= 0 ? userText.slice(backslash + 1) : userText,
    password,
    ...(backslash >= 0 ? { domain: userText.slice(0, backslash) } : {}),
    connectionTimeout: milliseconds(connectSeconds, DEFAULT_CONNECT_TIMEOUT_S, "connection timeout", refuse),
    requestTimeout: milliseconds(requestSeconds, DEFAULT_REQUEST_TIMEOUT_S, "request timeout", refuse),
    options: {
      ...(instance === undefined ? {} : { instanceName: instance }),
      encrypt,
      trustServerCertificate,
      appName: options.get("appname") || "dbsync",
    },
    pool: { max: 10, min: 0, idleTimeoutMillis: 30_000 },
  };
  const schema = options.get("schema");
  return { config, safeUrl, ...(schema ? { schema } : {}) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function flag(value: string, name: string, refuse: (problem: string) => TargetError): boolean {
  const v = value.toLowerCase();
  if (["true", "yes", "1", "on"].includes(v)) return true;
  if (["false", "no", "0", "off"].includes(v)) return false;
  throw refuse(`has ${name}=${value}; use true or false`);
}

function encryptValue(value: string, refuse: (problem: string) => TargetError): boolean | "strict" {
  const v = value.toLowerCase();
  if (v === "strict") return "strict";
  if (v === "disable" || v === "optional") return false;
  if (v === "mandatory") return true;
  return flag(value, "encrypt", refuse);
}

function milliseconds(
  seconds: string | undefined,
  fallback: number,
  name: string,
  refuse: (problem: string) => TargetError,
): number {
  if (seconds === undefined || seconds === "") return fallback * 1000;
  const value = Number(seconds);
  if (!Number.isFinite(value) || value < 0) throw refuse(`has ${name}=${seconds}; use seconds`);
  return value === 0 ? NO_LIMIT_MS : Math.round(value * 1000);
}

/**
 * Connects, learns the login's default schema and returns the dialect. Every failure is one line
 * naming the URL without its password; an unreachable server fails within the connection timeout.
 * `open` is the driver's pool by default; tests pass a recording session.
 */
export async function createMssqlDialect(
  url: string,
  open: (config: SqlServerConfig) => Promise<MssqlSession> = openMssqlSession,
): Promise<MssqlDialect> {
  const parsed = parseSqlServerUrl(url);
  let session: MssqlSession;
  try {
    session = await open(parsed.config);
  } catch (error) {
    throw mssqlError(parsed.safeUrl, "cannot connect", error, parsed.config.password);
  }
  try {
    const [row] = await session.query("SELECT SCHEMA_NAME() AS [schema]", []);
    const defaultSchema = typeof row?.schema === "string" && row.schema !== "" ? row.schema : "dbo";
    // SqlTarget reads (the $md5 look-up, counts) with unqualified table names, which resolve to the
    // default schema; a different schema would split reads and writes across two sets of tables.
    if (parsed.schema !== undefined && parsed.schema.toLowerCase() !== defaultSchema.toLowerCase()) {
      throw new TargetError(
        `${parsed.safeUrl} names schema ${parsed.schema}, but the login's default schema is ${defaultSchema}; ` +
          `leave schema= out or make it the user's default (ALTER USER … WITH DEFAULT_SCHEMA = ${parsed.schema})`,
      );
    }
    return new MssqlDialect(session, parsed.safeUrl, { schema: defaultSchema, password: parsed.config.password });
  } catch (error) {
    await session.close().catch(() => undefined);
    throw error instanceof TargetError ? error : mssqlError(parsed.safeUrl, "cannot connect", error, parsed.config.password);
  }
}

export interface MssqlDialectOptions {
  /** Schema of the tables; `dbo` when not given. */
  schema?: string;
  /** Removed from any driver message that would quote it. */
  password?: string;
}

/**
 * The SQL Server dialect over a session: `createMssqlDialect` gives it a connection pool, tests a
 * recorder. Building SQL needs no session at all.
 */
export class MssqlDialect implements Dialect {
  readonly kind = "mssql";
  /** A margin below SQL Server's 2100 parameters per request. */
  readonly maxParams = 2000;
  readonly maxRowsPerStatement = MSSQL_ROW_LIMIT;
  /** Default collations compare names (and values) case-insensitively. */
  readonly indexesTextColumns = false;
  readonly caseInsensitiveColumns = true;
  readonly schema: string;

  readonly #session: MssqlSession;
  readonly #password: string | undefined;

  constructor(
    session: MssqlSession,
    readonly safeUrl: string,
    options: MssqlDialectOptions = {},
  ) {
    this.#session = session;
    this.schema = options.schema ?? "dbo";
    this.#password = options.password;
  }

  /** SQL Server allows 128 characters, counted in UTF-16 code units. */
  fitIdentifier(name: string): string {
    return fitIdentifier(name, 128, utf16Units);
  }

  quote(identifier: string): string {
    return `[${identifier.replaceAll("]", "]]")}]`;
  }

  placeholder(n: number): string {
    return `@p${n}`;
  }

  limitClause(n: number): string {
    return `OFFSET 0 ROWS FETCH NEXT ${Math.max(0, Math.floor(n))} ROWS ONLY`;
  }

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  /** `[schema].[table]`. */
  qualified(table: string): string {
    return `${this.quote(this.schema)}.${this.quote(table)}`;
  }

  /** Columns in their order; INFORMATION_SCHEMA.COLUMNS covers the current database only. */
  async existingColumns(table: string): Promise<string[]> {
    const rows = await this.all<{ name: unknown }>(
      "SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.COLUMNS " +
        "WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION",
      [this.schema, table],
    );
    return rows.map((row) => String(row.name));
  }

  createTableSql(spec: TableSpec): string {
    const table = this.qualified(spec.name);
    const columns = columnDefinitions(this, spec, (type) => this.#keyType(type));
    return `IF OBJECT_ID(${nString(table)}, N'U') IS NULL CREATE TABLE ${table} (${columns})`;
  }

  /** One ALTER TABLE adds them all. */
  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    if (columns.length === 0) return [];
    const added = columns.map((column) => `${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.qualified(table)} ADD ${added.join(", ")}`];
  }

  /**
   * Widens columns of an existing table that are narrower than ours, as dbsync2 left them: its
   * `nvarchar` without length (NVARCHAR(1), W16), NVARCHAR(50) for short strings and numbers, and TEXT
   * (which cannot hold Unicode) all become NVARCHAR(MAX), keeping nullability and collation. One
   * statement per column, as SQL Server alters one column at a time. Not touched: BIT and numeric
   * columns, and columns SQL Server would refuse to alter: keys and other indexed columns, computed
   * ones, and those with constraints, user-made statistics or schema-bound references. Turning a
   * bounded column into NVARCHAR(MAX) rewrites it, so the first start on a large table takes a while.
   */
  async widenColumnsSql(table: string, columns: readonly Column[]): Promise<string[]> {
    const rows = await this.all<{ name: unknown; type: unknown; length: unknown; nullable: unknown; collation: unknown; blocked: unknown }>(
      WIDEN_QUERY,
      [this.qualified(table)],
    );
    const current = new Map(rows.map((row) => [String(row.name).toLowerCase(), row]));
    const statements: string[] = [];
    for (const column of columns) {
      if (column.type === "bool") continue;
      const now = current.get(column.name.toLowerCase());
      if (!now || Number(now.blocked) !== 0) continue;
      const type = String(now.type).toLowerCase();
      const bounded = ["nvarchar", "varchar", "nchar", "char"].includes(type) && Number(now.length) !== -1;
      const nonUnicode = type === "varchar" || type === "text" || type === "ntext";
      if (!bounded && !nonUnicode) continue;
      const collation =
        typeof now.collation === "string" && /^\w+$/.test(now.collation) ? ` COLLATE ${now.collation}` : "";
      const nullability = now.nullable === false || now.nullable === 0 ? "NOT NULL" : "NULL";
      statements.push(
        `ALTER TABLE ${this.qualified(table)} ALTER COLUMN ${this.quote(String(now.name))} nvarchar(max)${collation} ${nullability}`,
      );
    }
    return statements;
  }

  /**
   * The first column is the index key and the others are included columns: NVARCHAR(MAX) (what `$md5`
   * is, so that it is never cut) cannot be a key column but can be included, and an index on `$id`
   * including `$md5` answers the look-up `SELECT $id, $md5 … WHERE $id IN (…)` from the index alone.
   * An index of that name that exists already (e.g. dbsync2's on both columns) is kept.
   */
  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string {
    const [key, ...included] = index.columns.map((column) => this.quote(column));
    const qualified = this.qualified(table);
    const include = included.length > 0 ? ` INCLUDE (${included.join(", ")})` : "";
    return (
      `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = ${nString(index.name)} AND object_id = OBJECT_ID(${nString(qualified)})) ` +
      `CREATE INDEX ${this.quote(index.name)} ON ${qualified} (${key})${include}`
    );
  }

  /**
   * One MERGE of `rowCount` rows. HOLDLOCK keeps two writers from both inserting the same new key. The
   * rows must have distinct keys (MERGE refuses to touch a row twice): SqlTarget folds rows sharing a
   * key into one before it builds a statement. Under a case-insensitive collation "A1" and "a1" are the
   * same key to SQL Server, so they would collide as they would in any insert.
   */
  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string {
    const params = rowCount * columns.length;
    if (rowCount < 1 || columns.length < 1 || params > MSSQL_PARAMETER_LIMIT || rowCount > MSSQL_ROW_LIMIT) {
      throw new TargetError(
        `${table}: an upsert of ${rowCount} rows × ${columns.length} columns exceeds SQL Server's limits ` +
          `(${MSSQL_PARAMETER_LIMIT} parameters, ${MSSQL_ROW_LIMIT} rows)`,
      );
    }
    const rows: string[] = [];
    for (let r = 0; r < rowCount; r++) {
      rows.push(`(${columns.map((_, c) => this.placeholder(r * columns.length + c + 1)).join(", ")})`);
    }
    const quoted = columns.map((column) => this.quote(column));
    const key = this.quote(columns.find((column) => sameName(column, primaryKey)) ?? primaryKey);
    const updates = columns
      .filter((column) => !sameName(column, primaryKey))
      .map((column) => `${this.quote(column)} = source.${this.quote(column)}`);
    const matched = updates.length > 0 ? ` WHEN MATCHED THEN UPDATE SET ${updates.join(", ")}` : "";
    return (
      `MERGE INTO ${this.qualified(table)} WITH (HOLDLOCK) AS target ` +
      `USING (VALUES ${rows.join(", ")}) AS source (${quoted.join(", ")}) ` +
      `ON target.${key} = source.${key}${matched} ` +
      `WHEN NOT MATCHED THEN INSERT (${quoted.join(", ")}) VALUES (${quoted.map((c) => `source.${c}`).join(", ")});`
    );
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#run(this.#session, sql, params);
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#all<T>(this.#session, sql, params);
  }

  /** Statements of `work` run one after the other on the transaction's connection. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let tx: MssqlTransactionSession;
    try {
      tx = await this.#session.begin();
    } catch (error) {
      throw this.#error("cannot start a transaction", error);
    }
    const open = tx;
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <R>(operation: () => Promise<R>): Promise<R> => {
      const result = queue.then(operation);
      queue = result.catch(() => undefined);
      return result;
    };
    const executor: SqlExecutor = {
      run: (sql, params = []) => serial(() => this.#run(open, sql, params)),
      all: <R>(sql: string, params: readonly SqlValue[] = []) => serial(() => this.#all<R>(open, sql, params)),
    };
    try {
      const result = await work(executor);
      await queue;
      try {
        await open.commit();
      } catch (error) {
        throw this.#error("cannot commit", error);
      }
      return result;
    } catch (error) {
      await queue;
      await open.rollback().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#session.close();
    } catch (error) {
      throw this.#error("cannot close the connection", error);
    }
  }

  #keyType(type: LogicalType): string {
    return type === "bool" ? "bit" : KEY_STRING_TYPE;
  }

  /** @@ROWCOUNT right after the statement, in the same batch: that statement's own count. */
  async runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const [row] = await this.#all<{ changed: unknown }>(this.#session, `${sql}; SELECT @@ROWCOUNT AS changed`, params);
    if (typeof row?.changed !== "number") throw new TargetError(`${this.safeUrl}: SQL Server did not say how many rows the statement changed`);
    return row.changed;
  }

  async #run(on: MssqlStatements, sql: string, params: readonly SqlValue[]): Promise<void> {
    await this.#all(on, sql, params);
  }

  async #all<T>(on: MssqlStatements, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    let bound: MssqlParam[];
    try {
      bound = bindValues(params);
    } catch (error) {
      throw this.#error("cannot bind the parameters", error, sql);
    }
    try {
      return (await on.query(sql, bound)) as T[];
    } catch (error) {
      throw this.#error("statement failed", error, sql);
    }
  }

  #error(what: string, error: unknown, sql?: string): TargetError {
    const detail = sql === undefined ? "" : ` (${sql.length > 80 ? `${sql.slice(0, 80)}…` : sql})`;
    return mssqlError(this.safeUrl, what, error, this.#password, detail);
  }
}

/** `@p1 … @pN` with each value as the text SQL Server converts to the column's type. */
export function bindValues(params: readonly SqlValue[]): MssqlParam[] {
  return params.map((value, i) => ({ name: `p${i + 1}`, value: parameterText(value) }));
}

/** Text of a value as bound: strings as they are, numbers as exact decimals, booleans as "1"/"0". */
export function parameterText(value: SqlValue): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return decimalText(value);
  throw new TargetError(`cannot bind a value of type ${typeof value}`);
}

/** A number as plain decimal text, never in exponent form (which SQL Server would not read as a decimal). */
export function decimalText(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = "", exponent] = match;
  const digits = whole! + fraction;
  const point = whole!.length + Number(exponent);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * The columns of one table (`@p1`: `[schema].[table]`) with their type, length in bytes (-1 for MAX),
 * nullability, collation, and whether anything depends on them that would make ALTER COLUMN fail.
 */
const WIDEN_QUERY =
  "SELECT c.name AS name, TYPE_NAME(c.user_type_id) AS type, c.max_length AS length, c.is_nullable AS nullable, " +
  "c.collation_name AS collation, CASE WHEN c.is_computed = 1 " +
  "OR EXISTS (SELECT 1 FROM sys.index_columns x WHERE x.object_id = c.object_id AND x.column_id = c.column_id) " +
  "OR EXISTS (SELECT 1 FROM sys.stats_columns sc JOIN sys.stats s ON s.object_id = sc.object_id AND s.stats_id = sc.stats_id " +
  "WHERE sc.object_id = c.object_id AND sc.column_id = c.column_id AND s.user_created = 1) " +
  "OR EXISTS (SELECT 1 FROM sys.foreign_key_columns f WHERE (f.parent_object_id = c.object_id AND f.parent_column_id = c.column_id) " +
  "OR (f.referenced_object_id = c.object_id AND f.referenced_column_id = c.column_id)) " +
  "OR EXISTS (SELECT 1 FROM sys.default_constraints d WHERE d.parent_object_id = c.object_id AND d.parent_column_id = c.column_id) " +
  "OR EXISTS (SELECT 1 FROM sys.check_constraints k WHERE k.parent_object_id = c.object_id AND k.parent_column_id = c.column_id) " +
  "OR EXISTS (SELECT 1 FROM sys.fulltext_index_columns t WHERE t.object_id = c.object_id AND t.column_id = c.column_id) " +
  "OR EXISTS (SELECT 1 FROM sys.sql_expression_dependencies e WHERE e.referenced_id = c.object_id " +
  "AND e.referenced_minor_id = c.column_id AND e.is_schema_bound_reference = 1) " +
  "THEN 1 ELSE 0 END AS blocked FROM sys.columns c WHERE c.object_id = OBJECT_ID(@p1) ORDER BY c.column_id";

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** An N'…' literal; only for names the dialect itself puts into DDL (quotes doubled). */
function nString(text: string): string {
  return `N'${text.replaceAll("'", "''")}'`;
}

/** Driver codes of a connection that could not be made or broke: worth waiting for. */
const TRANSIENT_CODES = new Set([
  "ESOCKET",
  "ETIMEOUT",
  "ECONNCLOSED",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ECLOSE",
  "EINSTLOOKUP",
  "ENOTFOUND",
  "EAI_AGAIN",
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
  return rest.length > 0 ? `${first} (${rest.at(-1)})` : first!;
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
