// `dbsync phonecalls push`: the Perl script of seed 004, done properly. Reads the calls of a window
// from an Asterisk `cdr` table and creates them in the phonecalls service, over HTTP or straight into
// the database the service uses.
import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import * as v from "valibot";
import { CdrOptionError, checkTimeZone, parseRewriteRule, recordingUrl, type RewriteRule, rewriteDestination, wallTime, zonedInstant } from "../core/phonecalls/cdr.ts";
import { resolveMapping } from "../core/talkdesk/contact-mapping.ts";
import { ContactReader } from "../core/sql/contact-reader.ts";
import { type Dialect, TargetError } from "../core/sql/dialect.ts";
import { networkReason } from "../core/common/network-errors.ts";
import { PhoneIndex, PhoneIndexBusyError } from "../core/phonecalls/phone-index.ts";
import { PushAuthError, type PushOutcome, pushPhonecalls, rejectionReason } from "../core/phonecalls/push.ts";
import { checkCreate, type NewPhonecall, PhonecallStore } from "../core/phonecalls/phonecalls.ts";
import { backoffMs, parseRetryAfter, sleep } from "../core/common/retry.ts";
import { openDialect } from "../dialects/index.ts";
import { parseLibsqlUrl } from "../dialects/libsql.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import { decimal, wholeNumber } from "./flag-schemas.ts";
import { addSecret, redact } from "./logger.ts";
import { onShutdown } from "./shutdown.ts";
import { absoluteFileUrl, checkDatabaseFlag } from "./file-urls.ts";

const PUSH_FLAGS = {
  cdr: { type: "string", description: "The Asterisk database: mysql://user:pass@host/asterisk (required)", valueHint: "url" },
  target: {
    type: "string",
    description: "The phonecalls service (https://host) or its database URL, written directly (required)",
    valueHint: "url",
  },
  token: { type: "string", description: "Token of the phonecalls service (HTTP target); better as DBSYNC_TOKEN", valueHint: "token" },
  full: { type: "boolean", description: "Full run: the last --days instead of the last --hours" },
  hours: { type: "string", description: "Incremental window in hours (default 2)", valueHint: "h" },
  days: { type: "string", description: "Full window in days (default 360)", valueHint: "d" },
  "min-digits": { type: "string", description: "Skip destinations shorter than this (default 7)", valueHint: "n" },
  "recording-url": { type: "string", description: "Link per call, e.g. http://pbx/recordings/{channel} or …/{recordingfile}", valueHint: "template" },
  rewrite: { type: "string", description: "Destination rule PATTERN=REPLACEMENT, repeatable, first match wins", valueHint: "rule" },
  "cdr-timezone": { type: "string", description: "Time zone of the PBX's calldate (default: this machine's)", valueHint: "zone" },
  concurrency: { type: "string", description: "Calls sent at once (default 4)", valueHint: "n" },
  tp: { type: "string", description: "Table prefix, for a database target", valueHint: "prefix" },
  verbose: { type: "boolean", description: "A line per call" },
} as const;

const PushSchema = v.object({
  cdr: v.pipe(v.string("the Asterisk database (--cdr) is required"), v.trim(), v.minLength(1, "the Asterisk database (--cdr) is required")),
  target: v.pipe(v.string("the target (--target) is required"), v.trim(), v.minLength(1, "the target (--target) is required")),
  token: v.optional(v.string()),
  full: v.optional(v.boolean(), false),
  hours: v.optional(decimal("hours", "a number of hours", 0.01, 100_000), "2"),
  days: v.optional(decimal("days", "a number of days", 0.01, 100_000), "360"),
  "min-digits": v.optional(wholeNumber("min-digits", 0, 64), "7"),
  "recording-url": v.optional(v.string()),
  "cdr-timezone": v.optional(v.string()),
  concurrency: v.optional(wholeNumber("concurrency", 1, 64), "4"),
  tp: v.optional(v.pipe(v.string(), v.regex(/^[\p{L}\p{N}_$]*$/u, "--tp may contain letters, digits, _ and $ only")), ""),
  verbose: v.optional(v.boolean(), false),
});

