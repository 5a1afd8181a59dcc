// Server URLs (`SCHEME://USER:PASSWORD@HOST:PORT/PATH?PARAMS`) as the PostgreSQL and MySQL dialects
// read them, and the scrubbing that keeps their passwords out of every message. Pure.
/** URL parameters that may carry secrets: never shown in `safeUrl`. */
const SECRET_PARAMETER = /pass|secret|token|key/i;

export interface ParsedServerUrl {
  scheme: string;
  user: string;
  password: string;
  host: string;
  port?: number;
  /** Path segments, percent-decoded, empty ones left out. */
  path: string[];
  params: URLSearchParams;
  /** Without password or secret parameters: safe for logs and messages. */
  safeUrl: string;
  rawUrl: string;
}

/**
 * `scheme://USER:PASSWORD@HOST:PORT/PATH?PARAMS`. User and password are percent-decoded; a password
 * may also hold `@`, `/` and `:` unencoded (the userinfo ends at the last `@` before the query).
 */
export function parseServerUrl(url: string, fail: (message: string) => Error): ParsedServerUrl {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(url.trim());
  if (!match) throw fail(`"${url.split(":")[0]}:…" is not a server URL; expected SCHEME://USER:PASSWORD@HOST:PORT/DATABASE`);
  const scheme = match[1].toLowerCase();
  let rest = match[2];
  const fragment = rest.indexOf("#");
  if (fragment >= 0) rest = rest.slice(0, fragment);

  const queryAt = rest.indexOf("?");
  let at = queryAt >= 0 ? rest.lastIndexOf("@", queryAt) : rest.lastIndexOf("@");
  if (at < 0 && queryAt >= 0) at = rest.lastIndexOf("@"); // an unencoded "?" in the password
  const userinfo = at >= 0 ? rest.slice(0, at) : "";
  const afterUser = rest.slice(at + 1);
  const hostEnd = afterUser.search(/[/?]/);
  const hostPort = hostEnd >= 0 ? afterUser.slice(0, hostEnd) : afterUser;
  const tail = hostEnd >= 0 ? afterUser.slice(hostEnd) : "";
  const tailQuery = tail.indexOf("?");
  const pathText = tailQuery >= 0 ? tail.slice(0, tailQuery) : tail;
  const queryText = tailQuery >= 0 ? tail.slice(tailQuery + 1) : "";

  const colon = userinfo.indexOf(":");
  const user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = colon >= 0 ? decode(userinfo.slice(colon + 1)) : "";

  const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  const shownScheme = `${scheme}://${user ? `${encodeURIComponent(user)}@` : ""}${hostPort}`;
  if (!hostMatch || hostMatch[1] === "") throw fail(`${shownScheme}…: the URL names no host`);
  const host = hostMatch[1].replace(/^\[(.*)\]$/, "$1");
  const portText = hostMatch[2] ?? "";
  // A wrong port is named as such, not taken for a missing host.
  if (portText !== "" && !/^\d+$/.test(portText)) throw fail(`${shownScheme}…: "${portText}" is not a port number (1 to 65535)`);
  const port = portText ? Number(portText) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw fail(`${shownScheme}…: ${portText} is not a port number (1 to 65535)`);

  const params = new URLSearchParams(queryText);
  const shown = new URLSearchParams([...params].filter(([name]) => !SECRET_PARAMETER.test(name)));
  const safeQuery = shown.toString();
  return {
    scheme,
    user,
    password,
    host,
    port,
    path: pathText
      .split("/")
      .filter((segment) => segment !== "")
      .map(decode),
    params,
    safeUrl: `${shownScheme}${pathText}${safeQuery ? `?${safeQuery}` : ""}`,
    rawUrl: url,
  };
}

/** Why a file a URL names (a CA certificate, say) cannot be read, without the runtime's wording. */
export function fileReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === "ENOENT") return "there is no such file";
  if (code === "EACCES" || code === "EPERM") return "it may not be read by this user";
  if (code === "EISDIR") return "it is a folder, not a file";
  return error instanceof Error ? (error.message.split("\n")[0] ?? error.message) : String(error);
}

/** Percent-decoding that leaves a lone `%` (e.g. a password `50%off`) as it is. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Removes the password (and the URL holding it) from a driver's text, and keeps it on one line. */
export function scrub(text: string, url: ParsedServerUrl): string {
  let result = text.replaceAll(url.rawUrl, url.safeUrl);
  // A password that is also part of the safe URL (user or database name) would mangle the text.
  if (url.password.length >= 4 && !url.safeUrl.includes(url.password)) result = result.replaceAll(url.password, "***");
  return result.replace(/\s*\n\s*/g, " ");
}

/** Where a server URL points and as whom: what every server driver's options begin with. */
export function serverLogin(url: ParsedServerUrl, defaultPort: number) {
  return { host: url.host, port: url.port ?? defaultPort, user: url.user, password: url.password, database: url.path.join("/") };
}

/**
 * What of a URL no reader understood may be quoted in a message: its scheme, or, without one that
 * can be read, the text only when it has no login or query (`pg_sql://user:password@db` has both);
 * quoted, ready for a message.
 */
export function unreadableUrlShown(text: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  if (scheme !== undefined) return `"${scheme.toLowerCase()}:…"`;
  return /[@?]/.test(text) ? "the URL given" : `"${text}"`;
}
