// Picks the dialect for a target URL. Only the scheme decides; each dialect parses the rest itself.
import { TargetError, type Dialect } from "../core/dialect.ts";
import { createLibsqlDialect } from "./libsql-node.ts";

const ACCEPTED_FORMS =
  "use file:PATH, a path ending in .db/.sqlite/.sqlite3, :memory:, libsql://HOST?authToken=TOKEN, http(s)://HOST, " +
  "postgres://USER:PASSWORD@HOST:5432/DATABASE, mysql://USER:PASSWORD@HOST:3306/DATABASE or " +
  "sqlserver://USER:PASSWORD@HOST:1433/[INSTANCE/]DATABASE";

const LIBSQL_SCHEMES = new Set(["file", "libsql", "http", "https"]);

/** Server dialects load their driver only when a URL asks for them. */
const SERVER_DIALECTS: Record<string, () => Promise<(url: string) => Promise<Dialect>>> = {
  postgres: async () => (await import("./postgres.ts")).createPostgresDialect,
  postgresql: async () => (await import("./postgres.ts")).createPostgresDialect,
  mysql: async () => (await import("./mysql.ts")).createMysqlDialect,
  mariadb: async () => (await import("./mysql.ts")).createMysqlDialect,
  sqlserver: async () => (await import("./mssql.ts")).createMssqlDialect,
  mssql: async () => (await import("./mssql.ts")).createMssqlDialect,
};

export async function openDialect(url: string): Promise<Dialect> {
  const trimmed = url.trim();
  if (trimmed === "") throw new TargetError(`no database URL given; ${ACCEPTED_FORMS}`);
  if (trimmed === ":memory:") return createLibsqlDialect(trimmed);

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && LIBSQL_SCHEMES.has(scheme)) return createLibsqlDialect(trimmed);
  const server = scheme === undefined ? undefined : SERVER_DIALECTS[scheme];
  if (server) return (await server())(trimmed);
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