const CDR_IS_MYSQL = "--cdr must be the Asterisk MySQL/MariaDB database: mysql://user:pass@host/asterisk";

/** Calls read per query: memory stays bounded however long the window. */
const PAGE = 5_000;
const SEND_RETRY = { attempts: 4, baseMs: 500, maxMs: 8_000 };

/** Every `--rewrite` given (citty keeps one value of a repeated flag). */
function rewriteRules(rawArgs: readonly string[]): RewriteRule[] {
  const raw: string[] = [];
  rawArgs.forEach((arg, i) => {
    if (arg === "--rewrite" && rawArgs[i + 1] !== undefined) raw.push(rawArgs[i + 1] as string);
    else if (arg.startsWith("--rewrite=")) raw.push(arg.slice("--rewrite=".length));
  });
  return raw.map(parseRewriteRule);
}

async function* cdrCalls(cdr: Dialect, since: string, minDigits: number, zone: string, rules: readonly RewriteRule[], template?: string) {
  // Keyset paging on (calldate, uniqueid): cheap on the calldate index however long the window, and
  // rows that Asterisk adds meanwhile do not shift the pages.
  let after: [string, string] | undefined;
  for (;;) {
    const rows = await cdr.all<Record<string, unknown>>(
      "SELECT *, DATE_FORMAT(calldate, '%Y-%m-%d %H:%i:%s') AS dbsync_calldate FROM cdr " +
        `WHERE calldate >= ? AND LENGTH(dst) >= ?${after ? " AND (calldate > ? OR (calldate = ? AND uniqueid > ?))" : ""} ` +
        `ORDER BY calldate, uniqueid LIMIT ${PAGE}`,
      after ? [since, minDigits, after[0], after[0], after[1]] : [since, minDigits],
    );
    const key = (row: Record<string, unknown> | undefined) => `${row?.dbsync_calldate}\u0000${row?.uniqueid}`;
    // Rows sharing the last key may go on beyond the page: they are read with the next one.
    let kept = rows;
    if (rows.length === PAGE) {
      const last = key(rows.at(-1));
      const cut = rows.findIndex((row) => key(row) === last);
      if (cut > 0) kept = rows.slice(0, cut);
    }
    yield kept.map(
      (row): NewPhonecall => ({
        initiated: zonedInstant(String(row.dbsync_calldate), zone).toISOString(),
        source: String(row.src ?? ""),
        destination: rewriteDestination(rules, String(row.dst ?? "")),
        duration: row.duration === null || row.duration === undefined ? undefined : Number(row.duration),
        url: template ? recordingUrl(template, row) : undefined,
      }),
    );
    if (rows.length < PAGE) return;
    const lastKept = kept.at(-1) as Record<string, unknown>;
    after = [String(lastKept.dbsync_calldate), String(lastKept.uniqueid ?? "")];
  }
}

