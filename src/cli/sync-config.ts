// The `sync` flags (the original's, plus ours) and their validation into one plain config object:
// the campaign's settings (campaign/settings.ts) and the process's own.
import type { ArgsDef } from "citty";
import type { CampaignSettings } from "../campaign/settings.ts";
import * as v from "valibot";
import { DEFAULT_LOOKBACK_MINUTES } from "../core/sync/pipeline.ts";
import { SYNC_MODES } from "../core/sync/options.ts";
import { UsageError } from "./argv.ts";
import {
  decimal,
  LOG_OUTPUT_FLAGS,
  LOG_SCHEMA,
  nonEmptyText,
  parseFlags,
  switchFlag,
  TABLE_PREFIX_SCHEMA,
  valueFlag,
  wholeNumber,
} from "./flag-schemas.ts";
import type { LogFormat } from "./logger.ts";
import { stateStoreUrl } from "./state-option.ts";
import { receiverUrl, WEBHOOK_DELIVERY_FLAGS, WEBHOOK_DELIVERY_SCHEMA, webhookDeliveryConfig } from "./webhook-config.ts";

export const SYNC_FLAGS = {
  a: valueFlag("Mode: db_init, db_update, db_sync or webhook", "mode"),
  c: valueFlag("Campaign ID (required)", "id"),
  ct: valueFlag("Sync Client token of the campaign (required)", "token"),
  url: valueFlag(
    "Target database URL: file:PATH (default), libsql://…, postgres://…, mysql://…, sqlserver://…; webhook mode: the receiver's https://… URL",
    "url",
  ),
  s: valueFlag("Start date, e.g. 2018-02-01 or 2018-02-01T15:04:05 (UTC)", "date"),
  fm: valueFlag("Filter mode: updates_only or hi_updates_only", "mode"),
  fp: valueFlag("Task-name prefixes, comma separated, e.g. 'fc_,qc_'", "prefixes"),
  tp: valueFlag("Table-name prefix, e.g. dfire_ or mcall_", "prefix"),
  w: valueFlag("Parallel API requests (default 32)", "n"),
  d: valueFlag("Database connections (default 32; SQLite uses one writer)", "n"),
  l: valueFlag("Log level 0=critical … 4=info (default) … 5=debug", "0-5"),
  v: switchFlag("Log everything to stdout instead of a log file"),
  ...LOG_OUTPUT_FLAGS,
  p: switchFlag("(dbsync2's pprof server; accepted and ignored)"),
  "api-url": valueFlag("Dialfire API base URL (default https://api.dialfire.com)", "url"),
  state: valueFlag("State store (checkpoints, webhook outbox): a libSQL file or server, PostgreSQL or MySQL/MariaDB URL", "url"),
  interval: valueFlag("db_sync, webhook: seconds between polls (default 60)", "s"),
  relist: valueFlag("db_sync, webhook: hours between re-listings of the last day's changed contacts (default 12)", "h"),
  lookback: valueFlag(
    `db_sync, webhook: minutes each poll reads back for events the API shows late (default ${DEFAULT_LOOKBACK_MINUTES}; later ones wait for the re-listing)`,
    "min",
  ),
  "api-timeout": valueFlag("Seconds to wait for one API answer (default 30)", "s"),
  "api-retries": valueFlag("Attempts per API request before giving up (default 6)", "n"),
  ...WEBHOOK_DELIVERY_FLAGS,
} as const satisfies ArgsDef;

export type SyncFlags = { [K in keyof typeof SYNC_FLAGS]?: (typeof SYNC_FLAGS)[K]["type"] extends "boolean" ? boolean : string };

/** The campaign's settings and the process's own: how it logs, and where its state store is. */
export interface SyncConfig extends CampaignSettings {
  dbConnections: number;
  logLevel: number;
  verbose: boolean;
  /** Unset: text. */
  logFormat?: LogFormat;
  /** Unset: the default of 30 days. */
  logKeepDays?: number;
  stateUrl?: string;
}

/** Timers cannot wait longer than a day here without surprises, and nobody polls less often. */
const positiveSeconds = (flag: string) =>
  decimal(flag, "a number of seconds", 0.05, 86_400, { min: "more than 0", max: "at most 86400 (a day)" });

/** Names the variable too: a run configured by the environment alone lacks it there. */
const required = (flag: string, what: string) => {
  const message = `${what} (--${flag}) is required (or DBSYNC_${flag.toUpperCase()})`;
  return v.pipe(v.string(message), v.trim(), v.minLength(1, message));
};

