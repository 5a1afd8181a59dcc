// Opening a store gives it the tables this dbsync works with, whatever made it: a new database gets
// them all; a state file of the versions before the version row (checkpoints, the outbox, tokens)
// gets the tables it lacks and keeps every row; a store made by a newer dbsync is refused rather
// than written with statements that no longer fit it. The version row says what is there, so a later
// change of the tables can be made in place, once.
import { sql } from "drizzle-orm";
import type { StateDb, StateFamily, StateQueries } from "./db.ts";
import { createStatements } from "./schema/ddl.ts";
import { upsertSql } from "./statements.ts";
import { StateError } from "./state.ts";

/** The version of the tables in schema/: raise it with every change of them, and add its step below. */
export const SCHEMA_VERSION = 1;

/**
 * The change from the version before to each version, after the missing tables were created. For
 * version 1 there is none: its tables beside those of the earlier files are all new.
 */
const STEPS: Record<number, (tx: StateQueries, family: StateFamily) => Promise<void>> = {};

/** Any number, fixed: the lock on PostgreSQL that lets one opener at a time create the tables. */
const CREATE_LOCK = 815_015_001;

export async function prepareStateTables(db: StateDb): Promise<void> {
  const collation = db.family === "mysql" ? await binaryCollation(db) : undefined;
  const [versionTable = "", ...tables] = createStatements(db.family, collation);
  const { stateSchema } = db.tables;
  // One transaction: a store that can be read but not written fails here, not at its first checkpoint.
  await db.write(async (tx) => {
    // Two PostgreSQL sessions creating one table at once: one of them fails instead of waiting.
    if (db.family === "postgres") await tx.all(sql`SELECT pg_advisory_xact_lock(${CREATE_LOCK})`);
    await tx.run(sql.raw(versionTable));
    const [row] = await tx.all<{ version: unknown }>(
      sql`SELECT ${stateSchema.version} AS version FROM ${stateSchema} WHERE ${stateSchema.id} = 1`,
    );
    const found = row === undefined ? 0 : Number(row.version);
    if (found > SCHEMA_VERSION) {
      throw new StateError(
        `the state store ${db.safeUrl} was made by a newer dbsync (its tables are version ${found}, this dbsync knows up to ${SCHEMA_VERSION}); update dbsync`,
      );
    }
    for (const statement of tables) await tx.run(sql.raw(statement));
    if (found === SCHEMA_VERSION) return;
    for (let version = found + 1; version <= SCHEMA_VERSION; version++) await STEPS[version]?.(tx, db.family);
    const versionRow = [
      [stateSchema.id, 1],
      [stateSchema.version, SCHEMA_VERSION],
    ] as const;
    await tx.run(upsertSql(db.family, stateSchema, versionRow, [stateSchema.id], { replace: [stateSchema.version] }));
  });
}

/**
 * The collation of MySQL's tables: binary, so ids compare byte for byte, and without padding where
 * the server has one, so "a" and "a " are two keys (utf8mb4_bin pads on every version).
 */
async function binaryCollation(db: StateDb): Promise<string> {
  const rows = await db.all<{ name: string }>(
    sql`SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')`,
  );
  const names = rows.map((row) => row.name);
  return names.find((name) => name === "utf8mb4_0900_bin") ?? names[0] ?? "utf8mb4_bin";
}