/** Over HTTP: a form POST per call; 5xx, 429 and network failures are tried again, rejections not. */
function httpSender(target: URL, token: string, signal: AbortSignal): (call: NewPhonecall) => Promise<PushOutcome> {
  const endpoint = new URL("direct/items/phonecalls/create", target);
  return async (call) => {
    let error = "";
    for (let attempt = 0; attempt < SEND_RETRY.attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs(SEND_RETRY, attempt - 1), signal);
      const form = new URLSearchParams({ token, initiated: call.initiated, source: call.source, destination: call.destination });
      if (call.duration !== undefined) form.set("duration", String(call.duration));
      if (call.url) form.set("url", call.url);
      let response: Response;
      try {
        response = await fetch(endpoint, { method: "POST", body: form, signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
      } catch (cause) {
        signal.throwIfAborted();
        error = `cannot reach ${target.host}: ${networkReason(cause)}`;
        continue;
      }
      if (response.status === 401) throw new PushAuthError(`the target refused the token (HTTP 401)`);
      const body = (await response.json().catch(() => undefined)) as { error?: unknown; errors?: unknown; created?: unknown } | undefined;
      if (response.ok && body?.error === false) return { kind: body.created === false ? "present" : "created" };
      const transient = response.status >= 500 || response.status === 429;
      if (body?.error === true && typeof body.errors === "object" && body.errors && !transient) {
        return { kind: "rejected", reason: rejectionReason(body.errors as Record<string, unknown>) };
      }
      error = `HTTP ${response.status}${body ? "" : ", not the service's JSON"}`;
      // Another 4xx will not change by asking again.
      if (!transient) break;
      // A server building its index, or overloaded, says when to come back.
      const asked = parseRetryAfter(response.headers.get("retry-after"));
      if (asked !== undefined) await sleep(Math.min(asked, 60_000), signal);
    }
    return { kind: "failed", error };
  };
}

/** Straight into the service's database: the same checks and lookup as the web service. */
function databaseSender(dialect: Dialect, prefix: string, signal: AbortSignal): (call: NewPhonecall) => Promise<PushOutcome> {
  const contacts = new ContactReader(dialect, dialect.fitIdentifier(`${prefix}contacts`));
  const store = new PhonecallStore(dialect, prefix);
  let refreshError = "";
  const index = new PhoneIndex(dialect, contacts, prefix, {
    phoneColumns: (columns) => resolveMapping(columns).phones,
    settleMs: 0,
    onError: (error) => {
      refreshError = error instanceof Error ? error.message : String(error);
    },
  });
  return async (call) => {
    const checked = checkCreate({
      initiated: call.initiated,
      source: call.source,
      destination: call.destination,
      duration: call.duration === undefined ? undefined : String(call.duration),
      url: call.url,
    });
    if (!checked.ok) return { kind: "rejected", reason: rejectionReason(checked.errors) };
    let error = "";
    for (let attempt = 0; attempt < SEND_RETRY.attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs(SEND_RETRY, attempt - 1), signal);
      try {
        if ((await store.existing(checked.value)).contactId !== undefined) return { kind: "present" };
        const match = await index.find(checked.value.destination);
        if (!match.contactId) {
          const why = match.ambiguous ? "several contacts have this number" : "no contact has this destination number";
          return { kind: "rejected", reason: `destination: ${why}` };
        }
        const stored = await store.create(checked.value, match.contactId);
        return { kind: stored.created ? "created" : "present" };
      } catch (cause) {
        // The index still being built, a lost connection, a deadlock: worth another try, a few times.
        const transient = cause instanceof PhoneIndexBusyError || (cause instanceof TargetError && cause.transient);
        if (!transient) throw cause;
        error = `${cause.message}${refreshError ? ` (the index: ${refreshError})` : ""}`;
      }
    }
    return { kind: "failed", error };
  };
}

