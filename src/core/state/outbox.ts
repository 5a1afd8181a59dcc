// The webhook outbox in the state store, on every database family (see webhook/outbox.ts for what each
// operation promises): each operation one statement or one transaction. Every write that moves a
// campaign's progress or changes what will be delivered is a `db.write`, so that a fenced database
// checks the campaign's lease first; only a claim is a lone statement (a delivery sent twice by a
// replica that lost its lease carries the same webhook-id, which the receiver drops). The waiting in
// line is in outbox-line.ts, recording new deliveries in outbox-enqueue.ts.
import { type Column, type SQL, sql } from "drizzle-orm";
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
import type { CheckpointLimit } from "../sync/sink.ts";
import type { StateDb, StateQueries } from "./db.ts";
import { LeaseLostError } from "./leases.ts";
import { recordDeliveries } from "./outbox-enqueue.ts";
import { isDueTime, lockLine, nextInLine, repairLinesSql, supersededSql, WAITING_IN_LINE } from "./outbox-line.ts";
import { bare, failedSql, inLists, leaseSql, literal, lockRows, selectionSql, tablesOf, toEntry } from "./outbox-sql.ts";
import { StateError } from "./state.ts";

const UPDATE_FAILED = "cannot update the webhook outbox";
const READ_FAILED = "cannot read the webhook outbox";

