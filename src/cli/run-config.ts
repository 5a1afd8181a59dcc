// The config file of `dbsync run`: YAML, TOML or JSON by its extension, `${VAR}` from the environment,
// and per campaign the same settings as the `sync` flags under spelled-out names. Each campaign's keys
// become the flags they stand for and go through the flags' own parsing (sync-config.ts), so a value
// is checked the same way in both. Every mistake is one line naming the file, the campaign and the key.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, extname } from "node:path";
import { parseJSON5, parseTOML, parseYAML } from "confbox";
import * as v from "valibot";
import type { AlertSettings } from "../campaign/alerts.ts";
import { safeTargetUrl } from "../campaign/target-url.ts";
import { TargetUrlError } from "../core/sql/dialect.ts";
import { SYNC_MODES } from "../core/sync/options.ts";
import { checkTargetUrl } from "../dialects/index.ts";
import { UsageError } from "./argv.ts";
import { absoluteFileUrl } from "./file-urls.ts";
import { decimal, logFormat, logKeepDays, parseFlags, wholeNumber } from "./flag-schemas.ts";
import type { LogFormat } from "./logger.ts";
import { DEFAULT_LOG_KEEP_DAYS } from "./paths.ts";
import { stateStoreUrl } from "./state-option.ts";
import { HTTP_ADDRESS_SCHEMA, type ListenAddress } from "./run-http-address.ts";
import { parseSyncConfig, type SYNC_FLAGS, type SyncConfig } from "./sync-config.ts";

/** Each key of a campaign in the file and the `sync` flag it stands for. */
export const CAMPAIGN_KEYS = {
  campaign: "c",
  token: "ct",
  mode: "a",
  url: "url",
  table_prefix: "tp",
  api_url: "api-url",
  start: "s",
  interval: "interval",
  relist: "relist",
  lookback: "lookback",
  workers: "w",
  db_connections: "d",
  filter_mode: "fm",
  filter_prefixes: "fp",
  log_level: "l",
  api_timeout: "api-timeout",
  api_retries: "api-retries",
  webhook_rate: "wr",
  webhook_burst: "wb",
  retries: "retries",
  retry_wait: "retry-wait",
  webhook_timeout: "webhook-timeout",
  webhook_secret: "webhook-secret",
} as const satisfies Record<string, keyof typeof SYNC_FLAGS>;

/** The `sync` flags no campaign key stands for, and why. */
export const FLAGS_OF_THE_PROCESS = {
  state: "the top-level state: (one store for every campaign)",
  v: "not in a daemon: each campaign logs to its own file, the console gets the campaigns' starts, stops and failures",
  p: "dbsync2's pprof server, ignored by the flags too",
  "log-format": "the top-level log_format (one format for the console and every campaign's file)",
  "log-keep-days": "the top-level log_keep_days (the campaigns share one log folder)",
} as const satisfies Partial<Record<keyof typeof SYNC_FLAGS, string>>;

const TOP_LEVEL_KEYS = [
  "state",
  "lease_seconds",
  "failure_wait_seconds",
  "failure_wait_max_seconds",
  "log_format",
  "log_keep_days",
  "alerts",
  "http",
  "campaigns",
];

export interface RunCampaign {
  /** Campaign, mode and target: no two campaigns of a file share it. */
  key: string;
  /** Where the campaign is in the file, for messages: `campaign 2 (ABC123)`. */
  place: string;
  config: SyncConfig;
  /** Everything the campaign was set up with: a campaign whose fingerprint changed is restarted. */
  fingerprint: string;
}

export interface RunConfig {
  stateUrl: string;
  /** How long a replica's lease of a campaign lasts without renewal: the longest a dead replica's campaigns wait. */
  leaseSeconds: number;
  failureWait: { firstSeconds: number; maxSeconds: number };
  /** Where and when to send alerts; none without an `alerts:` key. */
  alerts?: AlertSettings;
  /** Of the console and every campaign's file; read when the process starts. */
  logFormat: LogFormat;
  logKeepDays: number;
  /** Where /healthz, /readyz and /metrics are served; none: not served. */
  http?: ListenAddress;
  campaigns: RunCampaign[];
}

