// `dbsync phonecalls push`: the Perl script of NiMbox's phonecalls documentation, done properly. Reads
// the calls of a window from an Asterisk `cdr` table and creates them in the phonecalls service, over
// HTTP or straight into the database the service uses. The work is in core/phonecalls; here are the
// flags and the wiring.
import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import * as v from "valibot";
import { CdrOptionError, checkTimeZone, parseRewriteRule, type RewriteRule, wallTime } from "../core/phonecalls/cdr.ts";
import { readCdrCalls } from "../core/phonecalls/cdr-reader.ts";
import { type Dialect, TargetError } from "../core/sql/dialect.ts";
import { checkTarget, httpSender } from "../core/phonecalls/push-http.ts";
import { databaseSender, PushAuthError, type PushOutcome, pushPhonecalls, type Sender } from "../core/phonecalls/push.ts";
import { openDialect } from "../dialects/index.ts";
import { parseLibsqlUrl } from "../dialects/sqlite/libsql.ts";
import { UsageError, withEnvironment } from "./argv.ts";
import { decimal, parseFlags, requiredText, switchFlag, TABLE_PREFIX_SCHEMA, valueFlag, wholeNumber } from "./flag-schemas.ts";
import { addSecret, redact } from "./logger.ts";
import { onShutdown } from "./shutdown.ts";
import { absoluteFileUrl, checkDatabaseFlag } from "./file-urls.ts";

const PUSH_FLAGS = {
  cdr: valueFlag("The Asterisk database: mysql://user:pass@host/asterisk (required)", "url"),
  target: valueFlag("The phonecalls service (https://host) or its database URL, written directly (required)", "url"),
  token: valueFlag("Token of the phonecalls service (HTTP target); better as DBSYNC_TOKEN", "token"),
  full: switchFlag("Full run: the last --days instead of the last --hours"),
  hours: valueFlag("Incremental window in hours (default 2)", "h"),
  days: valueFlag("Full window in days (default 360)", "d"),
  "min-digits": valueFlag("Skip destinations shorter than this (default 7)", "n"),
  "recording-url": valueFlag("Link per call, e.g. http://pbx/recordings/{channel} or …/{recordingfile}", "template"),
  rewrite: valueFlag("Destination rule PATTERN=REPLACEMENT, repeatable, first match wins", "rule"),
  "cdr-timezone": valueFlag("Time zone of the PBX's calldate (default: this machine's)", "zone"),
  concurrency: valueFlag("Calls sent at once (default 4)", "n"),
  tp: valueFlag("Table prefix, for a database target", "prefix"),
  verbose: switchFlag("A line per call"),
} as const;

const PushSchema = v.object({
  cdr: requiredText("the Asterisk database (--cdr) is required"),
  target: requiredText("the target (--target) is required"),
  token: v.optional(v.string()),
  full: v.optional(v.boolean(), false),
  hours: v.optional(decimal("hours", "a number of hours", 0.01, 100_000), "2"),
  days: v.optional(decimal("days", "a number of days", 0.01, 100_000), "360"),
  "min-digits": v.optional(wholeNumber("min-digits", 0, 64), "7"),
  "recording-url": v.optional(v.string()),
  "cdr-timezone": v.optional(v.string()),
  concurrency: v.optional(wholeNumber("concurrency", 1, 64), "4"),
  tp: TABLE_PREFIX_SCHEMA,
  verbose: v.optional(v.boolean(), false),
});

const CDR_IS_MYSQL = "--cdr must be the Asterisk MySQL/MariaDB database: mysql://user:pass@host/asterisk";

/** Every `--rewrite` given (citty keeps one value of a repeated flag). */
function rewriteRules(rawArgs: readonly string[]): RewriteRule[] {
  const raw: string[] = [];
  rawArgs.forEach((arg, i) => {
    if (arg === "--rewrite" && rawArgs[i + 1] !== undefined) raw.push(rawArgs[i + 1] as string);
    else if (arg.startsWith("--rewrite=")) raw.push(arg.slice("--rewrite=".length));
  });
  return raw.map(parseRewriteRule);
}

/** The phonecalls service's address when --target is an http(s) URL; a database URL otherwise. */
function isHttp(target: string): URL | undefined {
  if (!/^https?:/i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target.endsWith("/") ? target : `${target}/`);
  } catch {
    // Not echoed: it may hold a password.
    throw new UsageError("--target is not a valid URL (check its host and port; like https://calls.example.com)");
  }
  if (url.port === "0") throw new UsageError("--target names port 0, on which no server listens");
  return url;
}

