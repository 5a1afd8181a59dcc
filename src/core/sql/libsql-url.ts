// libSQL URLs as both the target dialect and the state store read them. Pure: no file system.
import { socketReason } from "../common/network-errors.ts";

export interface ParsedLibsqlUrl {
  /** What the client is given: the URL without `authToken`. */
  clientUrl: string;
  authToken?: string;
  /** Without token and password: safe for logs and messages. */
  safeUrl: string;
  /** The local file path, for `file:` URLs only (not for in-memory databases). */
  filePath?: string;
}

/** `fail` makes the error of the caller's kind (a target's or the state store's). */
export function parseLibsqlUrl(url: string, fail: (message: string) => Error): ParsedLibsqlUrl {
  if (url === ":memory:" || url.startsWith("file::memory:")) {
    return { clientUrl: url, safeUrl: url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "file") {
    // libSQL opens local files only and takes no parameters for them: say so before it does, in our words.
    const host = /^file:\/\/([^/?#]*)/i.exec(url)?.[1];
    if (host !== undefined && host !== "" && host.toLowerCase() !== "localhost") {
      throw fail(`file:// URLs name a local file, not a host ("${host}"); use file:/PATH or file:///PATH`);
    }
    const query = /\?([^#]*)/.exec(url)?.[1];
    if (query) {
      const names = [...new URLSearchParams(query).keys()].map((name) => `"${name}"`).join(", ");
      throw fail(`file: URLs take no parameters (${names}); name the file only, e.g. file:/var/opt/dbsync/campaign.db`);
    }
    return { clientUrl: url, safeUrl: url, filePath: filePathOf(url, fail) };
  }
  if (scheme === "libsql" || scheme === "http" || scheme === "https" || scheme === "ws" || scheme === "wss") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw fail(`"${scheme}:…" is not a valid libSQL URL (check its host and port); expected e.g. libsql://HOST?authToken=TOKEN`);
    }
    if (parsed.hostname === "") throw fail(`the libSQL URL ${scheme}:… has no host`);
    if (parsed.port === "0") throw fail(`the libSQL URL ${scheme}:… names port 0, on which no server listens`);
    const authToken = parsed.searchParams.get("authToken") ?? undefined;
    parsed.searchParams.delete("authToken");
    const clientUrl = parsed.toString();
    parsed.password = "";
    return { clientUrl, authToken, safeUrl: parsed.toString() };
  }
  throw fail(`"${scheme ?? url}" is not a libSQL URL; use file:PATH, :memory:, libsql://HOST or http(s)://HOST`);
}

/** The path inside a `file:` URL, read the way libSQL reads it (relative or absolute, percent-decoded). */
function filePathOf(url: string, fail: (message: string) => Error): string {
  let rest = url.slice("file:".length);
  if (rest.startsWith("//")) rest = rest.slice(2 + rest.slice(2).search(/\/|$/));
  const path = rest.split(/[?#]/, 1)[0] ?? "";
  try {
    return decodeURIComponent(path);
  } catch {
    throw fail(`the path in ${url} has an invalid percent-encoding`);
  }
}

/** A driver error as one line, with the raw URL (it may hold a token) replaced by the safe one. */
export function libsqlReason(error: unknown, rawUrl: string, safeUrl: string): string {
  const socket = socketReason(error);
  if (socket) return socket;
  return (
    (error instanceof Error ? error.message : String(error))
      .replaceAll(rawUrl, safeUrl)
      // the native driver reports a file it cannot open as ConnectionFailed("… <path>: 14")
      .replace(
        /^ConnectionFailed\("Unable to open connection to local database .*: 14"\)$/s,
        "SQLITE_CANTOPEN: unable to open the database file",
      )
      .replace(/\s*\n\s*/g, " ")
  );
}
