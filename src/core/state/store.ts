// dbsync's own progress in a database of its own (a local libSQL file by default, or a libSQL server,
// PostgreSQL or MySQL/MariaDB shared by replicas), never in the target. Each checkpoint is saved at
// once and a failed save is an error (the original saved a file once a minute and ignored write
// errors). The parts: checkpoints here, tokens, leases and status beside it, the outbox from the
// factory the opener gives; src/state/open.ts opens one by URL.
import { sql } from "drizzle-orm";
import type { WebhookOutbox } from "../webhook/outbox.ts";
import type { StateDb } from "./db.ts";
import { createLeaseStore } from "./lease-store.ts";
import type { Fence } from "./leases.ts";
import { selectList, upsertSql } from "./statements.ts";
import { type Checkpoint, type CheckpointKey, type StateStore, stateOperation } from "./state.ts";
import { createStatusStore } from "./status-store.ts";
import { createTokenStore } from "./token-store.ts";

/** The webhook outbox on a store's database; called again with the fenced database for a fenced store. */
export type OutboxFactory = (db: StateDb) => WebhookOutbox;

/** The store on a database whose tables are ready (migrate.ts). */
export function createStateStore(db: StateDb, outboxOf: OutboxFactory): StateStore {
  const shared = { tokens: createTokenStore(db), leases: createLeaseStore(db) };
  const storeOn = (on: StateDb, close: () => Promise<void>): StateStore => {
    const { checkpoints } = on.tables;
    const checkpoint = { value: checkpoints.value, updatedAt: checkpoints.updatedAt };
    const keyIs = (key: CheckpointKey) =>
      sql`${checkpoints.campaign} = ${key.campaign} AND ${checkpoints.mode} = ${key.mode} AND ${checkpoints.target} = ${key.target}`;
    return {
      ...shared,
      outbox: outboxOf(on),
      // Fenced too: a replica that lost a campaign must not report over what its new owner says.
      status: createStatusStore(on),

      listCheckpoints: () =>
        stateOperation("cannot read the checkpoints", async () => {
          const { campaign, mode, target } = checkpoints;
          return on.all(sql`SELECT ${selectList({ campaign, mode, target, ...checkpoint })} FROM ${checkpoints}`);
        }),

      getCheckpoint: (key) =>
        stateOperation("cannot read a checkpoint", async () => {
          const [row] = await on.all<Checkpoint>(sql`SELECT ${selectList(checkpoint)} FROM ${checkpoints} WHERE ${keyIs(key)}`);
          return row;
        }),

      setCheckpoint: (key, value) =>
        stateOperation("cannot save a checkpoint", async () => {
          const row = [
            [checkpoints.campaign, key.campaign],
            [checkpoints.mode, key.mode],
            [checkpoints.target, key.target],
            [checkpoints.value, value],
            [checkpoints.updatedAt, new Date().toISOString()],
          ] as const;
          const primaryKey = [checkpoints.campaign, checkpoints.mode, checkpoints.target];
          // A transaction, so that a fenced store checks its lease in it before the checkpoint moves.
          await on.write((tx) =>
            tx.run(upsertSql(on.family, checkpoints, row, primaryKey, { replace: [checkpoints.value, checkpoints.updatedAt] })),
          );
        }),

      fenced: (fence: Fence) => storeOn(db.fenced(fence), async () => {}),

      ping: () =>
        stateOperation("no answer from the state store", async () => {
          await on.all(sql`SELECT 1 AS one`);
        }),

      close,
    };
  };
  return storeOn(db, () => db.close());
}
