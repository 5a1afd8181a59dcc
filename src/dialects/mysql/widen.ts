// Columns of a table the original client (dbsync2) made, widened in place so that no value is cut,
// refused or rounded.
import type { SqlExecutor } from "../../core/sql/dialect.ts";
import type { Column } from "../../core/sync/tables.ts";
import { sql, type SqlFragment, type SqlSyntax } from "../../core/sql/template.ts";
import { INDEXED_CONTACT_COLUMNS, KEY_TYPE, TEXT_TYPES } from "./types.ts";

interface ColumnInfo {
  name: string;
  type: string;
  length: unknown;
  precision: unknown;
  scale: unknown;
  nullable: string;
  key: string;
  table_name: string;
}

/**
 * The original client's `varchar(50)`/`varchar(100)`/`text` columns truncate or refuse longer values
 * and its `numeric` (`decimal(10,0)`) rounds decimals and refuses large numbers: they become
 * `longtext` and `decimal(65,10)`. Only ever widens. Key columns (every primary key, and contacts'
 * `$id`/`$md5`, which the `$id|$md5` index needs, also where that index is missing still) become
 * the key type `varchar(255)`, never a text type: an index on text would need a prefix length. (A
 * key column of a text type, as an earlier version of dbsync left a `$md5` without index, becomes
 * `varchar(255)` as well; in strict mode the server refuses that rather than cut a longer value.)
 * Columns of indexes of the user's own keep their type; tables of other engines than InnoDB
 * (MyISAM: at most 1000 bytes per key) keep their key columns as they are.
 */
/** What widening needs of MySQL's SQL: names, our column types, and which table a row names. */
interface WideningSql extends SqlSyntax {
  columnType(type: Column["type"]): string;
  isTable(found: unknown, wanted: string): boolean;
}

export async function widenColumnsSql(dialect: WideningSql, on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
  /** Rows about `table` only: information_schema may compare table names ignoring case. */
  const about = async <T extends { table_name: string }>(query: SqlFragment) =>
    (await on.all<T>(...query.render(dialect))).filter((row) => dialect.isTable(row.table_name, table));
  const existing = await about<ColumnInfo>(
    sql`SELECT column_name AS name, LOWER(data_type) AS type, character_maximum_length AS length,
               numeric_precision AS \`precision\`, numeric_scale AS scale, is_nullable AS nullable,
               column_key AS \`key\`, table_name AS table_name
          FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = ${table}`,
  );
  const indexed = new Set(
    (
      await about<{ name: string; table_name: string }>(
        sql`SELECT column_name AS name, table_name AS table_name FROM information_schema.statistics
             WHERE table_schema = DATABASE() AND table_name = ${table}`,
      )
    ).map((row) => String(row.name).toLowerCase()),
  );
  const [storage] = await about<{ engine: string | null; row_format: string | null; table_name: string }>(
    sql`SELECT engine AS engine, row_format AS row_format, table_name AS table_name FROM information_schema.tables
         WHERE table_schema = DATABASE() AND table_name = ${table}`,
  );
  // Other engines (MyISAM: 1000 bytes per key) may not hold a varchar(255) utf8mb4 key at all.
  const innodb = String(storage?.engine ?? "").toLowerCase() === "innodb";

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
        changes.push(`MODIFY COLUMN ${dialect.quote(now.name)} ${KEY_TYPE}${notNull}`);
        keysWidened = true;
      }
      continue;
    }
    if (indexed.has(now.name.toLowerCase())) continue;
    if (isNarrow(column, now)) changes.push(`MODIFY COLUMN ${dialect.quote(now.name)} ${dialect.columnType(column.type)}${notNull}`);
  }
  if (changes.length === 0) return [];
  // COMPACT and REDUNDANT rows (MySQL 5.6's default) hold at most 767 bytes of an indexed column.
  const rowFormat = String(storage?.row_format ?? "").toLowerCase();
  if (keysWidened && (rowFormat === "compact" || rowFormat === "redundant")) changes.push("ROW_FORMAT=DYNAMIC");
  return [`ALTER TABLE ${dialect.quote(table)} ${changes.join(", ")}`];
}

/** A string column shorter than longtext, or a number column of fewer digits than decimal(65,10). */
function isNarrow(column: Column, now: ColumnInfo): boolean {
  const isString = column.type === "short_string" || column.type === "string" || column.type === "text";
  const narrowText = ["char", "varchar", "tinytext", "text", "mediumtext"].includes(now.type);
  const integerDigits = Number(now.precision) - Number(now.scale);
  const narrowNumber =
    (now.type === "decimal" &&
      integerDigits <= 55 &&
      Number(now.scale) <= 10 &&
      !(Number(now.precision) === 65 && Number(now.scale) === 10)) ||
    ["tinyint", "smallint", "mediumint", "int", "bigint"].includes(now.type);
  return (isString && narrowText) || (column.type === "int" && narrowNumber);
}
