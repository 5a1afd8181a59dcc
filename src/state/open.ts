// Opening the state store by its URL: the scheme picks the database family (libSQL file or server,
// PostgreSQL, MySQL/MariaDB), the target dialects' connections reach it (every URL form, TLS,
// reconnects, errors in words), and the tables are created or brought up to date before the store
// is handed out. Node side: the portable core (src/core/state) never opens anything itself.
import type { StateFamily } from "../core/state/db.ts";
import { prepareStateTables } from "../core/state/migrate.ts";
import { sessionStateDb } from "../core/state/session-db.ts";
import { StateError, type StateStore } from "../core/state/state.ts";
import { createOutbox } from "../core/state/outbox.ts";
import { unreadableUrlShown } from "../core/sql/server-url.ts";
import { createStateStore } from "../core/state/store.ts";
import { openDialect } from "../dialects/index.ts";

export const STATE_URL_FORMS =
  "use a libSQL file (file:PATH), a libSQL server (libsql://HOST or http(s)://HOST), PostgreSQL (postgres://…) or MySQL/MariaDB (mysql://…)";

const FAMILIES: Record<string, StateFamily> = {
  file: "sqlite",
  libsql: "sqlite",
  http: "sqlite",
  https: "sqlite",
  postgres: "postgres",
  postgresql: "postgres",
  mysql: "mysql",
  mariadb: "mysql",
};

/** The family of the database a state store URL names; a StateError in one line when it names none. */
export function stateFamilyOf(url: string): StateFamily {
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  const family = scheme === undefined ? undefined : FAMILIES[scheme];
  if (family) return family;
  // A path (`state.db`, `C:\dbsync\state.db`) or `:memory:`: a local libSQL database.
  if (trimmed === ":memory:" || (trimmed !== "" && !trimmed.includes("://"))) return "sqlite";
  if (scheme === "sqlserver" || scheme === "mssql")
    throw new StateError(`SQL Server is not supported for the state store; ${STATE_URL_FORMS}`);
  throw new StateError(`${unreadableUrlShown(trimmed)} is not a state store URL; ${STATE_URL_FORMS}`);
}

/**
 * With `readOnly`, the tables are taken as they are, neither created nor brought up to date: for
 * `dbsync status`, which a monitoring user without the right to create tables may run.
 */
export async function openStateStore(url: string, { readOnly = false }: { readOnly?: boolean } = {}): Promise<StateStore> {
  const family = stateFamilyOf(url);
  const session = await openDialect(url).catch((error: unknown) => {
    throw inStateTerms(error);
  });
  const db = sessionStateDb(session, family);
  try {
    if (!readOnly) await prepareStateTables(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw inStateTerms(error);
  }
  return createStateStore(db, createOutbox);
}

/** The dialects' errors already name the URL without its password and the reason in words. */
function inStateTerms(error: unknown): StateError {
  if (error instanceof StateError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StateError(`the state store: ${message}`, { cause: error });
}
