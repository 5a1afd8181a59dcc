// `dbsync sync` (and the flat flags of the original): the process around one campaign (log file,
// progress bar, secrets, state store, summary), which campaign/assemble.ts builds; turns every
// failure into one clear line and an exit code.
import type { ConsolaInstance } from "consola";
import { type Campaign, assembleCampaign } from "../campaign/assemble.ts";
import type { CampaignSettings } from "../campaign/settings.ts";
import { DialfireApiError, DialfireAuthError } from "../core/dialfire/client.ts";
import { TargetError, TargetUrlError } from "../core/sql/dialect.ts";
import { StateError, type StateStore } from "../core/state/state.ts";
import { openStateStore } from "../state/open.ts";
import { SyncError, type SyncStats } from "../core/sync/pipeline.ts";
import { TABLE_KEYS } from "../core/sync/tables.ts";
import { UsageError } from "./argv.ts";
import { addSecret, announceLogFile, consolaLevel, createLogger, redact } from "./logger.ts";
import { absoluteFileUrl } from "./file-urls.ts";
import { createLogFile, dataDir } from "./paths.ts";
import { createProgress } from "./progress.ts";
import { stateStoreUrl } from "./state-option.ts";
import type { SyncConfig } from "./sync-config.ts";

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
  addCampaignSecrets(config);
  const progress = createProgress(process.stderr, !config.verbose && !run.quiet, { log: (line) => log?.info(line) });
  let log = run.logger;
  let state: StateStore | undefined;
  let campaign: Campaign | undefined;
  const startedAt = Date.now();
  try {
    const fileStem = campaignFileStem(config.campaign);
    // Checked before a log file is made: a malformed --state is the user's to fix.
    const stateUrl = stateStoreUrl(config.stateUrl);
    if (!log) {
      const logFile = config.verbose ? undefined : createLogFile(`${fileStem}_${config.mode}`);
      log = createLogger({
        verbose: config.verbose,
        level: consolaLevel(config.logLevel),
        logFile,
        beforeConsoleWrite: progress.clear,
        format: config.logFormat,
        context: { campaign: config.campaign, mode: config.mode },
        keepDays: config.logKeepDays,
      });
      if (!run.quiet) announceLogFile(log, config.logFormat, logFile);
    }
    if (config.dbConnections !== 32) log.debug("--d is accepted for compatibility; each target uses what suits it");

    const url = config.mode === "webhook" || config.url === undefined ? config.url : absoluteFileUrl(config.url);
    campaign = assembleCampaign(
      { ...config, url },
      {
        state: async () => {
          state = await openStateStore(stateUrl);
          return state;
        },
        log,
        onProgress: (s) => progress.update(s),
        signal: run.signal,
        defaultTargetUrl: () => defaultTargetUrl(config.campaign),
      },
    );
    const stats = await campaign.run();
    if (!stats) return 0; // webhook mode, which reports its own figures
    progress.clear();
    if (!run.quiet) log.info(await summary(config.mode, stats, campaign, Date.now() - startedAt));
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
    await campaign?.close();
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

async function summary(mode: string, stats: SyncStats, campaign: Campaign, ms: number): Promise<string> {
  const rows = TABLE_KEYS.map((key) => `${key} ${(stats.rows[key] ?? 0).toLocaleString("en")}`).join(", ");
  const counts = await Promise.all(TABLE_KEYS.map(async (key) => `${key} ${(await campaign.count(key)).toLocaleString("en")}`));
  return [
    `${mode} finished in ${(ms / 1000).toFixed(1)} s: ${stats.listed.toLocaleString("en")} contacts listed, ` +
      `${stats.fetched.toLocaleString("en")} fetched, ${stats.unchanged.toLocaleString("en")} unchanged`,
    `  rows written: ${rows}`,
    `  rows in the target: ${counts.join(", ")}`,
  ].join("\n");
}

/** A campaign's values that must never appear in any output, whichever entry point read them. */
export function addCampaignSecrets(settings: CampaignSettings): void {
  addSecret(settings.token);
  addSecret(passwordOf(settings.url));
  addSecret(settings.webhook.secret);
}

/** The start of a campaign's file names; a campaign id must not steer a path. */
export function campaignFileStem(campaign: string): string {
  return campaign.replace(/[^\w-]/g, "_");
}

/** The embedded database a campaign writes when its settings name none. */
export function defaultTargetUrl(campaign: string): string {
  return absoluteFileUrl(`file:${dataDir()}/${campaignFileStem(campaign)}.db`);
}

export function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
