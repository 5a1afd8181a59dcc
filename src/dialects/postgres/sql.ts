// PostgreSQL's SQL: names of up to 63 bytes quoted with "", `$n` placeholders, types without length
// limits, tables in the current schema.
import type { SqlExecutor } from "../../core/sql/dialect.ts";
import { fitIdentifier, utf8Bytes } from "../../core/sql/identifiers.ts";
import type { Column, LogicalType } from "../../core/sync/tables.ts";
import { sql } from "../../core/sql/template.ts";
import { BaseSql } from "../shared/dialect.ts";
import { widenColumnsSql } from "./widen.ts";

/** No length limits anywhere, so long values are stored whole. */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "text",
  string: "text",
  text: "text",
  int: "numeric",
  bool: "boolean",
};

export class PostgresSql extends BaseSql {
  readonly kind = "postgres";
  /** The wire protocol counts a statement's parameters in 16 bits; postgres.js refuses 65534 and more. */
  readonly maxParams = 65533;
  readonly indexesTextColumns = true;
  /** Quoted identifiers are case-sensitive. */
  readonly caseInsensitiveColumns = false;

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

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(on: SqlExecutor, table: string): Promise<string[]> {
    const query = sql`SELECT column_name AS name FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`;
    const rows = await on.all<{ name: string }>(...query.render(this));
    return rows.map((row) => String(row.name));
  }

  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    const added = columns.map((column) => `ADD COLUMN IF NOT EXISTS ${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.quote(table)} ${added.join(", ")}`];
  }

  widenColumnsSql(on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
    return widenColumnsSql(this, on, table, columns);
  }
}