const TopLevelSchema = v.object({
  // Under 5 s only makes sense in tests: a replica that stalls that long loses its campaigns.
  lease_seconds: v.optional(wholeNumber("lease_seconds", 2, 3600), "30"),
  failure_wait_seconds: v.optional(decimal("failure_wait_seconds", "a number of seconds", 0.05, 3600), "5"),
  failure_wait_max_seconds: v.optional(decimal("failure_wait_max_seconds", "a number of seconds", 0.05, 86_400), "300"),
  log_format: v.optional(logFormat("log_format"), "text"),
  log_keep_days: v.optional(logKeepDays("log_keep_days"), String(DEFAULT_LOG_KEEP_DAYS)),
  http: v.optional(HTTP_ADDRESS_SCHEMA),
});

/** Reads, expands and checks the file; every mistake is a UsageError of one line. */
export async function loadRunConfig(file: string, env: Record<string, string | undefined> = process.env): Promise<RunConfig> {
  const fail = (where: string, message: string): never => {
    throw new UsageError(`${file}: ${where ? `${where}: ` : ""}${inFileTerms(message)}`);
  };
  const raw = readDocument(file, fail);
  const document = expandVariables(raw, { env, fail, root: raw });
  if (!isPlainObject(document)) return fail("", "the file must hold keys (state, campaigns), not a list or a single value");
  const unknown = Object.keys(document).find((key) => !TOP_LEVEL_KEYS.includes(key));
  if (unknown !== undefined) fail("", `unknown key "${unknown}"${suggestion(unknown, TOP_LEVEL_KEYS)}`);
  const top = parseOrFail(
    TopLevelSchema,
    textValues(
      document,
      ["lease_seconds", "failure_wait_seconds", "failure_wait_max_seconds", "log_format", "log_keep_days", "http"],
      fail,
    ),
    "",
    fail,
  );
  const logging = loggingOf(document, top, env);
  if (top.failure_wait_max_seconds < top.failure_wait_seconds)
    fail("", "failure_wait_max_seconds must not be less than failure_wait_seconds");
  const base = dirname(file);
  const stateUrl = readStateUrl(document.state, base, fail);
  const list = document.campaigns;
  if (!Array.isArray(list) || list.length === 0) return fail("", "campaigns: must be a list of at least one campaign");
  const campaigns: RunCampaign[] = [];
  for (const [index, entry] of list.entries()) {
    const campaign = await readCampaign(entry, index, base, fail);
    const earlier = campaigns.find((other) => other.key === campaign.key);
    if (earlier?.config.mode === "webhook") {
      fail(campaign.place, `the same campaign in webhook mode as ${earlier.place}: one state store feeds one receiver per campaign`);
    }
    if (earlier) fail(campaign.place, `the same campaign, mode and url as ${earlier.place}`);
    campaigns.push(campaign);
  }
  return {
    stateUrl,
    leaseSeconds: top.lease_seconds,
    failureWait: { firstSeconds: top.failure_wait_seconds, maxSeconds: top.failure_wait_max_seconds },
    alerts: document.alerts === undefined ? undefined : readAlerts(document.alerts, fail),
    ...logging,
    http: top.http,
    campaigns,
  };
}

/**
 * The file's log_format and log_keep_days; where it has none, DBSYNC_LOG_FORMAT and
 * DBSYNC_LOG_KEEP_DAYS as for the flags (a unit file's `Environment=` covers every command alike).
 */
function loggingOf(
  document: Record<string, unknown>,
  top: { log_format: LogFormat; log_keep_days: number },
  env: Record<string, string | undefined>,
): Pick<RunConfig, "logFormat" | "logKeepDays"> {
  const fromEnv = (key: string, variable: string) => (document[key] === undefined ? env[variable] : undefined);
  const format = fromEnv("log_format", "DBSYNC_LOG_FORMAT");
  const days = fromEnv("log_keep_days", "DBSYNC_LOG_KEEP_DAYS");
  return {
    logFormat: format === undefined ? top.log_format : parseFlags(logFormat("DBSYNC_LOG_FORMAT"), format),
    logKeepDays: days === undefined ? top.log_keep_days : parseFlags(logKeepDays("DBSYNC_LOG_KEEP_DAYS"), days),
  };
}

type Fail = (where: string, message: string) => never;

