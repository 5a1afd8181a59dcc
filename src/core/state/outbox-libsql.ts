// The webhook outbox in the libSQL state store (see outbox.ts for what each operation promises): the
// operations, each one statement or one write; the tables and the waiting in line in
// outbox-libsql-schema.ts, recording new deliveries in outbox-libsql-enqueue.ts.
import type { Client, ResultSet } from "@libsql/client";
import {
  type DeliverySelection,
  type EnqueueResult,
  type FailedFilter,
  type OutboxCandidate,
  type OutboxEntry,
  type OutboxScope,
  type ReviveOptions,
  scopeKey,
  type WebhookOutbox,
} from "../webhook/outbox.ts";
import type { Serial } from "../common/serial.ts";
import type { CheckpointLimit } from "../sync/sink.ts";
import { raw, type SqlFragment, sql, values } from "../sql/template.ts";
import { recordDeliveries } from "./outbox-libsql-enqueue.ts";
import { nextInLine, repairLines, SUPERSEDED, WAITING_IN_LINE, WAITING_IN_LINE_SQL } from "./outbox-libsql-schema.ts";
import { failedSql, inLists, leaseSql, selectionSql, statement, toEntry } from "./outbox-libsql-sql.ts";
import { StateError } from "./state.ts";

const UPDATE_FAILED = "cannot update the webhook outbox";
const READ_FAILED = "cannot read the webhook outbox";

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
    if (candidates.length === 0 && contacts.length === 0) return { new: 0, updated: 0, skipped: 0 };
    const createdAt = new Date().toISOString();
    return this.guard("cannot record webhook deliveries", async () => {
      const tx = await this.client.transaction("write");
      try {
        const result = await recordDeliveries(tx, scope, candidates, contacts, { ...options, createdAt });
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
        const rows = await this.execute(
          sql`SELECT contact_id, md5 FROM webhook_contacts WHERE scope = ${scopeKey(scope)} AND contact_id IN (${values(list)})`,
        );
        for (const row of rows.rows) known.set(String(row.contact_id), row.md5 === null ? null : String(row.md5));
      }
      return known;
    });
  }

  forgetContacts(scope: OutboxScope): Promise<void> {
    return this.run("cannot update contact hashes", sql`DELETE FROM webhook_contacts WHERE scope = ${scopeKey(scope)}`);
  }

  retarget(scope: OutboxScope, url: string): Promise<number> {
    return this.guard(UPDATE_FAILED, async () => {
      const result = await this.execute(
        sql`UPDATE webhook_outbox SET url = ${url}
            WHERE scope = ${scopeKey(scope)} AND status = 'pending' AND replayed = 0 AND url <> ${url}`,
      );
      return result.rowsAffected;
    });
  }

  due(selection: DeliverySelection, nowMs: number, limit: number): Promise<OutboxEntry[]> {
    return this.guard(READ_FAILED, async () => {
      const rows = await this.execute(sql`SELECT * FROM webhook_outbox
              WHERE status = 'pending' AND next_attempt_at <= ${nowMs} ${selectionSql(selection)}
              ORDER BY next_attempt_at LIMIT ${limit}`);
      return rows.rows.map((row) => toEntry(row));
    });
  }

  claim(id: string, nowMs: number, leaseUntilMs: number): Promise<boolean> {
    return this.guard(UPDATE_FAILED, async () => {
      const result = await this.execute(
        sql`UPDATE webhook_outbox SET next_attempt_at = ${leaseUntilMs}
            WHERE id = ${id} AND status = 'pending' AND next_attempt_at <= ${nowMs}`,
      );
      return result.rowsAffected === 1;
    });
  }

  delivered(id: string, nowMs: number, lease?: number): Promise<void> {
    return this.settle(id, sql`DELETE FROM webhook_outbox WHERE id = ${id}${leaseSql(lease)}`, nowMs);
  }

  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string, lease?: number): Promise<void> {
    return this.run(
      UPDATE_FAILED,
      sql`UPDATE webhook_outbox SET attempts = ${attempts}, next_attempt_at = ${nextAttemptAt}, last_error = ${error}
          WHERE id = ${id} AND status = 'pending'${leaseSql(lease)}`,
    );
  }

  release(id: string, nowMs: number, lease?: number): Promise<void> {
    return this.run(
      UPDATE_FAILED,
      sql`UPDATE webhook_outbox SET next_attempt_at = ${nowMs} WHERE id = ${id} AND status = 'pending'${leaseSql(lease)}`,
    );
  }

  deadLetter(id: string, attempts: number, error: string, at: Date, lease?: number): Promise<void> {
    return this.settle(
      id,
      sql`UPDATE webhook_outbox SET status = 'failed', attempts = ${attempts}, last_error = ${error}, failed_at = ${at.toISOString()}
          WHERE id = ${id} AND status = 'pending'${leaseSql(lease)}`,
      at.getTime(),
    );
  }

  failed(filter: FailedFilter): Promise<OutboxEntry[]> {
    return this.guard("cannot read the dead-letter list", async () => {
      const rows = await this.execute(
        sql`SELECT *, ${SUPERSEDED} AS superseded FROM webhook_outbox WHERE status = 'failed' ${failedSql(filter)} ORDER BY seq`,
      );
      return rows.rows.map((row) => toEntry(row));
    });
  }

  revive(filter: FailedFilter, nowMs: number, options: ReviveOptions = {}): Promise<string[]> {
    return this.guard("cannot put dead letters back in line", async () => {
      // Chosen first, then changed: whether one is superseded depends on the others' status.
      const notSuperseded = options.includeSuperseded ? raw("") : sql`AND NOT ${SUPERSEDED}`;
      const chosen = await this.execute(sql`SELECT id FROM webhook_outbox WHERE status = 'failed' ${failedSql(filter)} ${notSuperseded}`);
      const ids = chosen.rows.map((row) => String(row.id));
      // Dead letters were already past the checkpoint; sending them again must not hold it back.
      const statements = inLists(ids).map(
        (list) => sql`UPDATE webhook_outbox
                SET status = 'pending', attempts = 0, next_attempt_at = ${WAITING_IN_LINE_SQL}, failed_at = NULL, replayed = 1,
                    url = COALESCE(${options.url ?? null}, url)
                WHERE status = 'failed' AND id IN (${values(list)})`,
      );
      await this.client.batch([...statements, repairLines(nowMs)].map(statement), "write");
      return ids;
    });
  }

  settled(ids: readonly string[]): Promise<{ delivered: number; failed: number; pending: number }> {
    return this.guard(READ_FAILED, async () => {
      const counts = { delivered: ids.length, failed: 0, pending: 0 };
      for (const list of inLists(ids)) {
        const rows = await this.execute(
          sql`SELECT status, COUNT(*) AS n FROM webhook_outbox WHERE id IN (${values(list)}) GROUP BY status`,
        );
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
    return this.guard(READ_FAILED, async () => {
      const rows = await this.execute(sql`SELECT COUNT(*) AS n FROM webhook_outbox WHERE status = 'pending' ${selectionSql(selection)}`);
      return Number(rows.rows[0]?.n ?? 0);
    });
  }

  checkpointLimit(scope: OutboxScope): Promise<CheckpointLimit> {
    return this.guard(READ_FAILED, async () => {
      const rows = await this.execute(sql`SELECT COUNT(*) AS n, MIN(floor) AS low, SUM(floor IS NULL) AS unfloored FROM webhook_outbox
              WHERE scope = ${scopeKey(scope)} AND status = 'pending' AND replayed = 0`);
      const row = rows.rows[0];
      if (!row || Number(row.n) === 0) return { kind: "unlimited" };
      return Number(row.unfloored) > 0 ? { kind: "frozen" } : { kind: "atMost", checkpoint: String(row.low) };
    });
  }

  nextDueAt(selection: DeliverySelection): Promise<number | undefined> {
    return this.guard(READ_FAILED, async () => {
      const rows = await this.execute(
        sql`SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE status = 'pending' ${selectionSql(selection)}`,
      );
      const at = rows.rows[0]?.at;
      return at === null || at === undefined || Number(at) >= WAITING_IN_LINE ? undefined : Number(at);
    });
  }

  /** Heals lines left without a next delivery (a crash between writes of an older version). */
  repairLines(nowMs: number): Promise<void> {
    return this.run(UPDATE_FAILED, repairLines(nowMs));
  }

  /** Settles a delivery and makes the next of its contact due, in one transaction. */
  private settle(id: string, change: SqlFragment, nowMs: number): Promise<void> {
    return this.guard(UPDATE_FAILED, async () => {
      const rows = await this.execute(sql`SELECT scope, contact_id FROM webhook_outbox WHERE id = ${id}`);
      const row = rows.rows[0];
      if (!row) return;
      const next = nextInLine(String(row.scope), String(row.contact_id), nowMs);
      await this.client.batch([statement(change), statement(next)], "write");
    });
  }

  private execute(fragment: SqlFragment): Promise<ResultSet> {
    return this.client.execute(statement(fragment));
  }

  private async run(what: string, fragment: SqlFragment): Promise<void> {
    await this.guard(what, () => this.execute(fragment));
  }

  private async guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.serial.run(work);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StateError(`${what} in the state store ${this.safeUrl}: ${reason}`, { cause: error });
    }
  }
}
