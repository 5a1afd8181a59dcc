// The seam between the core and the databases. A Dialect is a database's SQL (text and limits,
// SqlDialect) joined to a connection (SqlSession), with the operations every database does its own
// way (upsert, index creation, introspection); src/dialects/ has one per database.
import type { Column, LogicalType, Row, SqlValue, TableLayout } from "../sync/tables.ts";
import type { SqlSyntax } from "./template.ts";

export type { Row, SqlValue };
/** The values of one row, in the order of a statement's columns. */
export type SqlValues = readonly SqlValue[];

export interface SqlExecutor {
  /** Runs one statement with positional parameters bound (never interpolated). */
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Runs one query and returns its rows as plain objects keyed by column name. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/** Rows for one table, each with the values of `columns` in order, to insert or update by primary key. */
export interface UpsertBatch {
  table: string;
  primaryKey: string;
  columns: readonly string[];
  rows: readonly SqlValues[];
  /**
   * One of `columns` whose value orders the versions of a row (see TableLayout.version): a stored row
   * is kept whole when its value is newer than the incoming one. Absent: every stored row is replaced.
   */
  version?: string;
}

/** An index as the tables declare it: its name (already fitted) and its columns in order. */
export interface IndexSpec {
  name: string;
  columns: readonly string[];
}

/**
 * The SQL of one database: how it writes names, placeholders and types, the statements it builds,
 * and the limits one statement must keep. Text only: nothing here talks to a server.
 */
export interface SqlDialect extends SqlSyntax {
  readonly kind: "sqlite" | "postgres" | "mysql" | "mssql";
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
  /** What follows an ORDER BY to keep only the first `n` rows (`LIMIT n`, or SQL Server's FETCH). */
  limitClause(n: number): string;
  columnType(type: LogicalType): string;

  createTableSql(spec: TableLayout): string;
  addColumnsSql(table: string, columns: readonly Column[]): string[];
}

/** A connection (or pool) to one database: runs statements, nothing about their text. */
export interface SqlSession extends SqlExecutor {
  /** The connection URL with any password removed, safe for logs and error messages. */
  readonly safeUrl: string;
  /**
   * Runs one INSERT, UPDATE or DELETE on its own, outside any transaction, and resolves to the number
   * of rows that statement changed as the database counted them: the count of that very statement,
   * so rows other clients write meanwhile are never in it.
   */
  runCounted(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `work` in one database transaction: committed when it resolves, rolled back when it throws.
   * `work` must use the `tx` it is given, never the dialect itself.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One SQL database: its SQL, a session to it, and the operations each database does its own way. A
 * dialect only knows its own SQL and driver; which tables and columns exist and how rows are merged
 * live in `core/sql/target.ts`.
 */
export interface Dialect extends SqlDialect, SqlSession {
  /** The column names a table has now, `[]` when the table does not exist (this database/schema only). */
  existingColumns(table: string): Promise<string[]>;
  /**
   * Statements that widen columns of an existing table too narrow for our values (the original
   * client's `varchar(50)`, `decimal(10,0)`, …), so that long values are stored whole instead of
   * truncated or refused. Only ever widens; `columns` are ours that the table already has. `[]` when
   * all fit (always, where the database has no length limits).
   */
  widenColumnsSql(table: string, columns: readonly Column[]): Promise<string[]>;
  /** Creates the index unless it exists: runs at every start. */
  createIndex(table: string, index: IndexSpec): Promise<void>;
  /**
   * Inserts the batch's rows through `on`, updating every given column of a row whose primary key
   * exists, except where the batch's `version` shows the stored row is newer: a row is kept whole when
   * its stored version and the incoming one both have the form `YYYY-MM-DDThh:mm:ssZ` (the only form
   * whose text order is time order) and the incoming one is earlier. Equal, later, NULL on either side
   * or another form: replaced. As many statements as this database's limits ask for.
   */
  upsert(on: SqlExecutor, batch: UpsertBatch): Promise<void>;
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
  dialect: Pick<SqlDialect, "quote" | "columnType">,
  spec: TableLayout,
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
