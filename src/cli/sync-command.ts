// `dbsync sync` (and the flat flags of the original): wires config, client, target, state store
// and pipeline, and turns every failure into one clear line and an exit code.
import type { ConsolaInstance } from "consola";
import { createDialfireClient, DEFAULT_API_URL, DialfireApiError, DialfireAuthError } from "../core/dialfire/client.ts";
import { TargetError, TargetUrlError } from "../core/sql/dialect.ts";
import type { LogDigest } from "../core/common/log-digest.ts";
import { createSqlSink } from "../core/sql/sink.ts";
import { SqlTarget } from "../core/sql/target.ts";
import { StateError, type StateStore } from "../core/state/state.ts";
import { openStateStore } from "../core/state/store.ts";
import { runSync, SyncError, type SyncStats } from "../core/sync/pipeline.ts";
import { TABLE_KEYS } from "../core/sync/tables.ts";
import { openDialect } from "../dialects/index.ts";
import { UsageError } from "./argv.ts";
import { apiRetryReport } from "./log-digests.ts";
import { addSecret, consolaLevel, createLogger, redact } from "./logger.ts";
import { absoluteFileUrl } from "./file-urls.ts";
import { createLogFile, dataDir } from "./paths.ts";
import { createProgress } from "./progress.ts";
import { stateStoreUrl } from "./state-option.ts";
import { pipelineSettings, type SyncConfig } from "./sync-config.ts";
import { runWebhookMode } from "./webhook-mode.ts";

export interface SyncRun {
  config: SyncConfig;
  signal: AbortSignal;
  /** Print the log file's path and the summary (off for the demo, which prints its own). */
  quiet?: boolean;
  logger?: ConsolaInstance;
}

/** Runs one sync and returns its exit code; never throws for anything the user can cause. */
export async function runSyncCommand(run: SyncRun): Promise<number> {
  const { config } = run;
  addSecret(config.token);
  const progress = createProgress(process.stderr, !config.verbose && !run.quiet, { log: (line) => log?.info(line) });
  let log = run.logger;
  let state: StateStore | undefined;
  let target: SqlTarget | undefined;
  let retries: LogDigest | undefined;
  const startedAt = Date.now();
  try {
    const fileStem = config.campaign.replace(/[^\w-]/g, "_"); // a campaign id must not steer a path
    addSecret(passwordOf(config.url));
    addSecret(config.webhook.secret);
    // Checked before a log file is made: a malformed --state is the user's to fix.
    const stateUrl = stateStoreUrl(config.stateUrl);
    if (!log) {
      const logFile = config.verbose ? undefined : createLogFile(`${fileStem}_${config.mode}`);
      log = createLogger({ verbose: config.verbose, level: consolaLevel(config.logLevel), logFile, beforeConsoleWrite: progress.clear });
      if (!run.quiet) process.stdout.write(`Logfile: ${logFile ?? "stdout"}\n`);
    }
    if (config.dbConnections !== 32) log.debug("--d is accepted for compatibility; each target uses what suits it");

    retries = apiRetryReport(log);
    const source = createDialfireClient({
      baseUrl: config.apiUrl ?? DEFAULT_API_URL,
      campaign: config.campaign,
      token: config.token,
      timeoutMs: config.apiTimeoutSeconds * 1000,
      retry: { attempts: config.apiAttempts, baseMs: 1000, maxMs: 30_000 },
      onRetry: ({ path, attempt, reason, waitMs }) =>
        retries?.add(`API ${path} attempt ${attempt} failed (${reason}); retrying in ${(waitMs / 1000).toFixed(1)} s`),
    });
    // Nothing is opened, and so no state or target file created, before the API accepted the token.
    await source.fields(run.signal);
    state = await openStateStore(stateUrl);
    // In webhook mode --url is the receiver; there is no target database.
    if (config.mode === "webhook") {
      await runWebhookMode({ config, state, source, log, onProgress: (s) => progress.update(s), signal: run.signal });
      return 0;
    }
    const dialect = await openDialect(absoluteFileUrl(config.url ?? `file:${dataDir()}/${fileStem}.db`));
    target = new SqlTarget(dialect, config.tablePrefix, { onWarning: (message) => log?.warn(message) });
    const filter = { mode: config.filterMode, taskPrefixes: config.taskPrefixes };
    const sink = createSqlSink(target, {
      filter,
      onWarning: (w) => log?.debug(`contact ${w.contactId}: ${w.message}`),
    });
    const tables = config.tablePrefix ? ` (tables ${config.tablePrefix}*)` : "";
    log.info(`${config.mode} of campaign ${config.campaign} into ${dialect.safeUrl}${tables}`);

    const stats = await runSync({
      mode: config.mode,
      source,
      sink,
      state,
      checkpointKey: { campaign: config.campaign, mode: config.mode, target: `${dialect.safeUrl}|${config.tablePrefix}` },
      start: config.start,
      ...pipelineSettings(config),
      log: { debug: (m) => log?.debug(m), info: (m) => log?.info(m), warn: (m) => log?.warn(m) },
      onProgress: (s) => progress.update(s),
      signal: run.signal,
    });
    progress.clear();
    if (!run.quiet) log.info(await summary(config.mode, stats, target, Date.now() - startedAt));
    return 0;
  } catch (error) {
    progress.clear();
    if (run.signal.aborted) {
      const endless = config.mode === "db_sync" || config.mode === "webhook";
      (log ?? console).info(`${config.mode} ${endless ? "stopped" : "interrupted; run the same command again to resume"}`);
      return endless ? 0 : 1;
    }
    report(error, log);
    return error instanceof UsageError || error instanceof TargetUrlError ? 2 : 1;
  } finally {
    retries?.flush();
    await target?.close().catch(() => {});
    await state?.close().catch(() => {});
  }
}

function report(error: unknown, log: ConsolaInstance | undefined): void {
  const known = [UsageError, TargetError, StateError, DialfireApiError, DialfireAuthError, SyncError].some((type) => error instanceof type);
  const message = error instanceof Error ? error.message : String(error);
  const line = redact(known ? message : `unexpected failure: ${message}`);
  if (log) log.error(line);
  else process.stderr.write(`error: ${line}\n`);
}

async function summary(mode: string, stats: SyncStats, target: SqlTarget, ms: number): Promise<string> {
  const rows = TABLE_KEYS.map((key) => `${key} ${(stats.rows[key] ?? 0).toLocaleString("en")}`).join(", ");
  const counts = await Promise.all(TABLE_KEYS.map(async (key) => `${key} ${(await target.count(key)).toLocaleString("en")}`));
  return [
    `${mode} finished in ${(ms / 1000).toFixed(1)} s: ${stats.listed.toLocaleString("en")} contacts listed, ` +
      `${stats.fetched.toLocaleString("en")} fetched, ${stats.unchanged.toLocaleString("en")} unchanged`,
    `  rows written: ${rows}`,
    `  rows in the target: ${counts.join(", ")}`,
  ].join("\n");
}

function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
