// How the deliveries of one contact wait in line: only the oldest pending delivery of a contact has a
// real due time, the ones behind it wait with a time no clock reaches, so finding what is due is one
// index range, however long the queue behind it. And which dead letters a newer version superseded.
import { type Column, type SQL, sql } from "drizzle-orm";
import type { StateFamily, StateQueries } from "./db.ts";
import { aliased, bare, literal, lockRows, type OutboxTable, tablesOf } from "./outbox-sql.ts";

/** `next_attempt_at` of a pending delivery waiting behind an earlier one of its contact. */
export const WAITING_IN_LINE = 8_640_000_000_000_000;
const WAITING = literal(WAITING_IN_LINE);

/**
 * Makes the oldest pending delivery of each contact whose deliveries all wait the next in line. The
 * oldest are chosen in a derived table of their own: MySQL refuses an UPDATE whose subquery reads
 * the table it changes, unless that subquery is materialized first (as a grouping always is).
 */
export function repairLinesSql(o: OutboxTable, nowMs: number): SQL {
  return sql`UPDATE ${o} SET ${bare(o.nextAttemptAt)} = ${nowMs} WHERE ${o.seq} IN (
  SELECT first_seq FROM (
    SELECT MIN(${o.seq}) AS first_seq FROM ${o} WHERE ${o.status} = 'pending'
      GROUP BY ${o.scope}, ${o.contactId} HAVING MIN(${o.nextAttemptAt}) >= ${WAITING}
  ) firsts)`;
}

/**
 * Locks the pending deliveries of one contact until the commit, taken before a delivery of it
 * settles. They are locked through the same index and in the same order as an enqueue locks the
 * lines of its contacts, so the two wait for each other instead of each holding what the other
 * needs (MySQL would otherwise end one of them as a deadlock). SQLite's write transaction holds the
 * whole database already.
 */
export async function lockLine(tx: StateQueries, scope: string, contactId: string): Promise<void> {
  if (tx.family === "sqlite") return;
  const o = tablesOf(tx.family).webhookOutbox;
  await tx.all(sql`SELECT ${o.seq} AS seq FROM ${o} WHERE ${lineOf(o, scope, contactId)} ORDER BY ${o.seq}${lockRows(tx.family)}`);
}

/**
 * After a delivery of the contact settled, inside the same transaction and with its line locked:
 * its oldest pending one is next, unless one already is. Read, then written: MySQL cannot read the
 * table an UPDATE changes. Locking reads, because only they see what an enqueue committed while this
 * transaction waited for the line (MySQL's plain reads see the transaction's first snapshot).
 */
export async function nextInLine(tx: StateQueries, scope: string, contactId: string, nowMs: number): Promise<void> {
  const o = tablesOf(tx.family).webhookOutbox;
  const line = lineOf(o, scope, contactId);
  const lock = lockRows(tx.family);
  const [next] = await tx.all(sql`SELECT ${o.seq} AS seq FROM ${o} WHERE ${line} AND ${o.nextAttemptAt} < ${WAITING} LIMIT 1${lock}`);
  if (next !== undefined) return;
  const [first] = await tx.all(sql`SELECT ${o.seq} AS seq FROM ${o} WHERE ${line} ORDER BY ${o.seq} LIMIT 1${lock}`);
  if (first === undefined) return;
  await tx.run(sql`UPDATE ${o} SET ${bare(o.nextAttemptAt)} = ${nowMs} WHERE ${o.seq} = ${Number(first.seq)}`);
}

/** The pending deliveries of one contact. */
function lineOf(o: OutboxTable, scope: string, contactId: string): SQL {
  return sql`${o.scope} = ${scope} AND ${o.contactId} = ${contactId} AND ${o.status} = 'pending'`;
}

/** The time a new delivery of a contact waits until: due at once when nothing of its contact is pending. */
export function firstAttemptAt(pendingBefore: boolean): number {
  return pendingBefore ? WAITING_IN_LINE : 0;
}

/** Whether a `next_attempt_at` is a real due time, not waiting in line. */
export function isDueTime(at: number): boolean {
  return at < WAITING_IN_LINE;
}

/**
 * 1 for a dead letter whose transaction has a newer version that was delivered or is on its way:
 * sending it again would put old content after new. When the newest version is dead too, both go
 * again, in order, and nothing is superseded.
 */
export function supersededSql(family: StateFamily): SQL {
  const { webhookOutbox: o, webhookVersions: v } = tablesOf(family);
  const d = (column: Column) => aliased("d", column);
  return sql`CASE WHEN EXISTS (SELECT 1 FROM ${v}
  WHERE ${v.scope} = ${o.scope} AND ${v.transactionId} = ${o.transactionId} AND ${v.version} > ${o.version}
    AND NOT EXISTS (SELECT 1 FROM ${o} ${sql.identifier("d")} WHERE ${d(o.scope)} = ${v.scope} AND ${d(o.transactionId)} = ${v.transactionId}
                    AND ${d(o.version)} = ${v.version} AND ${d(o.status)} = 'failed')) THEN 1 ELSE 0 END`;
}
