// The libSQL dialect as the command line opens it: the Node client (its native addon reads local
// files), once the file's folder is known to exist.
import { createClient } from "@libsql/client";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type Dialect, TargetUrlError } from "../../core/sql/dialect.ts";
import type { ParsedLibsqlUrl } from "../../core/sql/libsql-url.ts";
import { BUSY_TIMEOUT_MS, libsqlDialect, parseLibsqlUrl, targetError } from "./libsql.ts";

/** Accepts `file:PATH`, `:memory:`, `libsql://`, `http(s)://` and `ws(s)://`; `?authToken=` is split off. */
export async function createLibsqlDialect(url: string): Promise<Dialect> {
  const parsed = checkLibsqlUrl(url);
  if (parsed.filePath !== undefined) await requireFolder(parsed);
  let client: ReturnType<typeof createClient>;
  try {
    client = createClient({
      url: parsed.clientUrl,
      authToken: parsed.authToken,
      // bigint so that no integer is ever rounded or refused on read; the dialect narrows it again
      intMode: "bigint",
      timeout: BUSY_TIMEOUT_MS,
    });
  } catch (error) {
    throw targetError(parsed.safeUrl, "cannot open the database", error, parsed.clientUrl);
  }
  return libsqlDialect(client, parsed);
}

/** The URL read without opening anything. */
export function checkLibsqlUrl(url: string): ParsedLibsqlUrl {
  const parsed = parseLibsqlUrl(url);
  if (parsed.filePath === "") throw new TargetUrlError(`${parsed.safeUrl} names no file; use file:PATH`);
  return parsed;
}

/**
 * The file may be new, its folder not: a mistyped path would otherwise grow a folder tree and an
 * empty database that looks like a fresh start. (The default location is made by dataDir.)
 */
export async function requireFolder(parsed: ParsedLibsqlUrl): Promise<void> {
  const itself = await stat(parsed.filePath ?? "").catch(() => undefined);
  if (itself?.isDirectory()) {
    const example = `${parsed.safeUrl.replace(/\/$/, "")}/campaign.db`;
    throw new TargetUrlError(`${parsed.safeUrl} is a folder; name the database file in it, e.g. ${example}`);
  }
  const directory = dirname(parsed.filePath ?? "");
  const kind = await stat(directory).then(
    (s) => (s.isDirectory() ? "folder" : "file"),
    () => "missing",
  );
  if (kind === "missing") {
    throw new TargetUrlError(
      `${parsed.safeUrl}: the folder ${directory} does not exist (the database file may be new, its folder must be there)`,
    );
  }
  if (kind === "file") throw new TargetUrlError(`${parsed.safeUrl}: ${directory} is a file, not a folder`);
}
