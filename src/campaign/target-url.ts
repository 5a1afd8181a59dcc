// A target database's URL as it may be shown, and stored beside a campaign in a shared state store:
// without password or token, the rest kept (two schemas of one server are two targets).
import { parseLibsqlUrl } from "../core/sql/libsql-url.ts";
import { parseServerUrl } from "../core/sql/server-url.ts";

const SERVER_SCHEMES = /^(postgres|postgresql|mysql|mariadb|sqlserver|mssql):/i;

/** Undefined when the URL cannot be read (then nothing of it may be shown). */
export function safeTargetUrl(url: string): string | undefined {
  const fail = (message: string) => new Error(message);
  try {
    return SERVER_SCHEMES.test(url) ? parseServerUrl(url, fail).safeUrl : parseLibsqlUrl(url, fail).safeUrl;
  } catch {
    return undefined;
  }
}
