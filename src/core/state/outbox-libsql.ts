// The webhook outbox in the libSQL state store (see outbox.ts for what each operation promises).
import type { Client, InStatement, InValue, Row } from "@libsql/client";
import {
  type DeliverySelection,
  type DeliveryState,
  type EnqueueResult,
  type FailedFilter,
  type OutboxCandidate,
  type OutboxEntry,
  type OutboxScope,
  type ReviveOptions,
  scopeKey,
  type WebhookOutbox,
  webhookId,
} from "../webhook/outbox.ts";
import type { Serial } from "../common/serial.ts";
import { StateError } from "./state.ts";

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

/**
 * `next_attempt_at` of a pending delivery waiting behind an earlier one of its contact. Only the
 * oldest pending delivery of a contact has a real time, so finding what is due is one index range,
 * however long the queue behind it.
 */
const WAITING_IN_LINE = 8_640_000_000_000_000;

/** SQLite's default limit of bound parameters is far above this; it keeps statements small. */
const IN_LIST = 500;

/** Makes the oldest pending delivery of each contact whose deliveries all wait the next in line. */
const REPAIR_LINES = `UPDATE webhook_outbox SET next_attempt_at = ? WHERE seq IN (
  SELECT MIN(seq) FROM webhook_outbox WHERE status = 'pending' GROUP BY scope, contact_id HAVING MIN(next_attempt_at) >= ${WAITING_IN_LINE})`;

/** After a contact's delivery settled: its oldest pending one is next, unless one already is. */
const NEXT_IN_LINE = `UPDATE webhook_outbox SET next_attempt_at = ?
  WHERE seq = (SELECT MIN(seq) FROM webhook_outbox WHERE scope = ? AND contact_id = ? AND status = 'pending')
    AND next_attempt_at >= ${WAITING_IN_LINE}
    AND NOT EXISTS (SELECT 1 FROM webhook_outbox WHERE scope = ? AND contact_id = ? AND status = 'pending' AND next_attempt_at < ${WAITING_IN_LINE})`;

/**
 * A dead letter whose transaction has a newer version that was delivered or is on its way: sending
 * it again would put old content after new. When the newest version is dead too, both go again, in
 * order, and nothing is superseded.
 */
const SUPERSEDED = `EXISTS (SELECT 1 FROM webhook_versions v
  WHERE v.scope = webhook_outbox.scope AND v.transaction_id = webhook_outbox.transaction_id AND v.version > webhook_outbox.version
    AND NOT EXISTS (SELECT 1 FROM webhook_outbox d WHERE d.scope = v.scope AND d.transaction_id = v.transaction_id
                    AND d.version = v.version AND d.status = 'failed'))`;

export class LibsqlOutbox implements WebhookOutbox {
  constructor(
    private readonly client: Client,
    private readonly safeUrl: string,
    /** Shared with the checkpoints of the same store: see serial.ts. */
    private readonly serial: Serial,
  ) {}

