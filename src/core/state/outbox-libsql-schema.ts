// The tables of the webhook outbox in the libSQL state store, and how the deliveries of one contact
// wait in line: only the oldest pending delivery of a contact has a real due time, the ones behind it
// wait with a time no clock reaches, so finding what is due is one index range, however long the
// queue behind it.
import { raw, type SqlFragment, sql } from "../sql/template.ts";

export const OUTBOX_DDL = [
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  campaign TEXT NOT NULL,
  url TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  fired TEXT,
  state TEXT NOT NULL,
  body TEXT NOT NULL,
  signed INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  floor TEXT,
  replayed INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  failed_at TEXT
)`,
  "CREATE INDEX IF NOT EXISTS webhook_outbox_line ON webhook_outbox (scope, contact_id, status, seq)",
  "CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (status, next_attempt_at)",
  "CREATE INDEX IF NOT EXISTS webhook_outbox_scope_due ON webhook_outbox (scope, status, next_attempt_at)",
  `CREATE TABLE IF NOT EXISTS webhook_versions (
  scope TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (scope, transaction_id)
) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS webhook_contacts (
  scope TEXT NOT NULL,
  contact_id TEXT NOT NULL,
  md5 TEXT NOT NULL,
  PRIMARY KEY (scope, contact_id)
) WITHOUT ROWID`,
];

/** `next_attempt_at` of a pending delivery waiting behind an earlier one of its contact. */
export const WAITING_IN_LINE = 8_640_000_000_000_000;
/** The same time written into a statement. */
export const WAITING_IN_LINE_SQL = raw(String(WAITING_IN_LINE));

/** A new delivery's `next_attempt_at`: due at once when nothing of its contact is pending, else behind the others. */
export function firstAttemptAt(scope: string, contactId: string): SqlFragment {
  return sql`CASE WHEN EXISTS (SELECT 1 FROM webhook_outbox WHERE scope = ${scope} AND contact_id = ${contactId} AND status = 'pending')
    THEN ${WAITING_IN_LINE_SQL} ELSE 0 END`;
}

/** Makes the oldest pending delivery of each contact whose deliveries all wait the next in line. */
export function repairLines(nowMs: number): SqlFragment {
  return sql`UPDATE webhook_outbox SET next_attempt_at = ${nowMs} WHERE seq IN (
  SELECT MIN(seq) FROM webhook_outbox WHERE status = 'pending'
    GROUP BY scope, contact_id HAVING MIN(next_attempt_at) >= ${WAITING_IN_LINE_SQL})`;
}

/** After a contact's delivery settled: its oldest pending one is next, unless one already is. */
export function nextInLine(scope: string, contactId: string, nowMs: number): SqlFragment {
  return sql`UPDATE webhook_outbox SET next_attempt_at = ${nowMs}
  WHERE seq = (SELECT MIN(seq) FROM webhook_outbox WHERE scope = ${scope} AND contact_id = ${contactId} AND status = 'pending')
    AND next_attempt_at >= ${WAITING_IN_LINE_SQL}
    AND NOT EXISTS (SELECT 1 FROM webhook_outbox
                    WHERE scope = ${scope} AND contact_id = ${contactId} AND status = 'pending'
                      AND next_attempt_at < ${WAITING_IN_LINE_SQL})`;
}

/**
 * A dead letter whose transaction has a newer version that was delivered or is on its way: sending
 * it again would put old content after new. When the newest version is dead too, both go again, in
 * order, and nothing is superseded.
 */
export const SUPERSEDED = sql`EXISTS (SELECT 1 FROM webhook_versions v
  WHERE v.scope = webhook_outbox.scope AND v.transaction_id = webhook_outbox.transaction_id AND v.version > webhook_outbox.version
    AND NOT EXISTS (SELECT 1 FROM webhook_outbox d WHERE d.scope = v.scope AND d.transaction_id = v.transaction_id
                    AND d.version = v.version AND d.status = 'failed'))`;
