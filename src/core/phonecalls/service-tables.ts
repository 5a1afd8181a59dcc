// The tables the phonecalls service keeps beside the sync's: the calls and the phone number index.
// None of them is one of the sync's tables; the service creates them itself, on first use.
import type { Dialect } from "../sql/dialect.ts";
import type { LogicalType, TableLayout } from "../sync/tables.ts";

/** A table's name (prefix included, fitted to the database), its primary key and its columns; no sync table key. */
export type ServiceTable = Omit<TableLayout, "key">;

/** The table as this database can name it: a long prefix must not make two names one. */
export function serviceTable(dialect: Dialect, name: string, primaryKey: string, columns: Record<string, LogicalType>): ServiceTable {
  return {
    name: dialect.fitIdentifier(name),
    primaryKey,
    columns: Object.entries(columns).map(([column, type]) => ({ name: column, type })),
  };
}

/**
 * Creates the tables that do not exist yet. Another server process may create one at the same
 * moment (PostgreSQL's CREATE TABLE IF NOT EXISTS can then fail): what counts is that it exists.
 */
export async function createTables(dialect: Dialect, tables: readonly ServiceTable[]): Promise<void> {
  for (const table of tables) {
    if ((await dialect.existingColumns(table.name)).length > 0) continue;
    try {
      await dialect.run(dialect.createTableSql(table));
    } catch (error) {
      if ((await dialect.existingColumns(table.name)).length === 0) throw error;
    }
  }
}

/** Work done once per process; callers arriving together wait for the same one, a failure is tried again. */
export function once(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= work().catch((error: unknown) => {
      running = undefined;
      throw error;
    });
    return running;
  };
}