/** `--s` in the shapes the original accepted; without a zone it is UTC, like the API's timestamps. */
export function parseStartDate(raw: string, flag = "s"): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  const date = match ? new Date(normaliseIso(match)) : new Date(Number.NaN);
  // Date rolls 2018-02-30 over into March; a date that does not exist is a typo.
  const [, year, month, dayOfMonth] = match ?? [];
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(dayOfMonth)));
  const exists = calendar.getUTCMonth() === Number(month) - 1 && calendar.getUTCDate() === Number(dayOfMonth);
  if (Number.isNaN(date.getTime()) || !exists) {
    throw new UsageError(`--${flag} must be a date like 2018-02-01 or 2018-02-01T15:04:05 (got "${raw}")`);
  }
  return date;
}

function normaliseIso(m: RegExpExecArray): string {
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = m;
  const ms = frac.padEnd(3, "0").slice(0, 3);
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${zone === "Z" ? "Z" : zone.replace(/^([+-]\d{2})(\d{2})$/, "$1:$2")}`;
}

const SyncFlagsSchema = v.object({
  a: v.pipe(
    v.string("the mode (--a) is required: db_init, db_update, db_sync or webhook"),
    v.picklist(SYNC_MODES, (issue) => `invalid mode --a ${String(issue.input)}: use db_init, db_update, db_sync or webhook`),
  ),
  c: required("c", "the campaign ID"),
  ct: required("ct", "the campaign's Sync Client token"),
  url: v.optional(nonEmptyText("url")),
  s: v.optional(v.string()),
  fm: v.optional(
    v.picklist(
      ["", "updates_only", "hi_updates_only"],
      (issue) => `invalid filter mode --fm ${String(issue.input)}: use updates_only or hi_updates_only`,
    ),
  ),
  fp: v.optional(v.string()),
  tp: TABLE_PREFIX_SCHEMA,
  w: v.optional(wholeNumber("w", 1, 256), "32"),
  d: v.optional(wholeNumber("d", 1, 256), "32"),
  ...LOG_SCHEMA,
  p: v.optional(v.boolean(), false),
  "api-url": v.optional(nonEmptyText("api-url")),
  state: v.optional(nonEmptyText("state")),
  interval: v.optional(positiveSeconds("interval"), "60"),
  relist: v.optional(
    decimal("relist", "a number of hours", 0.0001, 24, {
      min: "more than 0",
      max: "at most 24 (the re-listing covers the last day)",
    }),
    "12",
  ),
  lookback: v.optional(
    decimal("lookback", "a number of minutes", 0, 1440, { max: "at most 1440 (a day; the re-listing covers the last day)" }),
    String(DEFAULT_LOOKBACK_MINUTES),
  ),
  "api-timeout": v.optional(positiveSeconds("api-timeout"), "30"),
  "api-retries": v.optional(wholeNumber("api-retries", 1, 100), "6"),
  ...WEBHOOK_DELIVERY_SCHEMA,
});

export function parseSyncConfig(flags: Record<string, unknown>): SyncConfig {
  // Present-but-undefined keys get the required-flag messages instead of valibot's generic one.
  const f = parseFlags(SyncFlagsSchema, { a: undefined, c: undefined, ct: undefined, ...flags });
  const prefixes = f.fp?.trim() ? f.fp.split(",") : undefined;
  return {
    mode: f.a,
    campaign: f.c,
    token: f.ct,
    url: f.a === "webhook" ? receiverUrl(f.url) : f.url,
    start: f.s?.trim() ? parseStartDate(f.s) : undefined,
    filterMode: f.fm || undefined,
    taskPrefixes: prefixes,
    taskPrefixesRaw: prefixes ? f.fp : undefined,
    tablePrefix: f.tp,
    workers: f.w,
    dbConnections: f.d,
    logLevel: f.l,
    verbose: f.v,
    logFormat: f["log-format"],
    logKeepDays: f["log-keep-days"],
    apiUrl: f["api-url"] === undefined ? undefined : apiBaseUrl(f["api-url"]),
    stateUrl: f.state === undefined ? undefined : stateStoreUrl(f.state),
    intervalSeconds: f.interval,
    relistHours: f.relist,
    lookbackMinutes: f.lookback,
    apiTimeoutSeconds: f["api-timeout"],
    apiAttempts: f["api-retries"],
    webhook: webhookDeliveryConfig(f),
  };
}

/**
 * `--api-url` checked before any request: a value that is no absolute http(s) URL is a usage error,
 * not an API that cannot be reached. The value is not echoed: it may hold a password.
 */
export function apiBaseUrl(raw: string): string {
  const expected = "like https://api.dialfire.com";
  if (!/^[a-z][a-z0-9+.-]*:/i.test(raw)) throw new UsageError(`--api-url must start with http:// or https:// (${expected})`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--api-url is not a valid URL (check its host and port; ${expected})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--api-url must be an http:// or https:// URL, not ${url.protocol} (${expected})`);
  }
  if (url.hostname === "") throw new UsageError(`--api-url names no host (${expected})`);
  if (url.port === "0") throw new UsageError(`--api-url names port 0, on which no server listens (${expected})`);
  return raw;
}
