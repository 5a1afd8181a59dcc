// Statements the state store's parts share, written once for every family: an insert, an insert
// that keeps an existing row, and an upsert. A column embedded in drizzle's `sql` is printed with its
// table ("leases"."owner"), which no database takes in an INSERT's column list or an UPDATE's SET;
// `bare` names it alone.
import { type Column, type SQL, sql, type Table } from "drizzle-orm";
import type { StateFamily } from "./db.ts";

/** A column of any family's table, as statements need it. */
export interface NamedColumn {
  readonly name: string;
}

/** One row to write: each column with its value. */
export type RowValues = readonly (readonly [NamedColumn, unknown])[];

/** The column's name alone, quoted as the family quotes. */
export function bare(column: NamedColumn): SQL {
  return sql`${sql.identifier(column.name)}`;
}

/** `INSERT INTO table (columns) VALUES (values)`. */
export function insertSql(table: Table, row: RowValues): SQL {
  const columns = sql.join(
    row.map(([column]) => bare(column)),
    sql`, `,
  );
  const values = sql.join(
    row.map(([, value]) => sql`${value}`),
    sql`, `,
  );
  return sql`INSERT INTO ${table} (${columns}) VALUES (${values})`;
}

/** Inserts the row unless one with its key exists (then nothing changes). */
export function insertIfMissingSql(family: StateFamily, table: Table, row: RowValues, key: readonly NamedColumn[]): SQL {
  // Not INSERT IGNORE: that would also turn a value too long for its column into a warning.
  if (family === "mysql")
    return sql`${insertSql(table, row)} ON DUPLICATE KEY UPDATE ${bare(key[0] as NamedColumn)} = ${bare(key[0] as NamedColumn)}`;
  return sql`${insertSql(table, row)} ON CONFLICT (${keyList(key)}) DO NOTHING`;
}

export interface UpsertChanges {
  /** Columns that take the new row's value. */
  replace?: readonly NamedColumn[];
  /** Columns that add the new row's value to the existing one. */
  add?: readonly NamedColumn[];
}

/** Inserts the row, or changes the existing row with its key as `changes` say. */
export function upsertSql(family: StateFamily, table: Table, row: RowValues, key: readonly NamedColumn[], changes: UpsertChanges): SQL {
  // The value the insert would have written, and the one the row has.
  const incoming = (column: NamedColumn) => (family === "mysql" ? sql`VALUES(${bare(column)})` : sql`excluded.${bare(column)}`);
  const existing = (column: NamedColumn) => (family === "mysql" ? bare(column) : sql`${table}.${bare(column)}`);
  const assignments = sql.join(
    [
      ...(changes.replace ?? []).map((column) => sql`${bare(column)} = ${incoming(column)}`),
      ...(changes.add ?? []).map((column) => sql`${bare(column)} = ${existing(column)} + ${incoming(column)}`),
    ],
    sql`, `,
  );
  if (family === "mysql") return sql`${insertSql(table, row)} ON DUPLICATE KEY UPDATE ${assignments}`;
  return sql`${insertSql(table, row)} ON CONFLICT (${keyList(key)}) DO UPDATE SET ${assignments}`;
}

function keyList(key: readonly NamedColumn[]): SQL {
  return sql.join(
    key.map((column) => bare(column)),
    sql`, `,
  );
}

/** `column AS "key", …`: rows come back keyed as the records they become. */
export function selectList(columns: Record<string, Column>): SQL {
  return sql.join(
    Object.entries(columns).map(([key, column]) => sql`${column} AS ${sql.identifier(key)}`),
    sql`, `,
  );
}

/** The row with these fields made numbers: PostgreSQL returns 64-bit integers and sums as text. */
export function withNumbers<T extends object>(row: T, keys: readonly (keyof T)[]): T {
  const converted: T = { ...row };
  for (const key of keys) converted[key] = Number(row[key]) as T[keyof T];
  return converted;
}

/**
 * `FOR UPDATE`: rows read for a change are locked until the commit and read as committed now (not as
 * the transaction's first snapshot, which is what MySQL's plain reads return). SQLite's write
 * transaction holds the whole database already.
 */
export function lockRows(family: StateFamily): SQL {
  return family === "sqlite" ? sql.empty() : sql` FOR UPDATE`;
}
