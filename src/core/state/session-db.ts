// The state store's database over a session of the target dialects (dialects/): their connections
// already read every URL form, speak TLS, survive a server's restart and name errors in words, so the
// state store gets all of it on every family. drizzle renders the statements; the session runs them.
import type { SQL } from "drizzle-orm";
import { MySqlDialect } from "drizzle-orm/mysql-core";
import { PgDialect } from "drizzle-orm/pg-core";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";
import type { SqlExecutor, SqlSession, SqlValue } from "../sql/dialect.ts";
import type { StateDb, StateFamily, StateQueries } from "./db.ts";
import { endedByConflict } from "./conflicts.ts";
import { tablesOf } from "./schema/index.ts";
import { lockRows } from "./statements.ts";
import { type Fence, LeaseLostError } from "./leases.ts";

type Renderer = { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };

const RENDERERS: Record<StateFamily, Renderer> = {
  sqlite: new SQLiteAsyncDialect(),
  postgres: new PgDialect(),
  mysql: new MySqlDialect(),
};

/** Each family's clock as epoch milliseconds. */
const NOW_MS: Record<StateFamily, SQL> = {
  // julianday() works on every SQLite version; unixepoch('subsec') only from 3.42.
  sqlite: sql`CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`,
  // clock_timestamp(), not now(): now() stands still for a whole transaction.
  postgres: sql`CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`,
  // From UTC on both sides: UNIX_TIMESTAMP(NOW()) reads a local time, twice the same in the hour a
  // time zone with daylight saving turns back.
  mysql: sql`TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000`,
};

/** Attempts of a transaction that the database keeps ending to break deadlocks. */
const CONFLICT_ATTEMPTS = 5;

export function sessionStateDb(session: SqlSession, family: StateFamily, fence?: Fence): StateDb {
  const renderer = RENDERERS[family];
  const render = (query: SQL): [string, SqlValue[]] => {
    const { sql: text, params } = renderer.sqlToQuery(query);
    return [text, params as SqlValue[]];
  };
  const queriesOn = (on: SqlExecutor): StateQueries => ({
    family,
    all: <T>(query: SQL) => on.all<T>(...render(query)),
    run: (query: SQL) => on.run(...render(query)),
  });
  return {
    ...queriesOn(session),
    safeUrl: session.safeUrl,
    tables: tablesOf(family),
    nowMs: NOW_MS[family],
    runCounted: (query) => session.runCounted(...render(query)),
    write: async (work) => {
      // Begun again when the database ended it to break a deadlock with another writer (MySQL's gap
      // locks make two replicas' writes collide now and then): rolled back whole, it changed nothing.
      for (let attempt = 1; ; attempt++) {
        try {
          return await session.transaction(async (tx) => {
            const queries = queriesOn(tx);
            if (fence) await checkFence(queries, fence);
            return work(queries);
          });
        } catch (error) {
          if (attempt >= CONFLICT_ATTEMPTS || !endedByConflict(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        }
      }
    },
    fenced: (next) => sessionStateDb(session, family, next),
    close: () => session.close(),
  };
}

async function checkFence(tx: StateQueries, fence: Fence): Promise<void> {
  const [row] = await tx.all<{ token: unknown }>(sql`SELECT token FROM leases WHERE name = ${fence.name}${lockRows(tx.family)}`);
  if (row === undefined || Number(row.token) !== fence.token) {
    throw new LeaseLostError(`the lease of ${fence.name} went to another replica; this one writes nothing more for it`);
  }
}
