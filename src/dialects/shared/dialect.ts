// A dialect is two parts put together: the database's SQL (text, limits, and the operations it does
// its own way over any executor) and a connection that runs statements. Each database folder
// provides both; SessionDialect joins them into the Dialect the core uses.
import {
  columnDefinitions,
  limitRows,
  type Dialect,
  type IndexSpec,
  type SqlDialect,
  type SqlExecutor,
  type SqlSession,
  type SqlValue,
  type UpsertBatch,
} from "../../core/sql/dialect.ts";
import type { Column, LogicalType, TableLayout } from "../../core/sync/tables.ts";
import { name, names, sql } from "../../core/sql/template.ts";
import { mayReplace } from "./version-guard.ts";

/**
 * A database's SQL with the operations that need a connection, which they are given. The statements
 * behind upsert and index creation stay here, not in the core's SqlDialect: run on their own they
 * would skip what the operations add (MySQL's cut by packet size, its duplicate-index error taken
 * as success).
 */
export interface DatabaseSql extends SqlDialect {
  /** The index's CREATE statement; whether running it twice is harmless is the database's matter (see createIndex). */
  createIndexSql(table: string, index: IndexSpec): string;
  /**
   * One statement inserting `rowCount` rows of `columns` (placeholders row after row, column order as
   * given) that updates every given column when the primary key exists, unless `version` (one of
   * `columns`) shows the stored row is newer (see mayReplace in version-guard.ts).
   */
  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number, version?: string): string;
  existingColumns(on: SqlExecutor, table: string): Promise<string[]>;
  widenColumnsSql(on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]>;
  createIndex(on: SqlExecutor, table: string, index: IndexSpec): Promise<void>;
  upsert(on: SqlExecutor, batch: UpsertBatch): Promise<void>;
}

/** Rows one upsert of `columnCount` columns may carry within the dialect's limits (at least one). */
export function rowsPerStatement(limits: Pick<SqlDialect, "maxParams" | "maxRowsPerStatement">, columnCount: number): number {
  return Math.max(1, Math.min(limits.maxRowsPerStatement, Math.floor(limits.maxParams / Math.max(1, columnCount))));
}

/**
 * The standard forms, which SQLite and PostgreSQL share and the others replace where they differ:
 * `CREATE … IF NOT EXISTS` (so that creating an index is idempotent by itself), `INSERT … ON
 * CONFLICT`, `LIMIT n`, and upserts cut into statements within the parameter and row limits.
 */
export abstract class BaseSql implements DatabaseSql {
  abstract readonly kind: SqlDialect["kind"];
  abstract readonly maxParams: number;
  /** Keeps one statement's text and parse time moderate; a database with a limit of its own sets it. */
  readonly maxRowsPerStatement: number = 1000;
  abstract readonly indexesTextColumns: boolean;
  abstract readonly caseInsensitiveColumns: boolean;

  abstract quote(identifier: string): string;
  abstract placeholder(n: number): string;
  abstract fitIdentifier(name: string): string;
  abstract columnType(type: LogicalType): string;
  abstract addColumnsSql(table: string, columns: readonly Column[]): string[];
  abstract existingColumns(on: SqlExecutor, table: string): Promise<string[]>;
  abstract widenColumnsSql(on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]>;

  limitClause(n: number): string {
    return limitRows(n);
  }

  createTableSql(spec: TableLayout): string {
    return `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columnDefinitions(this, spec)})`;
  }

  createIndexSql(table: string, index: IndexSpec): string {
    return sql`CREATE INDEX IF NOT EXISTS ${name(index.name)} ON ${name(table)} (${names(index.columns)})`.render(this)[0];
  }

