// Picks the dialect for a target URL. Only the scheme decides; each dialect parses the rest itself.
import { type Dialect, TargetUrlError } from "../core/sql/dialect.ts";
import { unreadableUrlShown } from "../core/sql/server-url.ts";
import { checkLibsqlUrl, createLibsqlDialect, requireFolder } from "./sqlite/libsql-node.ts";

const ACCEPTED_FORMS =
  "use file:PATH, a path ending in .db/.sqlite/.sqlite3, :memory:, libsql://HOST or http(s)://HOST (a token as its authToken parameter), " +
  "postgres://USER:PASSWORD@HOST:5432/DATABASE, mysql://USER:PASSWORD@HOST:3306/DATABASE or " +
  "sqlserver://USER:PASSWORD@HOST:1433/[INSTANCE/]DATABASE";

const LIBSQL_SCHEMES = new Set(["file", "libsql", "http", "https"]);

interface ServerDialect {
  open(url: string): Promise<Dialect>;
  /** Reads the URL as `open` does, without connecting. */
  check(url: string): void;
}

/** Server dialects load their driver only when a URL asks for them. */
const postgresDialect = async (): Promise<ServerDialect> => {
  const module = await import("./postgres/index.ts");
  return { open: module.createPostgresDialect, check: module.postgresSettings };
};
const mysqlDialect = async (): Promise<ServerDialect> => {
  const module = await import("./mysql/index.ts");
  return { open: module.createMysqlDialect, check: module.mysqlSettings };
};
const mssqlDialect = async (): Promise<ServerDialect> => {
  const module = await import("./mssql/index.ts");
  return { open: (url) => module.createMssqlDialect(url), check: module.parseSqlServerUrl };
};
const SERVER_DIALECTS: Record<string, () => Promise<ServerDialect>> = {
  postgres: postgresDialect,
  postgresql: postgresDialect,
  mysql: mysqlDialect,
  mariadb: mysqlDialect,
  sqlserver: mssqlDialect,
  mssql: mssqlDialect,
};

type Choice = { libsql: string } | { server: ServerDialect; url: string };

async function choose(url: string): Promise<Choice> {
  const trimmed = url.trim();
  if (trimmed === "") throw new TargetUrlError(`no database URL given; ${ACCEPTED_FORMS}`);
  if (trimmed === ":memory:") return { libsql: trimmed };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && LIBSQL_SCHEMES.has(scheme)) return { libsql: trimmed };
  const server = scheme === undefined ? undefined : SERVER_DIALECTS[scheme];
  if (server) return { server: await server(), url: trimmed };
  if (isBareDatabasePath(trimmed)) return { libsql: fileUrl(trimmed) };
  throw new TargetUrlError(`${unreadableUrlShown(trimmed)} is not a database URL dbsync knows; ${ACCEPTED_FORMS}`);
}

export async function openDialect(url: string): Promise<Dialect> {
  const choice = await choose(url);
  return "libsql" in choice ? createLibsqlDialect(choice.libsql) : choice.server.open(choice.url);
}

/**
 * Everything about a target URL that can be known without connecting (its form, port, options, the
 * folder of a file): a TargetUrlError names what is wrong before any network is used.
 */
export async function checkTargetUrl(url: string): Promise<void> {
  const choice = await choose(url);
  if ("server" in choice) {
    choice.server.check(choice.url);
    return;
  }
  const parsed = checkLibsqlUrl(choice.libsql);
  if (parsed.filePath !== undefined) await requireFolder(parsed);
}

/** A path like `data/sync.db` or `C:\sync\calls.sqlite` (a drive letter looks like a scheme). */
function isBareDatabasePath(text: string): boolean {
  return /\.(db|sqlite|sqlite3)$/i.test(text) && !/^[a-z][a-z0-9+.-]+:\/\//i.test(text);
}

/** libSQL percent-decodes `file:` paths and cuts them at `?`/`#`, so those characters are escaped. */
function fileUrl(path: string): string {
  return `file:${path.replace(/[%?#]/g, (c) => encodeURIComponent(c))}`;
}
