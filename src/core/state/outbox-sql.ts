// The pieces of SQL the outbox's operations share, on every family: its tables, the conditions for a
// selection of pending deliveries, a filter of dead letters and a claim that still holds; the few
// clauses the families write differently; lists cut into parts; a row read back as an entry.
import { type Column, type SQL, sql, type Table } from "drizzle-orm";
import { type DeliverySelection, type FailedFilter, type OutboxEntry, scopeKey } from "../webhook/outbox.ts";
import type { StateFamily, StateTables } from "./db.ts";
import { bare, lockRows } from "./statements.ts";

export { tablesOf } from "./schema/index.ts";
export { bare, lockRows };

export type OutboxTable = StateTables["webhookOutbox"];

/** Keeps statements and their parameter lists small on every family. */
const IN_LIST = 500;

/** The items in parts small enough for one `IN (…)` list each. */
export function inLists<T>(items: readonly T[]): T[][] {
  const lists: T[][] = [];
  for (let i = 0; i < items.length; i += IN_LIST) lists.push(items.slice(i, i + IN_LIST));
  return lists;
}

/** A column of a table named by an alias (a second copy of a table in one statement). */
export function aliased(alias: string, column: Column): SQL {
  return sql`${sql.identifier(alias)}.${sql.identifier(column.name)}`;
}

/** A count or limit written into the statement: MySQL takes no text where LIMIT wants a number. */
export function literal(n: number): SQL {
  return sql.raw(String(Math.max(0, Math.trunc(n))));
}

/** What ends an INSERT whose row may exist already under `key`: then nothing happens. */
export function orNothing(family: StateFamily, key: Column): SQL {
  return family === "mysql" ? sql` ON DUPLICATE KEY UPDATE ${bare(key)} = ${bare(key)}` : sql` ON CONFLICT (${bare(key)}) DO NOTHING`;
}

/** What ends an INSERT whose row may exist already under `keys`: then `updates` take the new values. */
export function orUpdate(family: StateFamily, keys: readonly Column[], updates: readonly Column[]): SQL {
  if (family === "mysql") {
    return sql` ON DUPLICATE KEY UPDATE ${sql.join(
      updates.map((c) => sql`${bare(c)} = VALUES(${bare(c)})`),
      sql`, `,
    )}`;
  }
  return sql` ON CONFLICT (${sql.join(keys.map(bare), sql`, `)}) DO UPDATE SET ${sql.join(
    updates.map((c) => sql`${bare(c)} = excluded.${bare(c)}`),
    sql`, `,
  )}`;
}

/** `INSERT INTO table (columns) VALUES (…), (…)` for rows holding the columns' values in order. */
export function insertRows(table: Table, columns: readonly Column[], rows: readonly unknown[][]): SQL {
  return sql`INSERT INTO ${table} (${sql.join(columns.map(bare), sql`, `)}) VALUES ${sql.join(
    rows.map((row) => sql`${row}`),
    sql`, `,
  )}`;
}

const NOTHING = sql` AND 1 = 0`;

/** `AND …` conditions that keep the pending deliveries of the selection. */
export function selectionSql(o: OutboxTable, selection: DeliverySelection): SQL {
  const conditions: SQL[] = [];
  if (selection.scope) conditions.push(sql` AND ${o.scope} = ${scopeKey(selection.scope)}`);
  if (selection.replayed !== undefined) conditions.push(sql` AND ${o.replayed} = ${selection.replayed ? 1 : 0}`);
  if (selection.campaigns) {
    const scopes = selection.campaigns.map((campaign) => scopeKey({ campaign }));
    conditions.push(scopes.length > 0 ? sql` AND ${o.scope} IN ${scopes}` : NOTHING);
  }
  if (selection.signed !== undefined) conditions.push(sql` AND ${o.signed} = ${selection.signed ? 1 : 0}`);
  return sql.join(conditions);
}

/** `AND …` conditions that keep the dead letters the filter asks for. */
export function failedSql(o: OutboxTable, filter: FailedFilter): SQL {
  const conditions: SQL[] = [];
  if (filter.campaign !== undefined) conditions.push(sql` AND ${o.campaign} = ${filter.campaign}`);
  if (filter.since) conditions.push(sql` AND ${o.failedAt} >= ${filter.since.toISOString()}`);
  if (filter.ids) conditions.push(filter.ids.length > 0 ? sql` AND ${o.id} IN ${filter.ids}` : NOTHING);
  return sql.join(conditions);
}

/** The condition that a claim with this lease still holds. */
export function leaseSql(o: OutboxTable, lease: number | undefined): SQL {
  return lease === undefined ? sql.empty() : sql` AND ${o.nextAttemptAt} = ${lease}`;
}

/** A row of the outbox as the database gave it (numbers may come as decimal text) read as an entry. */
export function toEntry(row: Record<string, unknown>): OutboxEntry {
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row.id),
    seq: Number(row.seq),
    campaign: String(row.campaign),
    url: String(row.url),
    contactId: String(row.contact_id),
    transactionId: String(row.transaction_id),
    version: Number(row.version),
    fired: text(row.fired),
    state: row.state === "updated" ? "updated" : "new",
    body: String(row.body),
    signed: Number(row.signed) === 1,
    status: row.status === "failed" ? "failed" : "pending",
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: text(row.last_error),
    createdAt: String(row.created_at),
    failedAt: text(row.failed_at),
    superseded: Number(row.superseded ?? 0) === 1,
  };
}