  /** Every column but the key is updated, where the guard allows; with the key alone a conflict changes nothing. */
  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number, version?: string): string {
    const fold = (column: string) => (this.caseInsensitiveColumns ? column.toLowerCase() : column);
    const updates = columns
      .filter((column) => fold(column) !== fold(primaryKey))
      .map((column) => `${this.quote(column)} = excluded.${this.quote(column)}`);
    const guard =
      version === undefined ? "" : ` WHERE ${mayReplace(`${this.quote(table)}.${this.quote(version)}`, `excluded.${this.quote(version)}`)}`;
    const onConflict = updates.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${updates.join(", ")}${guard}`;
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    const rows = this.placeholderRows(rowCount, columns.length);
    return `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${rows} ON CONFLICT (${this.quote(primaryKey)}) ${onConflict}`;
  }

  /** `(…), (…)`: `rowCount` rows of `columnCount` placeholders, numbered from 1 row after row. */
  protected placeholderRows(rowCount: number, columnCount: number): string {
    const row = (r: number) => Array.from({ length: columnCount }, (_, c) => this.placeholder(r * columnCount + c + 1)).join(", ");
    return Array.from({ length: rowCount }, (_, r) => `(${row(r)})`).join(", ");
  }

  async createIndex(on: SqlExecutor, table: string, index: IndexSpec): Promise<void> {
    await on.run(this.createIndexSql(table, index));
  }

  async upsert(on: SqlExecutor, batch: UpsertBatch): Promise<void> {
    const perStatement = rowsPerStatement(this, batch.columns.length);
    for (let start = 0; start < batch.rows.length; start += perStatement) {
      await this.upsertRows(on, { ...batch, rows: batch.rows.slice(start, start + perStatement) });
    }
  }

  /** One chunk of rows within the limits; a database with a further limit (statement bytes) cuts it more. */
  protected async upsertRows(on: SqlExecutor, { table, primaryKey, columns, rows, version }: UpsertBatch): Promise<void> {
    await on.run(this.upsertSql(table, primaryKey, columns, rows.length, version), rows.flat());
  }
}

/** The Dialect of a database: its SQL part `sql`, its statements run by `connection`. */
export class SessionDialect<Sql extends DatabaseSql = DatabaseSql> implements Dialect {
  readonly kind: SqlDialect["kind"];
  readonly maxParams: number;
  readonly maxRowsPerStatement: number;
  readonly indexesTextColumns: boolean;
  readonly caseInsensitiveColumns: boolean;
  readonly safeUrl: string;

  constructor(
    readonly sql: Sql,
    readonly connection: SqlSession,
  ) {
    this.kind = sql.kind;
    this.maxParams = sql.maxParams;
    this.maxRowsPerStatement = sql.maxRowsPerStatement;
    this.indexesTextColumns = sql.indexesTextColumns;
    this.caseInsensitiveColumns = sql.caseInsensitiveColumns;
    this.safeUrl = connection.safeUrl;
  }

  quote(identifier: string): string {
    return this.sql.quote(identifier);
  }

  placeholder(n: number): string {
    return this.sql.placeholder(n);
  }

  fitIdentifier(name: string): string {
    return this.sql.fitIdentifier(name);
  }

  limitClause(n: number): string {
    return this.sql.limitClause(n);
  }

  columnType(type: LogicalType): string {
    return this.sql.columnType(type);
  }

  createTableSql(spec: TableLayout): string {
    return this.sql.createTableSql(spec);
  }

  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    return this.sql.addColumnsSql(table, columns);
  }

  existingColumns(table: string): Promise<string[]> {
    return this.sql.existingColumns(this.connection, table);
  }

  widenColumnsSql(table: string, columns: readonly Column[]): Promise<string[]> {
    return this.sql.widenColumnsSql(this.connection, table, columns);
  }

  createIndex(table: string, index: IndexSpec): Promise<void> {
    return this.sql.createIndex(this.connection, table, index);
  }

  upsert(on: SqlExecutor, batch: UpsertBatch): Promise<void> {
    return this.sql.upsert(on, batch);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<void> {
    return this.connection.run(sql, params);
  }

  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.connection.all<T>(sql, params);
  }

  runCounted(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.connection.runCounted(sql, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.connection.transaction(work);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