export function createOutbox(db: StateDb): WebhookOutbox {
  const o = tablesOf(db.family).webhookOutbox;
  const contacts = tablesOf(db.family).webhookContacts;
  const set = (assignments: [Column, unknown][]) =>
    sql.join(
      assignments.map(([column, value]) => sql`${bare(column)} = ${value}`),
      sql`, `,
    );

  /** Runs `work`, naming the store and the step in any failure; a lost lease stays what it is. */
  async function guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      // The database's own errors name its URL already.
      const where = reason.includes(db.safeUrl) ? "" : ` ${db.safeUrl}`;
      throw new StateError(`${what} in the state store${where}: ${reason}`, { cause: error });
    }
  }

  /** One transaction (begun again by the database seam after a deadlock). */
  function transaction<T>(what: string, work: (tx: StateQueries) => Promise<T>): Promise<T> {
    return guard(what, () => db.write(work));
  }

  const read = (what: string, query: SQL) => guard(what, () => db.all(query));
  const write = (what: string, query: SQL) => transaction(what, (tx) => tx.run(query));

  /** Settles a delivery and makes the next of its contact due, in one transaction. */
  const settle = (id: string, change: SQL, nowMs: number) =>
    transaction(UPDATE_FAILED, async (tx) => {
      const [row] = await tx.all(sql`SELECT ${o.scope} AS scope, ${o.contactId} AS contact_id FROM ${o} WHERE ${o.id} = ${id}`);
      if (row === undefined) return;
      await lockLine(tx, String(row.scope), String(row.contact_id));
      await tx.run(change);
      await nextInLine(tx, String(row.scope), String(row.contact_id), nowMs);
    });

  const countPending = async (on: StateQueries, where: SQL) => {
    const [row] = await on.all(sql`SELECT COUNT(*) AS n FROM ${o} WHERE ${o.status} = 'pending'${where}`);
    return Number(row?.n ?? 0);
  };

  return {
    enqueue(
      scope: OutboxScope,
      candidates: readonly OutboxCandidate[],
      known: readonly { id: string; md5: string }[],
      options: { url: string; floor: string | undefined; signed: boolean },
    ): Promise<EnqueueResult> {
      if (candidates.length === 0 && known.length === 0) return Promise.resolve({ new: 0, updated: 0, skipped: 0 });
      const createdAt = new Date().toISOString();
      return transaction("cannot record webhook deliveries", (tx) =>
        recordDeliveries(tx, scope, candidates, known, { ...options, createdAt }),
      );
    },

    knownContactMd5(scope: OutboxScope, ids: readonly string[]): Promise<Map<string, string | null>> {
      return guard("cannot read contact hashes", async () => {
        const found = new Map<string, string | null>();
        for (const list of inLists(ids)) {
          const rows = await db.all(
            sql`SELECT ${contacts.contactId} AS contact_id, ${contacts.md5} AS md5 FROM ${contacts}
                WHERE ${contacts.scope} = ${scopeKey(scope)} AND ${contacts.contactId} IN ${list}`,
          );
          for (const row of rows) found.set(String(row.contact_id), row.md5 === null ? null : String(row.md5));
        }
        return found;
      });
    },

    forgetContacts(scope: OutboxScope): Promise<void> {
      return write("cannot update contact hashes", sql`DELETE FROM ${contacts} WHERE ${contacts.scope} = ${scopeKey(scope)}`);
    },

    retarget(scope: OutboxScope, url: string): Promise<number> {
      const moving = sql` AND ${o.scope} = ${scopeKey(scope)} AND ${o.replayed} = 0 AND ${o.url} <> ${url}`;
      return transaction(UPDATE_FAILED, async (tx) => {
        // Counted in the transaction that moves them, as they are now (locked: MySQL's plain
        // reads would see the transaction's first snapshot).
        const ids = await tx.all(sql`SELECT ${o.id} AS id FROM ${o} WHERE ${o.status} = 'pending'${moving}${lockRows(tx.family)}`);
        if (ids.length > 0) await tx.run(sql`UPDATE ${o} SET ${set([[o.url, url]])} WHERE ${o.status} = 'pending'${moving}`);
        const moved = ids.length;
        return moved;
      });
    },

    async due(selection: DeliverySelection, nowMs: number, limit: number): Promise<OutboxEntry[]> {
      const rows = await read(
        READ_FAILED,
        sql`SELECT * FROM ${o} WHERE ${o.status} = 'pending' AND ${o.nextAttemptAt} <= ${nowMs}${selectionSql(o, selection)}
            ORDER BY ${o.nextAttemptAt} LIMIT ${literal(limit)}`,
      );
      return rows.map(toEntry);
    },

    async claim(id: string, nowMs: number, leaseUntilMs: number): Promise<boolean> {
      const claimed = await guard(UPDATE_FAILED, () =>
        db.runCounted(
          sql`UPDATE ${o} SET ${set([[o.nextAttemptAt, leaseUntilMs]])}
              WHERE ${o.id} = ${id} AND ${o.status} = 'pending' AND ${o.nextAttemptAt} <= ${nowMs}`,
        ),
      );
      return claimed === 1;
    },

    delivered(id: string, nowMs: number, lease?: number): Promise<void> {
      return settle(id, sql`DELETE FROM ${o} WHERE ${o.id} = ${id}${leaseSql(o, lease)}`, nowMs);
    },

    retryLater(id: string, attempts: number, nextAttemptAt: number, error: string, lease?: number): Promise<void> {
      return write(
        UPDATE_FAILED,
        sql`UPDATE ${o} SET ${set([
          [o.attempts, attempts],
          [o.nextAttemptAt, nextAttemptAt],
          [o.lastError, error],
        ])} WHERE ${o.id} = ${id} AND ${o.status} = 'pending'${leaseSql(o, lease)}`,
      );
    },

    release(id: string, nowMs: number, lease?: number): Promise<void> {
      return write(
        UPDATE_FAILED,
        sql`UPDATE ${o} SET ${set([[o.nextAttemptAt, nowMs]])} WHERE ${o.id} = ${id} AND ${o.status} = 'pending'${leaseSql(o, lease)}`,
      );
    },

    deadLetter(id: string, attempts: number, error: string, at: Date, lease?: number): Promise<void> {
      const change = sql`UPDATE ${o} SET ${set([
        [o.status, "failed"],
        [o.attempts, attempts],
        [o.lastError, error],
        [o.failedAt, at.toISOString()],
      ])} WHERE ${o.id} = ${id} AND ${o.status} = 'pending'${leaseSql(o, lease)}`;
      return settle(id, change, at.getTime());
    },

    async failed(filter: FailedFilter): Promise<OutboxEntry[]> {
      const rows = await read(
        "cannot read the dead-letter list",
        sql`SELECT *, ${supersededSql(db.family)} AS superseded FROM ${o} WHERE ${o.status} = 'failed'${failedSql(o, filter)} ORDER BY ${o.seq}`,
      );
      return rows.map(toEntry);
    },

    async failedCount(filter: FailedFilter): Promise<number> {
      const [row] = await read(
        "cannot count the dead letters",
        sql`SELECT COUNT(*) AS n FROM ${o} WHERE ${o.status} = 'failed'${failedSql(o, filter)}`,
      );
      return Number(row?.n ?? 0);
    },

    revive(filter: FailedFilter, nowMs: number, options: ReviveOptions = {}): Promise<string[]> {
      const notSuperseded = options.includeSuperseded ? sql.empty() : sql` AND ${supersededSql(db.family)} = 0`;
      return transaction("cannot put dead letters back in line", async (tx) => {
        // Chosen first, then changed: whether one is superseded depends on the others' status.
        const chosen = await tx.all(
          sql`SELECT ${o.id} AS id FROM ${o} WHERE ${o.status} = 'failed'${failedSql(o, filter)}${notSuperseded}`,
        );
        const ids = chosen.map((row) => String(row.id));
        // Dead letters were already past the checkpoint; sending them again must not hold it back.
        const revived = set([
          [o.status, "pending"],
          [o.attempts, 0],
          [o.nextAttemptAt, WAITING_IN_LINE],
          [o.failedAt, null],
          [o.replayed, 1],
        ]);
        const url = options.url === undefined ? sql.empty() : sql`, ${bare(o.url)} = ${options.url}`;
        for (const list of inLists(ids)) {
          await tx.run(sql`UPDATE ${o} SET ${revived}${url} WHERE ${o.status} = 'failed' AND ${o.id} IN ${list}`);
        }
        if (ids.length > 0) await tx.run(repairLinesSql(o, nowMs));
        return ids;
      });
    },

    settled(ids: readonly string[]): Promise<{ delivered: number; failed: number; pending: number }> {
      return guard(READ_FAILED, async () => {
        const counts = { delivered: ids.length, failed: 0, pending: 0 };
        for (const list of inLists(ids)) {
          const rows = await db.all(
            sql`SELECT ${o.status} AS status, COUNT(*) AS n FROM ${o} WHERE ${o.id} IN ${list} GROUP BY ${o.status}`,
          );
          for (const row of rows) {
            const n = Number(row.n);
            counts.delivered -= n;
            if (row.status === "failed") counts.failed += n;
            else counts.pending += n;
          }
        }
        return counts;
      });
    },

    pendingCount(selection: DeliverySelection = {}): Promise<number> {
      return guard(READ_FAILED, () => countPending(db, selectionSql(o, selection)));
    },

    async checkpointLimit(scope: OutboxScope): Promise<CheckpointLimit> {
      const [row] = await read(
        READ_FAILED,
        sql`SELECT COUNT(*) AS n, MIN(${o.floor}) AS low, COUNT(${o.floor}) AS floored FROM ${o}
            WHERE ${o.scope} = ${scopeKey(scope)} AND ${o.status} = 'pending' AND ${o.replayed} = 0`,
      );
      if (!row || Number(row.n) === 0) return { kind: "unlimited" };
      return Number(row.floored) < Number(row.n) ? { kind: "frozen" } : { kind: "atMost", checkpoint: String(row.low) };
    },

    async nextDueAt(selection: DeliverySelection): Promise<number | undefined> {
      const [row] = await read(
        READ_FAILED,
        sql`SELECT MIN(${o.nextAttemptAt}) AS at FROM ${o} WHERE ${o.status} = 'pending'${selectionSql(o, selection)}`,
      );
      const at = row?.at;
      return at === null || at === undefined || !isDueTime(Number(at)) ? undefined : Number(at);
    },

    /** Heals lines left without a next delivery (a crash between writes of an older version). */
    repairLines(nowMs: number): Promise<void> {
      return write(UPDATE_FAILED, repairLinesSql(o, nowMs));
    },
  };
}
