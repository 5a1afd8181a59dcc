// Picks the dialect for a target URL. Only the scheme decides; each dialect parses the rest itself.
import { TargetError, type Dialect } from "../core/dialect.ts";
import { createLibsqlDialect } from "./libsql.ts";

const ACCEPTED_FORMS =
  "use file:PATH, a path ending in .db/.sqlite/.sqlite3, :memory:, libsql://HOST?authToken=TOKEN or http(s)://HOST";

const LIBSQL_SCHEMES = new Set(["file", "libsql", "http", "https"]);
const PLANNED_SCHEMES = new Set(["postgres", "postgresql", "mysql", "sqlserver"]);

export async function openDialect(url: string): Promise<Dialect> {
  const trimmed = url.trim();
  if (trimmed === "") throw new TargetError(`no database URL given; ${ACCEPTED_FORMS}`);
  if (trimmed === ":memory:") return createLibsqlDialect(trimmed);

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && LIBSQL_SCHEMES.has(scheme)) return createLibsqlDialect(trimmed);
  if (scheme !== undefined && PLANNED_SCHEMES.has(scheme)) {
    throw new TargetError(`${scheme}: databases are not supported yet; ${ACCEPTED_FORMS}`);
  }
  if (isBareDatabasePath(trimmed)) return createLibsqlDialect(fileUrl(trimmed));
  // Only the scheme is shown: whatever follows it may hold a password.
  const shown = scheme !== undefined ? `${scheme}:…` : trimmed;
  throw new TargetError(`"${shown}" is not a database URL dbsync knows; ${ACCEPTED_FORMS}`);
}

/** A path like `data/sync.db` or `C:\sync\calls.sqlite` (a drive letter looks like a scheme). */
function isBareDatabasePath(text: string): boolean {
  return /\.(db|sqlite|sqlite3)$/i.test(text) && !/^[a-z][a-z0-9+.-]+:\/\//i.test(text);
}

/** libSQL percent-decodes `file:` paths and cuts them at `?`/`#`, so those characters are escaped. */
function fileUrl(path: string): string {
  return `file:${path.replace(/[%?#]/g, (c) => encodeURIComponent(c))}`;
}
