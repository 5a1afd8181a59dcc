// Recording webhook deliveries in the libSQL outbox: a candidate whose transaction is unknown is
// new, one whose content changed is the next version, one with content already recorded (or history
// from before webhooks were on) is skipped. The contacts' hashes are recorded in the same write.
import type { Transaction } from "@libsql/client";
import { type DeliveryState, type EnqueueResult, type OutboxCandidate, type OutboxScope, scopeKey, webhookId } from "../webhook/outbox.ts";
import { type SqlFragment, sql, values } from "../sql/template.ts";
import { firstAttemptAt } from "./outbox-libsql-schema.ts";
import { inLists, statement } from "./outbox-libsql-sql.ts";

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

/** Writes the deliveries and contact hashes inside `tx`; the caller commits. */
export async function recordDeliveries(
  tx: Transaction,
  scope: OutboxScope,
  candidates: readonly OutboxCandidate[],
  contacts: readonly { id: string; md5: string }[],
  options: EnqueueOptions,
): Promise<EnqueueResult> {
  const key = scopeKey(scope);
  const result: EnqueueResult = { new: 0, updated: 0, skipped: 0 };
  const versions = await recordedVersions(tx, key, candidates);
  const statements: SqlFragment[] = [];
  for (const candidate of candidates) {
    const previous = versions.get(candidate.transactionId);
    if (previous?.hash === candidate.hash || (previous === undefined && candidate.history)) {
      result.skipped++;
      continue;
    }
    const state: DeliveryState = previous === undefined ? "new" : "updated";
    const version = (previous?.version ?? 0) + 1;
    result[state]++;
    versions.set(candidate.transactionId, { hash: candidate.hash, version });
    const row = [
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
    ];
    statements.push(
      sql`INSERT INTO webhook_outbox
            (id, scope, campaign, url, contact_id, transaction_id, version, fired, state, body, signed, floor, created_at, next_attempt_at)
          VALUES (${values(row)}, ${firstAttemptAt(key, candidate.contactId)})
          ON CONFLICT (id) DO NOTHING`,
      sql`INSERT INTO webhook_versions (scope, transaction_id, hash, version)
          VALUES (${key}, ${candidate.transactionId}, ${candidate.hash}, ${version})
          ON CONFLICT (scope, transaction_id) DO UPDATE SET hash = excluded.hash, version = excluded.version`,
    );
  }
  for (const contact of contacts) {
    statements.push(sql`INSERT INTO webhook_contacts (scope, contact_id, md5) VALUES (${key}, ${contact.id}, ${contact.md5})
          ON CONFLICT (scope, contact_id) DO UPDATE SET md5 = excluded.md5`);
  }
  if (statements.length > 0) await tx.batch(statements.map(statement));
  return result;
}

/** The version and content hash last recorded for each candidate's transaction. */
async function recordedVersions(
  tx: Transaction,
  key: string,
  candidates: readonly OutboxCandidate[],
): Promise<Map<string, RecordedVersion>> {
  const versions = new Map<string, RecordedVersion>();
  for (const ids of inLists([...new Set(candidates.map((c) => c.transactionId))])) {
    const rows = await tx.execute(
      statement(
        sql`SELECT transaction_id, hash, version FROM webhook_versions WHERE scope = ${key} AND transaction_id IN (${values(ids)})`,
      ),
    );
    for (const row of rows.rows) versions.set(String(row.transaction_id), { hash: String(row.hash), version: Number(row.version) });
  }
  return versions;
}