  async enqueue(
    scope: OutboxScope,
    candidates: readonly OutboxCandidate[],
    contacts: readonly { id: string; md5: string }[],
    options: { url: string; floor: string | undefined; signed: boolean },
  ): Promise<EnqueueResult> {
    const key = scopeKey(scope);
    const result: EnqueueResult = { new: 0, updated: 0, skipped: 0 };
    if (candidates.length === 0 && contacts.length === 0) return result;
    const createdAt = new Date().toISOString();
    return this.guard("cannot record webhook deliveries", async () => {
      const tx = await this.client.transaction("write");
      try {
        const versions = new Map<string, { hash: string; version: number }>();
        for (const ids of inLists([...new Set(candidates.map((c) => c.transactionId))])) {
          const rows = await tx.execute({
            sql: `SELECT transaction_id, hash, version FROM webhook_versions WHERE scope = ? AND transaction_id IN (${marks(ids)})`,
            args: [key, ...ids],
          });
          for (const row of rows.rows) versions.set(String(row.transaction_id), { hash: String(row.hash), version: Number(row.version) });
        }
        const statements: InStatement[] = [];
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
          statements.push(
            {
              // Due at once when nothing of its contact is pending, else behind the others.
              sql: `INSERT INTO webhook_outbox (id, scope, campaign, url, contact_id, transaction_id, version, fired, state, body, signed, floor, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                      CASE WHEN EXISTS (SELECT 1 FROM webhook_outbox WHERE scope = ? AND contact_id = ? AND status = 'pending') THEN ${WAITING_IN_LINE} ELSE 0 END)
                    ON CONFLICT (id) DO NOTHING`,
              args: [
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
                createdAt,
                key,
                candidate.contactId,
              ],
            },
            {
              sql: `INSERT INTO webhook_versions (scope, transaction_id, hash, version) VALUES (?, ?, ?, ?)
                    ON CONFLICT (scope, transaction_id) DO UPDATE SET hash = excluded.hash, version = excluded.version`,
              args: [key, candidate.transactionId, candidate.hash, version],
            },
          );
        }
        for (const contact of contacts) {
          statements.push({
            sql: `INSERT INTO webhook_contacts (scope, contact_id, md5) VALUES (?, ?, ?)
                  ON CONFLICT (scope, contact_id) DO UPDATE SET md5 = excluded.md5`,
            args: [key, contact.id, contact.md5],
          });
        }
        if (statements.length > 0) await tx.batch(statements);
        await tx.commit();
        return result;
      } finally {
        tx.close();
      }
    });
  }

  knownContactMd5(scope: OutboxScope, ids: readonly string[]): Promise<Map<string, string | null>> {
    return this.guard("cannot read contact hashes", async () => {
      const known = new Map<string, string | null>();
      for (const list of inLists(ids)) {
        const rows = await this.client.execute({
          sql: `SELECT contact_id, md5 FROM webhook_contacts WHERE scope = ? AND contact_id IN (${marks(list)})`,
          args: [scopeKey(scope), ...list],
        });
        for (const row of rows.rows) known.set(String(row.contact_id), row.md5 === null ? null : String(row.md5));
      }
      return known;
    });
  }

  forgetContacts(scope: OutboxScope): Promise<void> {
    return this.run("cannot update contact hashes", { sql: "DELETE FROM webhook_contacts WHERE scope = ?", args: [scopeKey(scope)] });
  }

  retarget(scope: OutboxScope, url: string): Promise<number> {
    return this.guard("cannot update the webhook outbox", async () => {
      const result = await this.client.execute({
        sql: "UPDATE webhook_outbox SET url = ? WHERE scope = ? AND status = 'pending' AND replayed = 0 AND url <> ?",
        args: [url, scopeKey(scope), url],
      });
      return result.rowsAffected;
    });
  }

  due(selection: DeliverySelection, nowMs: number, limit: number): Promise<OutboxEntry[]> {
    const where = selectionSql(selection);
    return this.guard("cannot read the webhook outbox", async () => {
      const rows = await this.client.execute({
        sql: `SELECT * FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ? ${where.sql}
              ORDER BY next_attempt_at LIMIT ?`,
        args: [nowMs, ...where.args, limit],
      });
      return rows.rows.map((row) => toEntry(row));
    });
  }

  claim(id: string, nowMs: number, leaseUntilMs: number): Promise<boolean> {
    return this.guard("cannot update the webhook outbox", async () => {
      const result = await this.client.execute({
        sql: "UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
        args: [leaseUntilMs, id, nowMs],
      });
      return result.rowsAffected === 1;
    });
  }

  delivered(id: string, nowMs: number, lease?: number): Promise<void> {
    const held = leaseSql(lease);
    return this.settle(id, { sql: `DELETE FROM webhook_outbox WHERE id = ?${held.sql}`, args: [id, ...held.args] }, nowMs);
  }

  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string, lease?: number): Promise<void> {
    const held = leaseSql(lease);
    return this.run("cannot update the webhook outbox", {
      sql: `UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'${held.sql}`,
      args: [attempts, nextAttemptAt, error, id, ...held.args],
    });
  }

  release(id: string, nowMs: number, lease?: number): Promise<void> {
    const held = leaseSql(lease);
    return this.run("cannot update the webhook outbox", {
      sql: `UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'${held.sql}`,
      args: [nowMs, id, ...held.args],
    });
  }

  deadLetter(id: string, attempts: number, error: string, at: Date, lease?: number): Promise<void> {
    const held = leaseSql(lease);
    return this.settle(
      id,
      {
        sql: `UPDATE webhook_outbox SET status = 'failed', attempts = ?, last_error = ?, failed_at = ? WHERE id = ? AND status = 'pending'${held.sql}`,
        args: [attempts, error, at.toISOString(), id, ...held.args],
      },
      at.getTime(),
    );
  }

  failed(filter: FailedFilter): Promise<OutboxEntry[]> {
    const where = failedSql(filter);
    return this.guard("cannot read the dead-letter list", async () => {
      const rows = await this.client.execute({
        sql: `SELECT *, ${SUPERSEDED} AS superseded FROM webhook_outbox WHERE status = 'failed' ${where.sql} ORDER BY seq`,
        args: where.args,
      });
      return rows.rows.map((row) => toEntry(row));
    });
  }

  revive(filter: FailedFilter, nowMs: number, options: ReviveOptions = {}): Promise<string[]> {
    const where = failedSql(filter);
    return this.guard("cannot put dead letters back in line", async () => {
      // Chosen first, then changed: whether one is superseded depends on the others' status.
      const chosen = await this.client.execute({
        sql: `SELECT id FROM webhook_outbox WHERE status = 'failed' ${where.sql} ${options.includeSuperseded ? "" : `AND NOT ${SUPERSEDED}`}`,
        args: where.args,
      });
      const ids = chosen.rows.map((row) => String(row.id));
      // Dead letters were already past the checkpoint; sending them again must not hold it back.
      const statements: InStatement[] = inLists(ids).map((list) => ({
        sql: `UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ${WAITING_IN_LINE}, failed_at = NULL,
                replayed = 1, url = COALESCE(?, url) WHERE status = 'failed' AND id IN (${marks(list)})`,
        args: [options.url ?? null, ...list],
      }));
      await this.client.batch([...statements, { sql: REPAIR_LINES, args: [nowMs] }], "write");
      return ids;
    });
  }

  settled(ids: readonly string[]): Promise<{ delivered: number; failed: number; pending: number }> {
    return this.guard("cannot read the webhook outbox", async () => {
      const counts = { delivered: ids.length, failed: 0, pending: 0 };
      for (const list of inLists(ids)) {
        const rows = await this.client.execute({
          sql: `SELECT status, COUNT(*) AS n FROM webhook_outbox WHERE id IN (${marks(list)}) GROUP BY status`,
          args: [...list],
        });
        for (const row of rows.rows) {
          const n = Number(row.n);
          counts.delivered -= n;
          if (row.status === "failed") counts.failed += n;
          else counts.pending += n;
        }
      }
      return counts;
    });
  }

  pendingCount(selection: DeliverySelection = {}): Promise<number> {
    const where = selectionSql(selection);
    return this.guard("cannot read the webhook outbox", async () => {
      const rows = await this.client.execute({
        sql: `SELECT COUNT(*) AS n FROM webhook_outbox WHERE status = 'pending' ${where.sql}`,
        args: where.args,
      });
      return Number(rows.rows[0]?.n ?? 0);
    });
  }

  checkpointFloor(scope: OutboxScope): Promise<string | null | undefined> {
    return this.guard("cannot read the webhook outbox", async () => {
      const rows = await this.client.execute({
        sql: `SELECT COUNT(*) AS n, MIN(floor) AS low, SUM(floor IS NULL) AS unfloored FROM webhook_outbox
              WHERE scope = ? AND status = 'pending' AND replayed = 0`,
        args: [scopeKey(scope)],
      });
      const row = rows.rows[0];
      if (!row || Number(row.n) === 0) return undefined;
      return Number(row.unfloored) > 0 ? null : String(row.low);
    });
  }

  nextDueAt(selection: DeliverySelection): Promise<number | undefined> {
    const where = selectionSql(selection);
    return this.guard("cannot read the webhook outbox", async () => {
      const rows = await this.client.execute({
        sql: `SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE status = 'pending' ${where.sql}`,
        args: where.args,
      });
      const at = rows.rows[0]?.at;
      return at === null || at === undefined || Number(at) >= WAITING_IN_LINE ? undefined : Number(at);
    });
  }

  /** Settles a delivery and makes the next of its contact due, in one transaction. */
  private settle(id: string, statement: InStatement, nowMs: number): Promise<void> {
    return this.guard("cannot update the webhook outbox", async () => {
      const rows = await this.client.execute({ sql: "SELECT scope, contact_id FROM webhook_outbox WHERE id = ?", args: [id] });
      const row = rows.rows[0];
      if (!row) return;
      const line = [row.scope ?? null, row.contact_id ?? null];
      await this.client.batch([statement, { sql: NEXT_IN_LINE, args: [nowMs, ...line, ...line] }], "write");
    });
  }

  private async run(what: string, statement: InStatement): Promise<void> {
    await this.guard(what, () => this.client.execute(statement));
  }

  private async guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.serial.run(work);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StateError(`${what} in the state store ${this.safeUrl}: ${reason}`, { cause: error });
    }
  }

  /** Heals lines left without a next delivery (a crash between writes of an older version). */
  repairLines(nowMs: number): Promise<void> {
    return this.run("cannot update the webhook outbox", { sql: REPAIR_LINES, args: [nowMs] });
  }
}

