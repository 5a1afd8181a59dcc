// The pieces of SQL the libSQL outbox's operations share: the conditions for a selection of pending
// deliveries, a filter of dead letters and a claim that still holds; lists of ids cut into parts; a
// statement rendered for libSQL; and a row read back as an entry.
import type { InStatement, Row } from "@libsql/client";
import { type DeliverySelection, type FailedFilter, type OutboxEntry, scopeKey } from "../webhook/outbox.ts";
import { join, raw, type SqlFragment, type SqlSyntax, sql, values } from "../sql/template.ts";

/** SQLite's default limit of bound parameters is far above this; it keeps statements small. */
const IN_LIST = 500;

const SQLITE: SqlSyntax = {
  quote: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
  placeholder: () => "?",
};

/** The statement as the libSQL client takes it. */
export function statement(fragment: SqlFragment): InStatement {
  const [text, args] = fragment.render(SQLITE);
  return { sql: text, args };
}

/** The items in parts small enough for one `IN (…)` list each. */
export function inLists<T>(items: readonly T[]): T[][] {
  const lists: T[][] = [];
  for (let i = 0; i < items.length; i += IN_LIST) lists.push(items.slice(i, i + IN_LIST));
  return lists;
}

/** `AND …` conditions that keep the pending deliveries of the selection. */
export function selectionSql(selection: DeliverySelection): SqlFragment {
  const conditions: SqlFragment[] = [];
  if (selection.scope) conditions.push(sql` AND scope = ${scopeKey(selection.scope)}`);
  if (selection.replayed !== undefined) conditions.push(sql` AND replayed = ${selection.replayed ? 1 : 0}`);
  if (selection.campaigns) {
    const scopes = selection.campaigns.map((campaign) => scopeKey({ campaign }));
    conditions.push(scopes.length > 0 ? sql` AND scope IN (${values(scopes)})` : sql` AND 0`);
  }
  if (selection.signed !== undefined) conditions.push(sql` AND signed = ${selection.signed ? 1 : 0}`);
  return join(conditions, "");
}

/** `AND …` conditions that keep the dead letters the filter asks for. */
export function failedSql(filter: FailedFilter): SqlFragment {
  const conditions: SqlFragment[] = [];
  if (filter.campaign !== undefined) conditions.push(sql` AND campaign = ${filter.campaign}`);
  if (filter.since) conditions.push(sql` AND failed_at >= ${filter.since.toISOString()}`);
  if (filter.ids) conditions.push(filter.ids.length > 0 ? sql` AND id IN (${values(filter.ids)})` : sql` AND 0`);
  return join(conditions, "");
}

/** The condition that a claim with this lease still holds. */
export function leaseSql(lease: number | undefined): SqlFragment {
  return lease === undefined ? raw("") : sql` AND next_attempt_at = ${lease}`;
}

export function toEntry(row: Row): OutboxEntry {
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
