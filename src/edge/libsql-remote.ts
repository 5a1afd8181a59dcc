// A libSQL server (sqld, Turso) over HTTP with the web client: no native code, so it runs on every
// edge runtime.
import { createClient } from "@libsql/client/web";
import type { ParsedLibsqlUrl } from "../core/sql/libsql-url.ts";
import { libsqlDialect, parseLibsqlUrl, targetError } from "../dialects/sqlite/libsql.ts";
import type { Dialect } from "../core/sql/dialect.ts";
import { EdgeSettingsError } from "./settings.ts";

/** `url` as for `dbsync serve --url` (libsql://, https://, http://); the token in it or given apart. */
export async function openRemoteLibsql(url: string, authToken?: string): Promise<Dialect> {
  // Said to whoever asks, so without the value: the URL may carry a token.
  const misconfigured = new EdgeSettingsError("DBSYNC_URL must name a libSQL server reached over HTTP: libsql://HOST or https://HOST");
  let parsed: ParsedLibsqlUrl;
  try {
    parsed = parseLibsqlUrl(url.trim());
  } catch {
    throw misconfigured;
  }
  if (parsed.filePath !== undefined || !/^(libsql|https?|wss?):/i.test(parsed.clientUrl)) throw misconfigured;
  let client: ReturnType<typeof createClient>;
  try {
    client = createClient({ url: parsed.clientUrl, authToken: parsed.authToken ?? authToken, intMode: "bigint" });
  } catch (error) {
    throw targetError(parsed.safeUrl, "cannot open the database", error, parsed.clientUrl);
  }
  return libsqlDialect(client, parsed);
}
