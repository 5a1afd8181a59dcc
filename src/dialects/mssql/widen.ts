// Columns of a table the original client (dbsync2) made, widened in place so that no value is cut.
import type { SqlExecutor } from "../../core/sql/dialect.ts";
import type { Column } from "../../core/sync/tables.ts";

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

/**
 * Widens columns of an existing table that are narrower than ours, as dbsync2 left them: its
 * `nvarchar` without length (NVARCHAR(1), which holds one character), NVARCHAR(50) for short strings and numbers, and TEXT
 * (which cannot hold Unicode) all become NVARCHAR(MAX), keeping nullability and collation. One
 * statement per column, as SQL Server alters one column at a time. Not touched: BIT and numeric
 * columns, and columns SQL Server would refuse to alter: keys and other indexed columns, computed
 * ones, and those with constraints, user-made statistics or schema-bound references. Turning a
 * bounded column into NVARCHAR(MAX) rewrites it, so the first start on a large table takes a while.
 */
/** What widening needs of SQL Server's SQL: quoted and schema-qualified names. */
interface WideningSql {
  quote(identifier: string): string;
  qualified(table: string): string;
}

export async function widenColumnsSql(dialect: WideningSql, on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
  const rows = await on.all<{ name: unknown; type: unknown; length: unknown; nullable: unknown; collation: unknown; blocked: unknown }>(
    WIDEN_QUERY,
    [dialect.qualified(table)],
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
    const collation = typeof now.collation === "string" && /^\w+$/.test(now.collation) ? ` COLLATE ${now.collation}` : "";
    const nullability = now.nullable === false || now.nullable === 0 ? "NOT NULL" : "NULL";
    statements.push(
      `ALTER TABLE ${dialect.qualified(table)} ALTER COLUMN ${dialect.quote(String(now.name))} nvarchar(max)${collation} ${nullability}`,
    );
  }
  return statements;
}
