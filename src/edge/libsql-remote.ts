// A libSQL server (sqld, Turso) over HTTP with the web client: no native code, so it runs on every
// edge runtime.
import { createClient } from "@libsql/client/web";
import { TargetError } from "../core/dialect.ts";
import { libsqlDialect, parseLibsqlUrl, targetError } from "../dialects/libsql.ts";
import type { SqliteDialect } from "../dialects/sqlite.ts";

/** `url` as for `dbsync serve --url` (libsql://, https://, http://); the token in it or given apart. */
export async function openRemoteLibsql(url: string, authToken?: string): Promise<SqliteDialect> {
  const parsed = parseLibsqlUrl(url.trim());
  if (parsed.filePath !== undefined || !/^(libsql|https?|wss?):/i.test(parsed.clientUrl)) {
    throw new TargetError(`${parsed.safeUrl}: an edge runtime reaches its database over HTTP; use libsql://HOST or https://HOST`);
  }
  let client: ReturnType<typeof createClient>;
  try {
    client = createClient({ url: parsed.clientUrl, authToken: parsed.authToken ?? authToken, intMode: "bigint" });
  } catch (error) {
    throw targetError(parsed.safeUrl, "cannot open the database", error, parsed.clientUrl);
  }
  return libsqlDialect(client, parsed);
}