const pushCommand = defineCommand({
  meta: { name: "push", description: "Create the calls of an Asterisk CDR table in the phonecalls service" },
  args: PUSH_FLAGS,
  async run({ args, rawArgs }) {
    const flags = parseFlags(PushSchema, { cdr: undefined, target: undefined, ...withEnvironment(args, PUSH_FLAGS, process.env) });
    let rules: RewriteRule[];
    let zone: string;
    try {
      rules = rewriteRules(rawArgs);
      zone = checkTimeZone(flags["cdr-timezone"] ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
    } catch (error) {
      if (error instanceof CdrOptionError) throw new UsageError(error.message);
      throw error;
    }
    const http = isHttp(flags.target);
    const token = flags.token?.trim();
    if (http && !token) throw new UsageError("an HTTP target needs the service's token: --token or DBSYNC_TOKEN");
    addSecret(token);
    const started = Date.now();
    const window = flags.full ? flags.days * 86_400_000 : flags.hours * 3_600_000;
    const sinceWall = wallTime(new Date(started - window), zone);
    // The full run starts at midnight of its first day, as the script did.
    const since = flags.full ? `${sinceWall.slice(0, 10)} 00:00:00` : sinceWall;
    // Both databases' URLs are read before any connection: a fault in one is a usage error.
    // Neither database is ever made here: a mistyped file would become an empty database.
    if (!/^(mysql|mariadb):/i.test(flags.cdr)) throw new UsageError(CDR_IS_MYSQL);
    await checkDatabaseFlag("cdr", flags.cdr);
    if (!http) {
      const targetUrl = absoluteFileUrl(flags.target);
      await checkDatabaseFlag("target", targetUrl);
      const file = /^file:/i.test(targetUrl) ? parseLibsqlUrl(targetUrl).filePath : undefined;
      if (file && !existsSync(file)) {
        throw new UsageError(`--target: there is no database file ${file}; push writes into the database the phonecalls service reads`);
      }
    }
    const signal = onShutdown();
    const log = (line: string) => process.stdout.write(`${redact(line)}\n`);

    const cdr = await openDialect(flags.cdr).catch((error: unknown) => {
      if (error instanceof TargetError) throw new TargetError(redact(error.message));
      throw error;
    });
    let target: Dialect | undefined;
    try {
      if (cdr.kind !== "mysql") throw new UsageError(CDR_IS_MYSQL);
      let send: Sender;
      if (http) {
        await checkTarget(http, token as string, signal);
        send = httpSender(http, token as string, signal);
      } else {
        target = await openDialect(absoluteFileUrl(flags.target));
        send = databaseSender(target, flags.tp, signal);
      }
      const into = http ? `${http.origin}${http.pathname}` : target?.safeUrl;
      log(`processing calls since ${since} (${zone}) from ${cdr.safeUrl} into ${into}`);
      let lap = Date.now();
      const summary = await pushPhonecalls({
        calls: readCdrCalls(cdr, { since, minDigits: flags["min-digits"], zone, rules, recordingUrl: flags["recording-url"] }),
        send: flags.verbose
          ? async (call) => {
              const outcome = await send(call);
              log(`${call.initiated} ${call.source} → ${call.destination}: ${outcomeText(outcome)}`);
              return outcome;
            }
          : send,
        concurrency: flags.concurrency,
        signal,
        onProgress: (done) => {
          log(`processing ${done} (total: ${seconds(Date.now() - started)} lap: ${seconds(Date.now() - lap)})`);
          lap = Date.now();
        },
      });
      const rejected = [...summary.rejected.values()].reduce((a, b) => a + b, 0);
      log(
        `finished in ${seconds(Date.now() - started)}: ${summary.calls} calls, ${summary.created} created, ` +
          `${summary.present} already present, ${rejected} rejected, ${summary.failed} failed`,
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

function outcomeText(outcome: PushOutcome): string {
  if (outcome.kind === "rejected") return `rejected (${outcome.reason})`;
  if (outcome.kind === "failed") return `failed (${outcome.error})`;
  return outcome.kind;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

export const phonecallsCommand = defineCommand({
  meta: { name: "phonecalls", description: "Phonecall replication from an Asterisk CDR table: push" },
  subCommands: { push: pushCommand },
});
