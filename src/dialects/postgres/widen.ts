// Columns of a table the original client (dbsync2) made, widened in place so that no value is
// refused for its length or its digits.
import type { SqlDialect, SqlExecutor } from "../../core/sql/dialect.ts";
import type { Column } from "../../core/sync/tables.ts";
import { sql } from "../../core/sql/template.ts";

/**
 * The original client's `varchar(50)` columns reject longer values, so they become `text`; a bounded
 * `numeric(p,s)` or an integer type becomes plain `numeric`. Only ever widens; key columns and
 * columns a view depends on (PostgreSQL refuses to retype those) are left alone.
 */
export async function widenColumnsSql(dialect: SqlDialect, on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
  const query = sql`SELECT a.attname AS name, a.atttypid::regtype::text AS type, a.atttypmod > 0 AS bounded,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey)) AS key,
            EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                     WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                       AND r.ev_class <> a.attrelid) AS viewed
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND c.relname = ${table} AND a.attnum > 0 AND NOT a.attisdropped`;
  const existing = await on.all<{ name: string; type: string; bounded: boolean; key: boolean; viewed: boolean }>(...query.render(dialect));
  const byName = new Map(existing.map((column) => [column.name, column]));
  const changes: string[] = [];
  for (const column of columns) {
    const now = byName.get(column.name);
    if (!now || now.key || now.viewed) continue;
    const isString = column.type === "short_string" || column.type === "string" || column.type === "text";
    const boundedText = (now.type === "character varying" || now.type === "character") && now.bounded;
    const boundedNumber = (now.type === "numeric" && now.bounded) || ["smallint", "integer", "bigint"].includes(now.type);
    if ((isString && boundedText) || (column.type === "int" && boundedNumber)) {
      changes.push(`ALTER COLUMN ${dialect.quote(column.name)} TYPE ${dialect.columnType(column.type)}`);
    }
  }
  return changes.length === 0 ? [] : [`ALTER TABLE ${dialect.quote(table)} ${changes.join(", ")}`];
}