function inLists<T>(items: readonly T[]): T[][] {
  const lists: T[][] = [];
  for (let i = 0; i < items.length; i += IN_LIST) lists.push(items.slice(i, i + IN_LIST));
  return lists;
}

function marks(items: readonly unknown[]): string {
  return items.map(() => "?").join(", ");
}

function selectionSql(selection: DeliverySelection): { sql: string; args: InValue[] } {
  let sql = "";
  const args: InValue[] = [];
  if (selection.scope) {
    sql += " AND scope = ?";
    args.push(scopeKey(selection.scope));
  }
  if (selection.replayed !== undefined) sql += ` AND replayed = ${selection.replayed ? 1 : 0}`;
  if (selection.campaigns) {
    sql += selection.campaigns.length > 0 ? ` AND scope IN (${marks(selection.campaigns)})` : " AND 0";
    args.push(...selection.campaigns.map((campaign) => scopeKey({ campaign })));
  }
  if (selection.signed !== undefined) sql += ` AND signed = ${selection.signed ? 1 : 0}`;
  return { sql, args };
}

/** The condition that a claim with this lease still holds. */
function leaseSql(lease: number | undefined): { sql: string; args: InValue[] } {
  return lease === undefined ? { sql: "", args: [] } : { sql: " AND next_attempt_at = ?", args: [lease] };
}

function failedSql(filter: FailedFilter): { sql: string; args: InValue[] } {
  let sql = "";
  const args: InValue[] = [];
  if (filter.campaign !== undefined) {
    sql += " AND campaign = ?";
    args.push(filter.campaign);
  }
  if (filter.since) {
    sql += " AND failed_at >= ?";
    args.push(filter.since.toISOString());
  }
  if (filter.ids) {
    sql += filter.ids.length > 0 ? ` AND id IN (${marks(filter.ids)})` : " AND 0";
    args.push(...filter.ids);
  }
  return { sql, args };
}

function toEntry(row: Row): OutboxEntry {
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
