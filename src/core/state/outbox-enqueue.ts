// Recording webhook deliveries: a candidate whose transaction is unknown is new, one whose content
// changed is the next version, one with content already recorded (or history from before webhooks
// were on) is skipped. The contacts' hashes are recorded in the same transaction; rows go in as few
// multi-row statements as the sizes allow.
import { type Column, sql } from "drizzle-orm";
import { type DeliveryState, type EnqueueResult, type OutboxCandidate, type OutboxScope, scopeKey, webhookId } from "../webhook/outbox.ts";
import type { StateQueries } from "./db.ts";
import { firstAttemptAt } from "./outbox-line.ts";
import { inLists, insertRows, lockRows, orNothing, orUpdate, tablesOf } from "./outbox-sql.ts";

export interface EnqueueOptions {
  url: string;
  floor: string | undefined;
  signed: boolean;
  createdAt: string;
}

interface RecordedVersion {
  hash: string;
  version: number;
}

/** Rows of one INSERT: few enough for every family's parameter limit. */
const ROWS_PER_INSERT = 100;
/** Characters of bodies in one INSERT: well inside MySQL's smallest max_allowed_packet in use (4 MB). */
const BODY_CHARS_PER_INSERT = 1_000_000;

/** Writes the deliveries and contact hashes inside `tx`; the caller's transaction commits them. */
export async function recordDeliveries(
  tx: StateQueries,
  scope: OutboxScope,
  candidates: readonly OutboxCandidate[],
  contacts: readonly { id: string; md5: string }[],
  options: EnqueueOptions,
): Promise<EnqueueResult> {
  const key = scopeKey(scope);
  const { webhookOutbox: o, webhookVersions: v, webhookContacts: c } = tablesOf(tx.family);
  const result: EnqueueResult = { new: 0, updated: 0, skipped: 0 };
  const versions = await recordedVersions(tx, key, candidates);
  const waiting = await contactsWithPending(tx, key, candidates);
  const changed = new Map<string, RecordedVersion>();
  const deliveries: unknown[][] = [];
  for (const candidate of candidates) {
    const previous = versions.get(candidate.transactionId);
    if (previous?.hash === candidate.hash || (previous === undefined && candidate.history)) {
      result.skipped++;
      continue;
    }
    const state: DeliveryState = previous === undefined ? "new" : "updated";
    const version = (previous?.version ?? 0) + 1;
    result[state]++;
    const recorded = { hash: candidate.hash, version };
    versions.set(candidate.transactionId, recorded);
    changed.set(candidate.transactionId, recorded);
    deliveries.push([
      webhookId(scope, candidate.transactionId, version, candidate.hash),
      key,
      scope.campaign,
      options.url,
      candidate.contactId,
      candidate.transactionId,
      version,
      candidate.fired ?? null,
      state,
      candidate.body(state),
      options.signed ? 1 : 0,
      options.floor ?? null,
      options.createdAt,
      firstAttemptAt(waiting.has(candidate.contactId)),
    ]);
    waiting.add(candidate.contactId);
  }
  const outboxColumns: Column[] = [o.id, o.scope, o.campaign, o.url, o.contactId, o.transactionId, o.version, o.fired, o.state];
  outboxColumns.push(o.body, o.signed, o.floor, o.createdAt, o.nextAttemptAt);
  for (const rows of byBodySize(deliveries, (row) => String(row[9]).length)) {
    await tx.run(sql`${insertRows(o, outboxColumns, rows)}${orNothing(tx.family, o.id)}`);
  }
  const versionRows = [...changed].map(([transactionId, { hash, version }]) => [key, transactionId, hash, version]);
  for (const rows of inLists(versionRows)) {
    await tx.run(
      sql`${insertRows(v, [v.scope, v.transactionId, v.hash, v.version], rows)}${orUpdate(
        tx.family,
        [v.scope, v.transactionId],
        [v.hash, v.version],
      )}`,
    );
  }
  // One row per contact, the last md5 given: a statement may not upsert the same row twice.
  const md5s = [...new Map(contacts.map((contact) => [contact.id, contact.md5]))].map(([id, md5]) => [key, id, md5]);
  for (const rows of inLists(md5s)) {
    await tx.run(sql`${insertRows(c, [c.scope, c.contactId, c.md5], rows)}${orUpdate(tx.family, [c.scope, c.contactId], [c.md5])}`);
  }
  return result;
}

/** The version and content hash last recorded for each candidate's transaction. */
async function recordedVersions(
  tx: StateQueries,
  key: string,
  candidates: readonly OutboxCandidate[],
): Promise<Map<string, RecordedVersion>> {
  const v = tablesOf(tx.family).webhookVersions;
  const versions = new Map<string, RecordedVersion>();
  for (const ids of inLists([...new Set(candidates.map((candidate) => candidate.transactionId))])) {
    const rows = await tx.all(
      sql`SELECT ${v.transactionId} AS transaction_id, ${v.hash} AS hash, ${v.version} AS version FROM ${v}
          WHERE ${v.scope} = ${key} AND ${v.transactionId} IN ${ids}`,
    );
    for (const row of rows) versions.set(String(row.transaction_id), { hash: String(row.hash), version: Number(row.version) });
  }
  return versions;
}

/**
 * The candidates' contacts that have a delivery pending: a new one waits behind it. The rows are
 * locked, so a delivery of the contact settling meanwhile either commits first (and is seen settled,
 * its successor due) or waits for this enqueue (and then sees the new delivery in line).
 */
async function contactsWithPending(tx: StateQueries, key: string, candidates: readonly OutboxCandidate[]): Promise<Set<string>> {
  const o = tablesOf(tx.family).webhookOutbox;
  const pending = new Set<string>();
  for (const ids of inLists([...new Set(candidates.map((candidate) => candidate.contactId))])) {
    const rows = await tx.all(
      sql`SELECT ${o.contactId} AS contact_id FROM ${o}
          WHERE ${o.scope} = ${key} AND ${o.contactId} IN ${ids} AND ${o.status} = 'pending'${lockRows(tx.family)}`,
    );
    for (const row of rows) pending.add(String(row.contact_id));
  }
  return pending;
}

/** The rows in parts of at most ROWS_PER_INSERT rows and BODY_CHARS_PER_INSERT characters (or one row). */
function byBodySize<T>(rows: readonly T[], size: (row: T) => number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let chars = 0;
  for (const row of rows) {
    const rowChars = size(row);
    if (part.length > 0 && (part.length >= ROWS_PER_INSERT || chars + rowChars > BODY_CHARS_PER_INSERT)) {
      parts.push(part);
      part = [];
      chars = 0;
    }
    part.push(row);
    chars += rowChars;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
