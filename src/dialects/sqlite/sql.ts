// The SQL of SQLite, shared by the drivers that speak it: libSQL (a file, or a server over HTTP) and
// Cloudflare D1. A driver adds its limits and how statements run; everything here is text.
import type { SqlExecutor } from "../../core/sql/dialect.ts";
import type { Column, LogicalType } from "../../core/sync/tables.ts";
import { sql } from "../../core/sql/template.ts";
import { BaseSql } from "../shared/dialect.ts";

/** SQLite has no length limits, so every string kind is TEXT and long values are stored whole. */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "TEXT",
  string: "TEXT",
  text: "TEXT",
  int: "NUMERIC",
  bool: "BOOLEAN",
};

export class SqliteSql extends BaseSql {
  readonly kind = "sqlite";
  readonly indexesTextColumns = true;
  readonly caseInsensitiveColumns = true;

  constructor(
    readonly maxParams: number,
    readonly maxRowsPerStatement: number,
  ) {
    super();
  }

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

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(on: SqlExecutor, table: string): Promise<string[]> {
    const rows = await on.all<{ name: string }>(...sql`SELECT name FROM pragma_table_info(${table}, 'main')`.render(this));
    return rows.map((row) => String(row.name));
  }

  /** No column is ever too narrow: SQLite keeps any value whole in any column. */
  async widenColumnsSql(_on: SqlExecutor, _table: string, _columns: readonly Column[]): Promise<string[]> {
    return [];
  }

  /** SQLite adds one column per ALTER TABLE. */
  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    return columns.map(
      (column) => `ALTER TABLE ${this.quote(table)} ADD COLUMN ${this.quote(column.name)} ${this.columnType(column.type)}`,
    );
  }
}
