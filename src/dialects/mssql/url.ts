// SQL Server URLs as dbsync2 documented them, read into the driver's configuration.
import { type TargetError, TargetUrlError } from "../../core/sql/dialect.ts";
import type { SqlServerConfig } from "./driver.ts";

const URL_FORM = "sqlserver://USER:PASSWORD@HOST:1433/[INSTANCE/]DATABASE";

const DEFAULT_CONNECT_TIMEOUT_S = 5;
/** Long enough for widening a large table's columns (see widen.ts); `request timeout=0` lifts it. */
const DEFAULT_REQUEST_TIMEOUT_S = 600;
/** Longer than any timer may wait: what "0 = no limit" of the go-mssqldb URL options becomes. */
const NO_LIMIT_MS = 2_147_483_647;

export interface ParsedSqlServerUrl {
  config: SqlServerConfig;
  /** The URL without password or options, for logs and messages. */
  safeUrl: string;
  /** `?schema=`; absent means the login's default schema (normally dbo). */
  schema?: string;
}

/**
 * Reads `sqlserver://USER:PASSWORD@HOST[:PORT]/[INSTANCE/]DATABASE[?options]` (also `mssql://`), the
 * form dbsync2 documents. Percent-encoded user and password (`%40` for `@`, `%2F` for `/`, `%3A` for
 * `:`). Options, names case- and space-insensitive: `database`, `encrypt` (true/false/strict, also
 * go-mssqldb's disable), `trustServerCertificate`, `connection timeout`/`dial timeout` and
 * `request timeout` in seconds (as go-mssqldb), `app name`, `schema`; others are ignored.
 *
 * Without `encrypt` and `trustServerCertificate` the connection is encrypted and the server's
 * certificate accepted, which is what go-mssqldb (dbsync2's driver) did for such URLs, so a URL that
 * worked there works here; `encrypt=true` alone makes the certificate checked, as there.
 */
export function parseSqlServerUrl(url: string): ParsedSqlServerUrl {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase() ?? "";
  const shown = `${scheme || "sqlserver"}://…`;
  if (scheme !== "sqlserver" && scheme !== "mssql") {
    throw new TargetUrlError(`${shown} is not a SQL Server URL; use ${URL_FORM}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new TargetUrlError(`${shown} is not a valid URL (check the port and percent-encode @ / : in the password); use ${URL_FORM}`);
  }

  const userText = decode(parsed.username);
  const password = decode(parsed.password);
  const hostname = parsed.hostname;
  const segments = parsed.pathname
    .split("/")
    .filter((segment) => segment !== "")
    .map(decode);
  const options = new Map<string, string>();
  for (const [key, value] of parsed.searchParams) options.set(key.toLowerCase().replace(/[\s_-]+/g, ""), value);

  const database = options.get("database") || segments.at(-1) || "";
  const instance = segments.length >= 2 ? segments.at(-2) : undefined;
  const port = parsed.port === "" ? undefined : Number(parsed.port);
  const safeUrl =
    `${scheme}://${userText === "" ? "" : `${encodeURIComponent(userText)}@`}${hostname}${port === undefined ? "" : `:${port}`}` +
    `/${instance === undefined ? "" : `${encodeURIComponent(instance)}/`}${encodeURIComponent(database)}`;
  const refuse = (problem: string) => new TargetUrlError(`${safeUrl} ${problem}; use ${URL_FORM}`);

  if (hostname === "") throw refuse("names no host");
  if (database === "") throw refuse("names no database");
  if (segments.length > 2) throw refuse("has too many path segments (only INSTANCE/DATABASE)");
  if (userText === "") throw refuse("names no user");

  const encryptOption = options.get("encrypt");
  const trustOption = options.get("trustservercertificate");
  const encrypt = encryptOption === undefined ? true : encryptValue(encryptOption, refuse);
  const trustServerCertificate =
    trustOption !== undefined ? flag(trustOption, "trustServerCertificate", refuse) : encryptOption === undefined;
  const connectSeconds = options.get("connectiontimeout") ?? options.get("connecttimeout") ?? options.get("dialtimeout");
  const requestSeconds = options.get("requesttimeout") ?? options.get("querytimeout");

  const backslash = userText.indexOf("\\");
  const config: SqlServerConfig = {
    server: hostname.replace(/^\[(.*)\]$/, "$1"),
    port: port ?? (instance === undefined ? 1433 : undefined),
    database,
    user: backslash >= 0 ? userText.slice(backslash + 1) : userText,
    password,
    ...(backslash >= 0 ? { domain: userText.slice(0, backslash) } : {}),
    connectionTimeout: milliseconds(connectSeconds, DEFAULT_CONNECT_TIMEOUT_S, "connection timeout", refuse),
    requestTimeout: milliseconds(requestSeconds, DEFAULT_REQUEST_TIMEOUT_S, "request timeout", refuse),
    options: {
      ...(instance === undefined ? {} : { instanceName: instance }),
      encrypt,
      trustServerCertificate,
      appName: options.get("appname") || "dbsync",
    },
    pool: { max: 10, min: 0, idleTimeoutMillis: 30_000 },
  };
  const schema = options.get("schema");
  return { config, safeUrl, ...(schema ? { schema } : {}) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function flag(value: string, name: string, refuse: (problem: string) => TargetError): boolean {
  const v = value.toLowerCase();
  if (["true", "yes", "1", "on"].includes(v)) return true;
  if (["false", "no", "0", "off"].includes(v)) return false;
  throw refuse(`has ${name}=${value}; use true or false`);
}

function encryptValue(value: string, refuse: (problem: string) => TargetError): boolean | "strict" {
  const v = value.toLowerCase();
  if (v === "strict") return "strict";
  if (v === "disable" || v === "optional") return false;
  if (v === "mandatory") return true;
  return flag(value, "encrypt", refuse);
}

function milliseconds(seconds: string | undefined, fallback: number, name: string, refuse: (problem: string) => TargetError): number {
  if (seconds === undefined || seconds === "") return fallback * 1000;
  const value = Number(seconds);
  if (!Number.isFinite(value) || value < 0) throw refuse(`has ${name}=${seconds}; use seconds`);
  return value === 0 ? NO_LIMIT_MS : Math.round(value * 1000);
}
