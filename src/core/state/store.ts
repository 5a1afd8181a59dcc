// dbsync's own progress in a libSQL database (a local file by default), never in the target; each
// checkpoint saved at once, a failed save an error (the original saved a file once a minute and
// ignored write errors): checkpoints here, the webhook outbox in outbox-libsql.ts.
import { createClient, type Client } from "@libsql/client";
import { and, eq } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { libsqlReason, parseLibsqlUrl } from "../sql/libsql-url.ts";
import { LibsqlOutbox } from "./outbox-libsql.ts";
import { OUTBOX_DDL } from "./outbox-libsql-schema.ts";
import { Serial } from "../common/serial.ts";
import { LibsqlTokenStore, TOKENS_DDL } from "./tokens-libsql.ts";
import { StateError, type Checkpoint, type CheckpointKey, type StateStore } from "./state.ts";

const checkpoints = sqliteTable(
  "checkpoints",
  {
    campaign: text("campaign").notNull(),
    mode: text("mode").notNull(),
    target: text("target").notNull(),
    value: text("value").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.campaign, table.mode, table.target] })],
);

/** Kept in step with `checkpoints` above by hand: one table does not justify a migration tool. */
const CREATE_CHECKPOINTS = `CREATE TABLE IF NOT EXISTS checkpoints (
  campaign TEXT NOT NULL,
  mode TEXT NOT NULL,
  target TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (campaign, mode, target)
)`;

/** Another process (the server) may hold the write lock for a moment. */
const BUSY_TIMEOUT_MS = 10_000;

export async function openStateStore(url: string): Promise<StateStore> {
  const { clientUrl, authToken, safeUrl } = parseLibsqlUrl(url, (message) => new StateError(`the state store (--state): ${message}`));
  let client: Client | undefined;
  try {
    client = createClient({ url: clientUrl, authToken, timeout: BUSY_TIMEOUT_MS });
    if (/^file:/i.test(clientUrl) && !/^file::memory:/i.test(clientUrl)) {
      await client.execute("PRAGMA journal_mode=WAL");
    }
    // A write transaction, so a store that can be read but not written fails here and not later.
    await client.batch([CREATE_CHECKPOINTS, ...OUTBOX_DDL, TOKENS_DDL], "write");
  } catch (error) {
    client?.close();
    throw stateError(safeUrl, "cannot open the state store", error, clientUrl);
  }
  return new LibsqlStateStore(client, safeUrl);
}

class LibsqlStateStore implements StateStore {
  readonly #client: Client;
  readonly #db: LibSQLDatabase;
  readonly #safeUrl: string;
  readonly outbox: LibsqlOutbox;
  readonly tokens: LibsqlTokenStore;

  readonly #serial = new Serial();

  constructor(client: Client, safeUrl: string) {
    this.#client = client;
    this.#db = drizzle(client);
    this.#safeUrl = safeUrl;
    this.outbox = new LibsqlOutbox(client, safeUrl, this.#serial);
    this.tokens = new LibsqlTokenStore(client, safeUrl, this.#serial);
  }

  async listCheckpoints(): Promise<(CheckpointKey & Checkpoint)[]> {
    try {
      return await this.#serial.run(() => this.#db.select().from(checkpoints));
    } catch (error) {
      throw stateError(this.#safeUrl, "cannot read the checkpoints", error);
    }
  }

  async getCheckpoint(key: CheckpointKey): Promise<Checkpoint | undefined> {
    try {
      const [row] = await this.#serial.run(() =>
        this.#db
          .select({ value: checkpoints.value, updatedAt: checkpoints.updatedAt })
          .from(checkpoints)
          .where(and(eq(checkpoints.campaign, key.campaign), eq(checkpoints.mode, key.mode), eq(checkpoints.target, key.target))),
      );
      return row;
    } catch (error) {
      throw stateError(this.#safeUrl, "cannot read a checkpoint", error);
    }
  }

  async setCheckpoint(key: CheckpointKey, value: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    try {
      await this.#serial.run(() =>
        this.#db
          .insert(checkpoints)
          .values({ ...key, value, updatedAt })
          .onConflictDoUpdate({
            target: [checkpoints.campaign, checkpoints.mode, checkpoints.target],
            set: { value, updatedAt },
          }),
      );
    } catch (error) {
      throw stateError(this.#safeUrl, "cannot save a checkpoint", error);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.#serial.run(() => this.#client.execute("SELECT 1"));
    } catch (error) {
      throw stateError(this.#safeUrl, "no answer from the state store", error);
    }
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

function stateError(safeUrl: string, what: string, error: unknown, rawUrl = safeUrl): StateError {
  return new StateError(`${what} at ${safeUrl}: ${libsqlReason(error, rawUrl, safeUrl)}`, { cause: error });
}
