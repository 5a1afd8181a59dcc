// The state store's database as its operations see it, whatever the family: statements written with
// drizzle's `sql` template over the family's tables (schema/), rendered by the family's drizzle
// dialect and run on one connection or pool; writes in transactions that, once fenced, first check
// that the campaign's lease still holds.
import type { SQL } from "drizzle-orm";
import type { Fence } from "./leases.ts";
import type * as mysqlTables from "./schema/mysql.ts";
import type * as pgTables from "./schema/pg.ts";
import type * as sqliteTables from "./schema/sqlite.ts";

export type StateFamily = "sqlite" | "postgres" | "mysql";

export type StateTables = typeof sqliteTables | typeof pgTables | typeof mysqlTables;

export interface StateQueries {
  readonly family: StateFamily;
  /** Rows of a query, keyed by the names the database gives its columns. */
  all<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  run(query: SQL): Promise<void>;
}

export interface StateDb extends StateQueries {
  /** The URL without its password, for messages. */
  readonly safeUrl: string;
  /** This family's tables, to name in statements. */
  readonly tables: StateTables;
  /** The database's clock as epoch milliseconds, an expression for statements. */
  readonly nowMs: SQL;
  /**
   * One statement on its own, outside any transaction and never fenced; resolves to the rows it
   * changed. For writes whose repetition by a replica that lost its lease is harmless (a claim of a
   * delivery: sent twice, it carries the same webhook-id).
   */
  runCounted(query: SQL): Promise<number>;
  /**
   * One transaction, committed when `work` resolves, rolled back when it throws. When this database
   * is fenced, the lease is checked first inside it: a LeaseLostError, and nothing written, once
   * another owner has it.
   */
  write<T>(work: (tx: StateQueries) => Promise<T>): Promise<T>;
  /** The same database, its writes checking this lease. */
  fenced(fence: Fence): StateDb;
  close(): Promise<void>;
}
