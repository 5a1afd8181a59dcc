import type { Column, LogicalType, TableSpec } from "./tables.ts";

/** What a value bound to a statement may be. Objects and arrays arrive here already as JSON text. */
export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

export interface SqlExecutor {
  /** Runs one statement with positional parameters bound (never interpolated). */
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Runs one query and returns its rows as plain objects keyed by column name. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/**
 * One SQL database. A dialect only knows its own SQL and driver; everything shared (which tables,
 * which columns, batching, chunking by parameter limits) lives in `core/sql/target.ts`.
 */
export interface Dialect extends SqlExecutor {
  readonly kind: "sqlite" | "postgres" | "mysql" | "mssql";
  /** The connection URL with any password removed, safe for logs and error messages. */
  readonly safeUrl: string;
  /** Most parameters one statement may bind. */
  readonly maxParams: number;
  /** Most rows one multi-row INSERT … VALUES may carry. */
  readonly maxRowsPerStatement: number;
  /** Whether an index can be put on our text columns (MySQL's longtext and SQL Server's nvarchar(max) cannot). */
  readonly indexesTextColumns: boolean;
  /** Whether the database treats `Name` and `name` as the same column. */
  readonly caseInsensitiveColumns: boolean;
  /**
   * The name as this database can hold it: the name itself when it can, else a readable prefix and a
   * hash of the whole (core/sql/identifiers.ts). PostgreSQL: 63 bytes; MySQL: 64 characters, no emoji,
   * no trailing space; SQL Server: 128 UTF-16 units.
   */
  fitIdentifier(name: string): string;

  quote(identifier: string): string;
  /** The placeholder for the n-th parameter of a statement, n counted from 1. */
  placeholder(n: number): string;
  /** What follows an ORDER BY to keep only the first `n` rows (`LIMIT n`, or SQL Server's FETCH). */
  limitClause(n: number): string;
  columnType(type: LogicalType): string;

  /**
   * Runs one INSERT, UPDATE or DELETE on its own, outside any transaction, and resolves to the number
   * of rows that statement changed as the database counted them: the count of that very statement,
   * so rows other clients write meanwhile are never in it.
   */
  runCounted(sql: string, params?: readonly SqlValue[]): Promise<number>;

  /** The column names a table has now, `[]` when the table does not exist (this database/schema only). */
  existingColumns(table: string): Promise<string[]>;
  createTableSql(spec: TableSpec): string;
  addColumnsSql(table: string, columns: readonly Column[]): string[];
  /**
   * Optional: statements that widen columns of an existing table too narrow for our values (the
   * original client's `varchar(50)`, `decimal(10,0)`, …), so that nothing is truncated or refused
   * (W18). Only ever widens; `columns` are ours that the table already has. `[]` when all fit.
   */
  widenColumnsSql?(table: string, columns: readonly Column[]): Promise<string[]>;
  /** Must be idempotent: runs at every start. */
  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string;
  /**
   * One statement inserting `rowCount` rows of `columns` (placeholders row after row, column order as
   * given) that updates every given column when the primary key exists.
   */
  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string;

  /**
   * Runs `work` in one database transaction: committed when it resolves, rolled back when it throws.
   * `work` must use the `tx` it is given, never the dialect itself.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A connection problem, a bad URL or a failed statement, with a message fit for the user. */
export class TargetError extends Error {
  override name = "TargetError";
  /**
   * True when the database could not be reached or the connection broke (refused, reset, timed out,
   * server shutting down): worth waiting for and retrying. False for bad SQL, bad data, bad URLs.
   */
  readonly transient: boolean;

  constructor(message: string, options: ErrorOptions & { transient?: boolean } = {}) {
    super(message, options);
    this.transient = options.transient ?? false;
  }
}

/**
 * The URL itself is wrong (its form, port, folder or options), found before any connection: the
 * user has to fix what they wrote, which the command line reports as a usage error.
 */
export class TargetUrlError extends TargetError {
  override name = "TargetUrlError";
}

/** Runs the reading of a URL: whatever it refuses is a fault of the URL. */
export function readingUrl<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TargetError && !(error instanceof TargetUrlError)) throw new TargetUrlError(error.message, { cause: error });
    throw error;
  }
}

/**
 * The body most CREATE TABLEs share: each column quoted with its type, the primary key `NOT NULL
 * PRIMARY KEY` (with a type of its own where the database needs one, e.g. a bounded length).
 */
export function columnDefinitions(
  dialect: Pick<Dialect, "quote" | "columnType">,
  spec: TableSpec,
  keyType: (type: LogicalType) => string = (type) => dialect.columnType(type),
): string {
  return spec.columns
    .map((column) =>
      column.name === spec.primaryKey
        ? `${dialect.quote(column.name)} ${keyType(column.type)} NOT NULL PRIMARY KEY`
        : `${dialect.quote(column.name)} ${dialect.columnType(column.type)}`,
    )
    .join(", ");
}

/** The standard `LIMIT n` (SQLite, PostgreSQL, MySQL); `n` is always a whole number here. */
export function limitRows(n: number): string {
  return `LIMIT ${Math.max(0, Math.floor(n))}`;
}
