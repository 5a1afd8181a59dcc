// One campaign's pipeline built from its settings: the Dialfire client with its retry reports, the
// state store, and the SQL target and sink or the webhook outbox and deliverer. Every entry point
// (the CLI's sync, and a process running many campaigns) builds campaigns here and nowhere else.
// It touches nothing of the process: no console, no exit code, no log file, no global secrets; the
// host hands in the logger and the state store, which may be shared by many campaigns.
import type { ConsolaInstance } from "consola";
import type { LogDigest } from "../core/common/log-digest.ts";
import { createDialfireClient, DEFAULT_API_URL } from "../core/dialfire/client.ts";
import { createSqlSink } from "../core/sql/sink.ts";
import { SqlTarget } from "../core/sql/target.ts";
import type { StateStore } from "../core/state/state.ts";
import { runSync, type SyncOptions, type SyncStats } from "../core/sync/pipeline.ts";
import type { TableKey } from "../core/sync/tables.ts";
import type { DeliveryOutcome } from "../core/webhook/delivery.ts";
import { openDialect } from "../dialects/index.ts";
import { apiRetryReport, pipelineLog } from "./log-digests.ts";
import { type CampaignObserver, isUnreachable, watchCheckpoints, watchSink, watchTurn } from "./metrics-observer.ts";
import { type CampaignSettings, contactFilter, pipelineSettings } from "./settings.ts";
import { runWebhookMode } from "./webhook.ts";

export interface CampaignHost {
  /**
   * The state store, which the host closes: one shared by many campaigns, or a function that opens
   * it when first needed (a single run opens none before the API accepted its token).
   */
  state: StateStore | (() => Promise<StateStore>);
  /** This campaign's logger. */
  log: ConsolaInstance;
  onProgress?: (stats: SyncStats) => void;
  /** Stops the campaign: a finished db_sync or webhook run then resolves normally. */
  signal: AbortSignal;
  /** The target database when the settings name none; asked for once the API accepted the token. */
  defaultTargetUrl?: () => string;
  /** Throws when this process may no longer write the campaign's rows (see SqlSinkOptions.beforeWrite). */
  beforeWrite?: () => void;
  /** Waits for this campaign's turn to list (see SyncOptions.listingTurn). */
  listingTurn?: SyncOptions["listingTurn"];
  /** Hears of the campaign's requests, answers, checkpoints and deliveries (for metrics and readiness). */
  observer?: CampaignObserver;
}

export interface Campaign {
  readonly settings: CampaignSettings;
  /**
   * Checks the token (the fields are asked for before anything is opened), opens the target and runs
   * the pipeline until it is done or stopped; resolves to its figures (none in webhook mode). Once.
   */
  run(): Promise<SyncStats | undefined>;
  /** Rows of one table in the target database (after `run`, in the SQL modes). */
  count(key: TableKey): Promise<number>;
  /** Says what the retry reports still hold and closes the target; never throws. */
  close(): Promise<void>;
}

export function assembleCampaign(settings: CampaignSettings, host: CampaignHost): Campaign {
  const { log, signal, observer } = host;
  const retries: LogDigest = apiRetryReport(log);
  const source = createDialfireClient({
    baseUrl: settings.apiUrl ?? DEFAULT_API_URL,
    campaign: settings.campaign,
    token: settings.token,
    timeoutMs: settings.apiTimeoutSeconds * 1000,
    retry: { attempts: settings.apiAttempts, baseMs: 1000, maxMs: 30_000 },
    onRetry: ({ path, attempt, reason, waitMs }) => {
      observer?.apiRetry();
      retries.add(`API ${path} attempt ${attempt} failed (${reason}); retrying in ${(waitMs / 1000).toFixed(1)} s`);
    },
    onAttempt: observer && ((attempt) => observer.apiAttempt(attempt)),
  });
  const listingTurn = host.listingTurn && observer ? watchTurn(host.listingTurn, observer) : host.listingTurn;
  const onProgress = (stats: SyncStats) => {
    host.onProgress?.(stats);
    observer?.progress(stats);
  };
  let target: SqlTarget | undefined;

  async function run(): Promise<SyncStats | undefined> {
    // Nothing is opened, and so no state or target file created, before the API accepted the token.
    await source.fields(signal);
    const store = typeof host.state === "function" ? await host.state() : host.state;
    const state = observer ? watchCheckpoints(store, (value) => observer.checkpoint(value)) : store;
    // In webhook mode the URL is the receiver's; there is no target database.
    if (settings.mode === "webhook") {
      const onDelivery =
        observer &&
        ((outcome: DeliveryOutcome, answered: boolean | undefined) => {
          observer.delivery(outcome);
          if (answered !== undefined) observer.target(answered);
        });
      await runWebhookMode({ settings, state, source, log, onProgress, signal, listingTurn, onDelivery });
      return undefined;
    }
    const url = settings.url ?? host.defaultTargetUrl?.();
    if (url === undefined) throw new Error(`campaign ${settings.campaign}: no target database URL`);
    const dialect = await openDialect(url).catch((error: unknown) => {
      if (isUnreachable(error)) observer?.target(false, error instanceof Error ? error.message : String(error));
      throw error;
    });
    // A replica writes its rows only while its lease surely holds (beforeWrite); one that stalled
    // between that check and its commit must not write over a newer row of the next owner.
    const keepNewerRows = host.beforeWrite !== undefined;
    target = new SqlTarget(dialect, settings.tablePrefix, { onWarning: (message) => log.warn(message), keepNewerRows });
    const written = createSqlSink(target, {
      filter: contactFilter(settings),
      onWarning: (w) => log.debug(`contact ${w.contactId}: ${w.message}`),
      beforeWrite: host.beforeWrite,
    });
    const sink = observer ? watchSink(written, (answered, reason) => observer.target(answered, reason)) : written;
    const tables = settings.tablePrefix ? ` (tables ${settings.tablePrefix}*)` : "";
    log.info(`${settings.mode} of campaign ${settings.campaign} into ${dialect.safeUrl}${tables}`);
    return runSync({
      mode: settings.mode,
      source,
      sink,
      state,
      checkpointKey: { campaign: settings.campaign, mode: settings.mode, target: `${dialect.safeUrl}|${settings.tablePrefix}` },
      start: settings.start,
      ...pipelineSettings(settings),
      log: pipelineLog(log),
      onProgress,
      listingTurn,
      signal,
    });
  }

  return {
    settings,
    run,
    async count(key) {
      if (!target) throw new Error(`campaign ${settings.campaign} has no target database open`);
      return target.count(key);
    },
    async close() {
      retries.flush();
      await target?.close().catch(() => {});
      target = undefined;
    },
  };
}
