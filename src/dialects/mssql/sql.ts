// SQL Server's SQL. Not run against a real SQL Server here: no server can run on the development
// machines, so it is tested by its SQL, its limits and its errors.
//
// Types: every string kind is NVARCHAR(MAX), so no value is ever cut or refused for its length; only
// primary-key columns are NVARCHAR(450), the longest an index key may be (900 bytes). `int` is
// NVARCHAR(MAX) too: SQL Server has no exact number type without bounds (DECIMAL(38,10) would round
// past 10 decimals and fail the whole batch past 28 integer digits or on a value that is not a
// number), dbsync2 itself used NVARCHAR(50) there, and text keeps every number exactly as written.
// `bool` is BIT.
//
// Every parameter is bound as NVARCHAR (numbers as exact decimal text, booleans as "1"/"0", as dbsync2
// wrote them): the column types of a multi-row `VALUES` list follow SQL Server's type precedence over
// all rows, so one number bound as INT in a text column would make every text value of that column
// fail to convert. Text converts implicitly to whatever type the target column has.
//
// The `$id|$md5` index has `$id` as key and includes `$md5` (an NVARCHAR(MAX) cannot be a key column);
// see createIndexSql. Tables go to the login's default schema (normally dbo), like dbsync2's.
import { columnDefinitions, TargetError, type IndexSpec, type SqlExecutor } from "../../core/sql/dialect.ts";
import { fitIdentifier, utf16Units } from "../../core/sql/identifiers.ts";
import type { Column, LogicalType, TableLayout } from "../../core/sync/tables.ts";
import { sql } from "../../core/sql/template.ts";
import { BaseSql } from "../shared/dialect.ts";
import { mayReplace } from "../shared/version-guard.ts";
import { widenColumnsSql } from "./widen.ts";

/** SQL Server refuses a request with more than 2100 parameters. */
export const MSSQL_PARAMETER_LIMIT = 2100;
/** A table value constructor (`VALUES (…), (…)`) of an INSERT may hold at most 1000 rows. */
export const MSSQL_ROW_LIMIT = 1000;

const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "nvarchar(max)",
  string: "nvarchar(max)",
  text: "nvarchar(max)",
  int: "nvarchar(max)",
  bool: "bit",
};

/** Primary keys must be index keys: at most 900 bytes, i.e. 450 UTF-16 code units. */
const KEY_STRING_TYPE = "nvarchar(450)";

export class MssqlSql extends BaseSql {
  readonly kind = "mssql";
  /** A margin below SQL Server's 2100 parameters per request. */
  readonly maxParams = 2000;
  readonly maxRowsPerStatement = MSSQL_ROW_LIMIT;
  /** Default collations compare names (and values) case-insensitively. */
  readonly indexesTextColumns = false;
  readonly caseInsensitiveColumns = true;

  /** `schema`: of the tables, the login's default schema. */
  constructor(readonly schema = "dbo") {
    super();
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

  override limitClause(n: number): string {
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
  async existingColumns(on: SqlExecutor, table: string): Promise<string[]> {
    const where = sql`WHERE TABLE_SCHEMA = ${this.schema} AND TABLE_NAME = ${table} ORDER BY ORDINAL_POSITION`;
    const query = sql`SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.COLUMNS ${where}`;
    const rows = await on.all<{ name: unknown }>(...query.render(this));
    return rows.map((row) => String(row.name));
  }

  widenColumnsSql(on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
    return widenColumnsSql(this, on, table, columns);
  }

  override createTableSql(spec: TableLayout): string {
    const table = this.qualified(spec.name);
    const columns = columnDefinitions(this, spec, (type) => (type === "bool" ? "bit" : KEY_STRING_TYPE));
    return `IF OBJECT_ID(${nString(table)}, N'U') IS NULL CREATE TABLE ${table} (${columns})`;
  }

  /** One ALTER TABLE adds them all. */
  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    if (columns.length === 0) return [];
    const added = columns.map((column) => `${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.qualified(table)} ADD ${added.join(", ")}`];
  }

  /**
   * The first column is the index key and the others are included columns: NVARCHAR(MAX) (what `$md5`
   * is, so that it is never cut) cannot be a key column but can be included, and an index on `$id`
   * including `$md5` answers the look-up `SELECT $id, $md5 … WHERE $id IN (…)` from the index alone.
   * An index of that name that exists already (e.g. dbsync2's on both columns) is kept.
   */
  override createIndexSql(table: string, index: IndexSpec): string {
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
  override upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number, version?: string): string {
    const params = rowCount * columns.length;
    if (rowCount < 1 || columns.length < 1 || params > MSSQL_PARAMETER_LIMIT || rowCount > MSSQL_ROW_LIMIT) {
      throw new TargetError(
        `${table}: an upsert of ${rowCount} rows × ${columns.length} columns exceeds SQL Server's limits ` +
          `(${MSSQL_PARAMETER_LIMIT} parameters, ${MSSQL_ROW_LIMIT} rows)`,
      );
    }
    const quoted = columns.map((column) => this.quote(column));
    const key = this.quote(columns.find((column) => sameName(column, primaryKey)) ?? primaryKey);
    const updates = columns
      .filter((column) => !sameName(column, primaryKey))
      .map((column) => `${this.quote(column)} = source.${this.quote(column)}`);
    const guard = version === undefined ? "" : ` AND ${mayReplace(`target.${this.quote(version)}`, `source.${this.quote(version)}`)}`;
    const matched = updates.length > 0 ? ` WHEN MATCHED${guard} THEN UPDATE SET ${updates.join(", ")}` : "";
    return (
      `MERGE INTO ${this.qualified(table)} WITH (HOLDLOCK) AS target ` +
      `USING (VALUES ${this.placeholderRows(rowCount, columns.length)}) AS source (${quoted.join(", ")}) ` +
      `ON target.${key} = source.${key}${matched} ` +
      `WHEN NOT MATCHED THEN INSERT (${quoted.join(", ")}) VALUES (${quoted.map((c) => `source.${c}`).join(", ")});`
    );
  }
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** An N'…' literal; only for names the dialect itself puts into DDL (quotes doubled). */
export function nString(text: string): string {
  return `N'${text.replaceAll("'", "''")}'`;
}
