// The outbox of src/core/state/outbox.ts on a database of any family, opened through the target
// dialects as the state store opens it, with the checkpoints alongside on the same connection: what
// the outbox conformance suite needs of a state store.
import { and, eq, sql } from "drizzle-orm";
import type { Checkpoint, CheckpointKey } from "../../src/core/state/state.ts";
import type { StateDb, StateFamily } from "../../src/core/state/db.ts";
import type { Fence } from "../../src/core/state/leases.ts";
import { createOutbox } from "../../src/core/state/outbox.ts";
import { OUTBOX_DDL } from "../../src/core/state/outbox-ddl.ts";
import { insertRows, orUpdate, tablesOf } from "../../src/core/state/outbox-sql.ts";
import { sessionStateDb } from "../../src/core/state/session-db.ts";
import type { WebhookOutbox } from "../../src/core/webhook/outbox.ts";
import { openDialect } from "../../src/dialects/index.ts";

export interface OutboxStore {
  readonly db: StateDb;
  readonly outbox: WebhookOutbox;
  getCheckpoint(key: CheckpointKey): Promise<Checkpoint | undefined>;
  setCheckpoint(key: CheckpointKey, value: string): Promise<void>;
  /** The same store with its writes checking this lease. */
  fenced(fence: Fence): OutboxStore;
  close(): Promise<void>;
}

const CHECKPOINTS_DDL: Record<StateFamily, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS checkpoints (campaign TEXT NOT NULL, mode TEXT NOT NULL, target TEXT NOT NULL,
    value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (campaign, mode, target))`,
  postgres: `CREATE TABLE IF NOT EXISTS checkpoints (campaign TEXT NOT NULL, mode TEXT NOT NULL, target TEXT NOT NULL,
    value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (campaign, mode, target))`,
  mysql: `CREATE TABLE IF NOT EXISTS checkpoints (campaign VARCHAR(191) NOT NULL, mode VARCHAR(32) NOT NULL,
    target VARCHAR(512) NOT NULL, value VARCHAR(64) NOT NULL, updated_at VARCHAR(64) NOT NULL, PRIMARY KEY (campaign, mode, target))
    DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
};

const LEASES_DDL: Record<StateFamily, string> = {
  sqlite:
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, token INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
  postgres:
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, token BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
  mysql:
    "CREATE TABLE IF NOT EXISTS leases (name VARCHAR(700) PRIMARY KEY, owner VARCHAR(191) NOT NULL, token BIGINT NOT NULL, " +
    "expires_at BIGINT NOT NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
};

const FAMILIES: Record<string, StateFamily> = { sqlite: "sqlite", postgres: "postgres", mysql: "mysql" };

/** Opens `url` and creates the outbox's tables (and checkpoints and leases) unless they exist. */
export async function openOutboxStore(url: string): Promise<OutboxStore> {
  const dialect = await openDialect(url);
  const family = FAMILIES[dialect.kind];
  if (family === undefined) throw new Error(`no state store on ${dialect.kind}`);
  const db = sessionStateDb(dialect, family);
  for (const statement of [...OUTBOX_DDL[family], CHECKPOINTS_DDL[family], LEASES_DDL[family]]) await db.run(sql.raw(statement));
  return storeOn(db);
}

function storeOn(db: StateDb): OutboxStore {
  const { checkpoints } = tablesOf(db.family);
  return {
    db,
    outbox: createOutbox(db),
    async getCheckpoint(key) {
      const [row] = await db.all<Checkpoint>(
        sql`SELECT ${checkpoints.value} AS ${sql.identifier("value")}, ${checkpoints.updatedAt} AS ${sql.identifier("updatedAt")}
            FROM ${checkpoints} WHERE ${and(eq(checkpoints.campaign, key.campaign), eq(checkpoints.mode, key.mode), eq(checkpoints.target, key.target))}`,
      );
      return row;
    },
    async setCheckpoint(key, value) {
      const row = [key.campaign, key.mode, key.target, value, new Date().toISOString()];
      const columns = [checkpoints.campaign, checkpoints.mode, checkpoints.target, checkpoints.value, checkpoints.updatedAt];
      const keys = [checkpoints.campaign, checkpoints.mode, checkpoints.target];
      await db.write((tx) =>
        tx.run(sql`${insertRows(checkpoints, columns, [row])}${orUpdate(db.family, keys, [checkpoints.value, checkpoints.updatedAt])}`),
      );
    },
    fenced: (fence) => storeOn(db.fenced(fence)),
    close: () => db.close(),
  };
}
