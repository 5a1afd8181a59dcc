// The campaigns' status and rows per minute (status.ts) in the state store's database, the same
// statements on every family. A campaign's state is written in a transaction a fenced database checks:
// a replica that lost the campaign (woken from a stall, say) must not report over its new owner.
// The rows per minute are only added up, so whoever wrote them counts.
import { inArray, sql } from "drizzle-orm";
import type { StateDb } from "./db.ts";
import { insertIfMissingSql, selectList, upsertSql, withNumbers } from "./statements.ts";
import type { CampaignStatusRecord, StatusStore } from "./status.ts";
import { stateOperation } from "./state.ts";

/** How long the rows per minute are kept. */
const ACTIVITY_KEPT_MS = 86_400_000;
const MINUTE_MS = 60_000;

export function createStatusStore(db: StateDb): StatusStore {
  const { campaignStatus: status, campaignActivity: activity, campaignPauses: pauses } = db.tables;
  return {
    report: (record) =>
      stateOperation(`cannot record the status of ${record.name}`, async () => {
        const row = [
          [status.name, record.name],
          [status.campaign, record.campaign],
          [status.mode, record.mode],
          [status.owner, record.owner],
          [status.state, record.state],
          [status.lastError, record.lastError],
          [status.settings, record.settings],
          [status.since, record.since],
          [status.updatedAt, record.updatedAt],
        ] as const;
        const replace = row.slice(1).map(([column]) => column);
        await db.write((tx) => tx.run(upsertSql(db.family, status, row, [status.name], { replace })));
      }),

    list: () =>
      stateOperation("cannot read the campaigns' status", async () => {
        const { name, campaign, mode, owner, state, lastError, settings, since, updatedAt } = status;
        const columns = selectList({ name, campaign, mode, owner, state, lastError, settings, since, updatedAt });
        const rows = await db.all<CampaignStatusRecord>(sql`SELECT ${columns} FROM ${status} ORDER BY ${status.name}`);
        return rows.map((row) => withNumbers(row, ["since", "updatedAt"]));
      }),

    addRows: (name, minute, rows) =>
      stateOperation(`cannot record the rows written by ${name}`, () =>
        db.write(async (tx) => {
          const row = [
            [activity.name, name],
            [activity.minute, minute],
            [activity.rowsWritten, rows],
          ] as const;
          await tx.run(upsertSql(db.family, activity, row, [activity.name, activity.minute], { add: [activity.rowsWritten] }));
          // Its own rows only: replicas pruning all at once deadlocked on MariaDB's range locks.
          await tx.run(sql`DELETE FROM ${activity} WHERE ${activity.name} = ${name} AND ${activity.minute} < ${minute - ACTIVITY_KEPT_MS}`);
        }),
      ),

    rowsSince: (sinceMs) =>
      stateOperation("cannot read the rows written", async () => {
        // Every minute that ends after `sinceMs`.
        const rows = await db.all<{ name: string; total: unknown }>(
          sql`SELECT ${activity.name} AS name, SUM(${activity.rowsWritten}) AS total FROM ${activity}
              WHERE ${activity.minute} > ${sinceMs - MINUTE_MS} GROUP BY ${activity.name}`,
        );
        return new Map(rows.map((row) => [String(row.name), Number(row.total)]));
      }),

    pause: (names) =>
      stateOperation("cannot pause campaigns", () =>
        db.write(async (tx) => {
          for (const name of names) {
            const row = [
              [pauses.name, name],
              [pauses.pausedAt, Date.now()],
            ] as const;
            await tx.run(insertIfMissingSql(db.family, pauses, row, [pauses.name]));
          }
        }),
      ),

    resume: (names) =>
      stateOperation("cannot resume campaigns", async () => {
        if (names.length === 0) return;
        await db.write((tx) => tx.run(sql`DELETE FROM ${pauses} WHERE ${inArray(pauses.name, [...names])}`));
      }),

    paused: () =>
      stateOperation("cannot read the paused campaigns", async () => {
        const rows = await db.all<{ name: string }>(sql`SELECT ${pauses.name} AS name FROM ${pauses}`);
        return new Set(rows.map((row) => String(row.name)));
      }),
  };
}