function isHttp(target: string): URL | undefined {
  try {
    const url = new URL(target.endsWith("/") ? target : `${target}/`);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

const pushCommand = defineCommand({
  meta: { name: "push", description: "Create the calls of an Asterisk CDR table in the phonecalls service" },
  args: PUSH_FLAGS,
  async run({ args, rawArgs }) {
    const parsed = v.safeParse(PushSchema, { cdr: undefined, target: undefined, ...withEnvironment(args, PUSH_FLAGS, process.env) });
    if (!parsed.success) throw new UsageError(parsed.issues[0]?.message ?? "invalid flags");
    const o = parsed.output;
    let rules: RewriteRule[];
    let zone: string;
    try {
      rules = rewriteRules(rawArgs);
      zone = checkTimeZone(o["cdr-timezone"] ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
    } catch (error) {
      if (error instanceof CdrOptionError) throw new UsageError(error.message);
      throw error;
    }
    const http = isHttp(o.target);
    const token = o.token?.trim();
    if (http && !token) throw new UsageError("an HTTP target needs the service's token: --token or DBSYNC_TOKEN");
    addSecret(token);
    const started = Date.now();
    const window = o.full ? o.days * 86_400_000 : o.hours * 3_600_000;
    const sinceWall = wallTime(new Date(started - window), zone);
    // The full run starts at midnight of its first day, as the script did.
    const since = o.full ? `${sinceWall.slice(0, 10)} 00:00:00` : sinceWall;
    // Both databases' URLs are read before any connection: a fault in one is a usage error.
    // Neither database is ever made here: a mistyped file would become an empty database.
    if (!/^(mysql|mariadb):/i.test(o.cdr)) throw new UsageError(CDR_IS_MYSQL);
    await checkDatabaseFlag("cdr", o.cdr);
    if (!http) {
      const targetUrl = absoluteFileUrl(o.target);
      await checkDatabaseFlag("target", targetUrl);
      const file = /^file:/i.test(targetUrl) ? parseLibsqlUrl(targetUrl).filePath : undefined;
      if (file && !existsSync(file)) {
        throw new UsageError(`--target: there is no database file ${file}; push writes into the database the phonecalls service reads`);
      }
    }
    const signal = onShutdown();
    const log = (line: string) => process.stdout.write(`${redact(line)}\n`);

    const cdr = await openDialect(o.cdr).catch((error: unknown) => {
      if (error instanceof TargetError) throw new TargetError(redact(error.message));
      throw error;
    });
    let target: Dialect | undefined;
    try {
      if (cdr.kind !== "mysql") throw new UsageError(CDR_IS_MYSQL);
      let send: (call: NewPhonecall) => Promise<PushOutcome>;
      if (http) {
        await checkTarget(http, token as string, signal);
        send = httpSender(http, token as string, signal);
      } else {
        target = await openDialect(absoluteFileUrl(o.target));
        send = databaseSender(target, o.tp, signal);
      }
      log(`processing calls since ${since} (${zone}) from ${cdr.safeUrl} into ${http ? `${http.origin}${http.pathname}` : target?.safeUrl}`);
      let lap = Date.now();
      const summary = await pushPhonecalls({
        calls: cdrCalls(cdr, since, o["min-digits"], zone, rules, o["recording-url"]),
        send: o.verbose
          ? async (call) => {
              const outcome = await send(call);
              log(`${call.initiated} ${call.source} → ${call.destination}: ${outcome.kind === "rejected" ? `rejected (${outcome.reason})` : outcome.kind === "failed" ? `failed (${outcome.error})` : outcome.kind}`);
              return outcome;
            }
          : send,
        concurrency: o.concurrency,
        signal,
        onProgress: (done) => {
          log(`processing ${done} (total: ${seconds(Date.now() - started)} lap: ${seconds(Date.now() - lap)})`);
          lap = Date.now();
        },
      });
      const rejected = [...summary.rejected.values()].reduce((a, b) => a + b, 0);
      log(
        `finished in ${seconds(Date.now() - started)}: ${summary.calls} calls, ${summary.created} created, ${summary.present} already present, ` +
          `${rejected} rejected, ${summary.failed} failed`,
      );
      for (const [reason, n] of [...summary.rejected].sort((a, b) => b[1] - a[1])) log(`  rejected ${n}: ${reason}`);
      for (const failure of summary.failures) log(`  failed: ${failure}`);
      process.exitCode = summary.failed > 0 ? 1 : 0;
    } catch (error) {
      if (error instanceof PushAuthError || error instanceof TargetError) {
        process.stderr.write(`error: ${redact(error.message)}\n`);
        process.exitCode = 1;
        return;
      }
      throw error;
    } finally {
      await cdr.close().catch(() => {});
      await target?.close().catch(() => {});
    }
  },
});

/** One request before the run: a target that is down or refuses the token stops it with one line. */
async function checkTarget(target: URL, token: string, signal: AbortSignal): Promise<void> {
  const probe = new URL("direct/items/phonecalls/create", target);
  probe.searchParams.set("token", token);
  let response: Response;
  try {
    response = await fetch(probe, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
  } catch (error) {
    throw new TargetError(`cannot reach the target ${target.origin}: ${networkReason(error)}`);
  }
  if (response.status === 401) throw new PushAuthError("the target refused the token (HTTP 401)");
  // Without call parameters the service answers its JSON error; anything else is not the service.
  const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
  if (typeof body?.error !== "boolean") {
    throw new TargetError(`${target.href} is not a phonecalls service (HTTP ${response.status} to ${probe.pathname}); check --target`);
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

export const phonecallsCommand = defineCommand({
  meta: { name: "phonecalls", description: "Phonecall replication from an Asterisk CDR table: push" },
  subCommands: { push: pushCommand },
});
