// The SQL of SQLite, shared by the drivers that speak it: libSQL (a file, or a server over HTTP) and
// Cloudflare D1. A driver adds how statements run; everything here is text.
import { columnDefinitions, type Dialect, type SqlExecutor, type SqlValue, limitRows } from "../core/sql/dialect.ts";
import type { Column, LogicalType, TableSpec } from "../core/sql/tables.ts";

/** SQLite has no length limits, so every string kind is TEXT and long values are stored whole (W18). */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "TEXT",
  string: "TEXT",
  text: "TEXT",
  int: "NUMERIC",
  bool: "BOOLEAN",
};

export abstract class SqliteDialect implements Dialect {
  readonly kind = "sqlite";
  abstract readonly safeUrl: string;
  abstract readonly maxParams: number;
  abstract readonly maxRowsPerStatement: number;
  readonly indexesTextColumns = true;
  readonly caseInsensitiveColumns = true;

  abstract run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  abstract runCounted(sql: string, params?: readonly SqlValue[]): Promise<number>;
  abstract all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  abstract transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  /** SQLite has no length limit on names. */
  fitIdentifier(name: string): string {
    return name;
  }

  quote(identifier: string): string {
    return `"${identifier.replaceAll('"', '""')}"`;
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
    const rows = await this.all<{ name: string }>("SELECT name FROM pragma_table_info(?, 'main')", [table]);
    return rows.map((row) => String(row.name));
  }

  createTableSql(spec: TableSpec): string {
    return `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columnDefinitions(this, spec)})`;
  }

  /** SQLite adds one column per ALTER TABLE. */
  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    return columns.map(
      (column) => `ALTER TABLE ${this.quote(table)} ADD COLUMN ${this.quote(column.name)} ${this.columnType(column.type)}`,
    );
  }

  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string {
    const columns = index.columns.map((column) => this.quote(column)).join(", ");
    return `CREATE INDEX IF NOT EXISTS ${this.quote(index.name)} ON ${this.quote(table)} (${columns})`;
  }

  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string {
    const row = `(${columns.map(() => "?").join(", ")})`;
    const values = Array.from({ length: rowCount }, () => row).join(", ");
    const updates = columns
      .filter((column) => column.toLowerCase() !== primaryKey.toLowerCase())
      .map((column) => `${this.quote(column)} = excluded.${this.quote(column)}`);
    const onConflict = updates.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${updates.join(", ")}`;
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    return `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${values} ON CONFLICT(${this.quote(primaryKey)}) ${onConflict}`;
  }
}
