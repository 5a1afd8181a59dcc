// The libSQL dialect as the command line opens it: the Node client (its native addon reads local
// files) and the file's directory made first.
import { createClient } from "@libsql/client";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { TargetError } from "../core/dialect.ts";
import type { ParsedLibsqlUrl } from "../core/libsql-url.ts";
import { BUSY_TIMEOUT_MS, libsqlDialect, parseLibsqlUrl, targetError } from "./libsql.ts";
import type { SqliteDialect } from "./sqlite.ts";

/** Accepts `file:PATH`, `:memory:`, `libsql://`, `http(s)://` and `ws(s)://`; `?authToken=` is split off. */
export async function createLibsqlDialect(url: string): Promise<SqliteDialect> {
  const parsed = parseLibsqlUrl(url);
  if (parsed.filePath !== undefined) await createParentDirectory(parsed);
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

async function createParentDirectory(parsed: ParsedLibsqlUrl): Promise<void> {
  const path = parsed.filePath ?? "";
  if (path === "") throw new TargetError(`${parsed.safeUrl} names no file; use file:PATH`);
  const directory = dirname(path);
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    const isFile = await stat(directory).then((s) => !s.isDirectory(), () => false);
    const reason = isFile ? `${directory} is a file, not a directory` : error;
    throw targetError(parsed.safeUrl, `cannot create the directory ${directory}`, reason);
  }
}
