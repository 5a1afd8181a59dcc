// Database URLs as every command reads them from its flags.
import { resolve } from "node:path";
import { TargetUrlError } from "../core/sql/dialect.ts";
import { checkTargetUrl } from "../dialects/index.ts";
import { UsageError } from "./argv.ts";

/** A database URL read without connecting: a fault in the URL itself is the user's, named by its flag. */
export async function checkDatabaseFlag(flag: string, url: string): Promise<void> {
  await checkTargetUrl(url).catch((error: unknown) => {
    throw error instanceof TargetUrlError ? new UsageError(`--${flag}: ${error.message}`) : error;
  });
}

/**
 * `file:` paths are made absolute so the checkpoint of a target does not depend on the working
 * directory; relative ones are read from `base` (a config file's folder), by default the working one.
 */
export function absoluteFileUrl(url: string, base = "."): string {
  if (url.startsWith("file:") && !url.startsWith("file://")) {
    const [path = "", query] = url.slice(5).split("?");
    return `file:${resolve(base, path)}${query ? `?${query}` : ""}`;
  }
  if (/^[^:]+\.(db|sqlite|sqlite3)$/i.test(url)) return `file:${resolve(base, url)}`;
  return url;
}