function readDocument(file: string, fail: Fail): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    return fail("", code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder, not a file" : "cannot be read");
  }
  const extension = extname(file).toLowerCase();
  const parse = { ".yaml": parseYAML, ".yml": parseYAML, ".toml": parseTOML, ".json": parseJSON5, ".json5": parseJSON5 }[extension];
  if (!parse) return fail("", "the file must end in .yaml, .yml, .toml or .json (its extension tells how to read it)");
  try {
    return parse(text);
  } catch (error) {
    // The parsers add the offending lines below their first; the first says what and where.
    const first = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    return fail("", `not valid ${extension === ".toml" ? "TOML" : extension.startsWith(".json") ? "JSON" : "YAML"}: ${first}`);
  }
}

/**
 * `${NAME}` in any text value becomes the variable's value; `$$` is a literal `$`. An unset variable is
 * an error: an empty token or password would fail later, and less clearly.
 */
function expandVariables(value: unknown, context: Expansion, path: string[] = []): unknown {
  const { env, fail } = context;
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([^}]*)(\}?)/g, (whole, name: string | undefined, closed: string) => {
      if (whole === "$$") return "$";
      const where = describePath(path, context.root);
      if (!closed || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name ?? "")) {
        return fail(where, `\${ must be followed by a variable name and } (write $$ for a literal $)`);
      }
      const found = env[name as string];
      return found ?? fail(where, `the environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => expandVariables(item, context, [...path, String(index)]));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandVariables(item, context, [...path, key])]));
  }
  return value;
}

interface Expansion {
  env: Record<string, string | undefined>;
  fail: Fail;
  /** The document as written, to name a campaign by its id before its values are expanded. */
  root: unknown;
}

/** `campaign 2 (ABC123): token` for a path into the document, as the messages name places. */
function describePath(path: string[], root: unknown): string {
  const [top, index, ...rest] = path;
  if (top !== "campaigns" || index === undefined || !isPlainObject(root) || !Array.isArray(root.campaigns)) return path.join(".");
  return [placeOf(Number(index), root.campaigns[Number(index)]), ...rest].join(": ");
}

/** A campaign's place in the file: its position in the list, and its id as written when it has one. */
function placeOf(index: number, entry: unknown): string {
  const id = isPlainObject(entry) && typeof entry.campaign === "string" ? ` (${entry.campaign})` : "";
  return `campaign ${index + 1}${id}`;
}

function readStateUrl(raw: unknown, base: string, fail: Fail): string {
  if (raw === undefined) return stateStoreUrl(undefined);
  if (typeof raw !== "string" || raw.trim() === "")
    return fail("", "state must be the state store's URL, like file:/var/lib/dbsync/state.db");
  try {
    return stateStoreUrl(absoluteFileUrl(raw.trim(), base));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail("", error.message);
  }
}

const ALERT_KEYS = ["url", "failing_minutes", "lag_minutes", "for_minutes"];

/** Minutes may be fractions (0.05 is 3 s): tests wait seconds, not minutes. A week is surely a mistake. */
const minutes = (key: string, fallback: string) => v.optional(decimal(key, "a number of minutes", 0.01, 10_080), fallback);

const AlertsSchema = v.object({
  failing_minutes: minutes("failing_minutes", "10"),
  lag_minutes: minutes("lag_minutes", "30"),
  for_minutes: minutes("for_minutes", "5"),
});

function readAlerts(raw: unknown, fail: Fail): AlertSettings {
  if (!isPlainObject(raw)) return fail("alerts", "must be a set of keys (url, failing_minutes, lag_minutes, for_minutes)");
  const unknown = Object.keys(raw).find((key) => !ALERT_KEYS.includes(key));
  if (unknown !== undefined) fail("alerts", `unknown key "${unknown}"${suggestion(unknown, ALERT_KEYS)}`);
  // The URL itself is never repeated: a Slack hook's path is its secret.
  const url = typeof raw.url === "string" ? raw.url.trim() : "";
  if (url === "") fail("alerts", "url is required: the webhook that gets the alerts (a Slack incoming webhook or any JSON receiver)");
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) fail("alerts", "url must be an http:// or https:// URL");
  const keys = ["failing_minutes", "lag_minutes", "for_minutes"];
  const values = parseOrFail(
    AlertsSchema,
    textValues(raw, keys, (_, message) => fail("alerts", message)),
    "alerts",
    fail,
  );
  return {
    url,
    failingMs: values.failing_minutes * 60_000,
    lagMs: values.lag_minutes * 60_000,
    forMs: values.for_minutes * 60_000,
  };
}

async function readCampaign(entry: unknown, index: number, base: string, fail: Fail): Promise<RunCampaign> {
  const place = placeOf(index, entry);
  if (!isPlainObject(entry)) return fail(place, "must be a set of keys (campaign, token, mode, url, …)");
  const keys = Object.keys(CAMPAIGN_KEYS) as (keyof typeof CAMPAIGN_KEYS)[];
  const unknown = Object.keys(entry).find((key) => !Object.hasOwn(CAMPAIGN_KEYS, key));
  if (unknown !== undefined) fail(place, `unknown key "${unknown}"${suggestion(unknown, keys)}`);
  for (const key of ["campaign", "token", "mode"] as const) {
    if (entry[key] === undefined) fail(place, `${key} is required`);
    // A number would lose its leading zeros on the way; an id or token is text.
    if (typeof entry[key] !== "string") fail(place, `${key} must be text (put it in quotes)`);
  }
  if (!(SYNC_MODES as readonly string[]).includes(entry.mode as string)) {
    fail(place, `mode must be ${SYNC_MODES.join(", ")} (not "${entry.mode}")`);
  }
  const values = textValues(entry, keys, (_, message) => fail(place, message));
  const flags = Object.fromEntries(Object.entries(values).map(([key, value]) => [CAMPAIGN_KEYS[key as keyof typeof CAMPAIGN_KEYS], value]));
  let config: SyncConfig;
  try {
    config = parseSyncConfig(flags);
    if (config.mode !== "webhook" && config.url !== undefined) {
      config.url = absoluteFileUrl(config.url, base);
      await checkTargetUrl(config.url);
    }
  } catch (error) {
    if (error instanceof UsageError) return fail(place, error.message);
    if (error instanceof TargetUrlError) return fail(place, `url: ${error.message}`);
    throw error;
  }
  // Webhook mode keeps its progress and outbox per campaign, whatever the receiver: one state store
  // can feed one receiver per campaign.
  // The key names the campaign's lease in a shared state store: no password or token may be in it.
  const target = config.url === undefined ? "(the default file)" : (safeTargetUrl(config.url) ?? "(a URL that cannot be read)");
  const key = `${config.campaign}|${config.mode}|${config.mode === "webhook" ? "" : target}`;
  return { key, place, config, fingerprint: JSON.stringify(config) };
}

/**
 * The values of `keys` as the flags take them: text, numbers written as text, a list of prefixes as
 * one comma-separated text. Anything else (a true, a nested map) is a mistake in the file.
 */
function textValues(entry: Record<string, unknown>, keys: readonly string[], fail: Fail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = entry[key];
    if (value === undefined) continue;
    if (typeof value === "string") out[key] = value;
    else if (typeof value === "number" && Number.isFinite(value)) out[key] = String(value);
    else if (key === "filter_prefixes" && Array.isArray(value) && value.every((item) => typeof item === "string"))
      out[key] = value.join(",");
    else fail("", `${key} must be ${key === "filter_prefixes" ? "a list of prefixes or one comma-separated text" : "text or a number"}`);
  }
  return out;
}

function parseOrFail<T extends v.GenericSchema>(schema: T, input: unknown, where: string, fail: Fail): v.InferOutput<T> {
  try {
    return parseFlags(schema, input);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(where, error.message);
  }
}

const KEY_OF_FLAG = new Map<string, string>([
  ...Object.entries(CAMPAIGN_KEYS).map(([key, flag]) => [flag, key] as [string, string]),
  ["state", "state"],
]);

/** The flags' messages in the file's words: `--w must be a whole number` → `workers must be …`. */
export function inFileTerms(message: string): string {
  return message
    .replace(/--([a-z][a-z0-9_-]*)(?![a-z0-9_-])/gi, (_, flag: string) => KEY_OF_FLAG.get(flag) ?? flag)
    .replace(/ \(or DBSYNC_[A-Z_]+\)/, "");
}

/** ` (did you mean workers?)` for a key one or two typos away from a known one; else all known keys. */
function suggestion(unknown: string, known: readonly string[]): string {
  const near = known.find((key) => editDistance(unknown.toLowerCase(), key) <= 2);
  return near ? ` (did you mean ${near}?)` : ` (the keys are ${known.join(", ")})`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The config file's content as a hash, to notice a change; "" when it cannot be read (reading it again says why). */
export function configFileVersion(file: string): string {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return "";
  }
}
