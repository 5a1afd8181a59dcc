// One campaign's settings as plain data: what every entry point (the flat flags, `sync`, the webhook
// flags, a config file) produces and what the assembly builds a pipeline from. Nothing here belongs
// to a process (log file, console, state store location): those stay with the entry point.
import type { SyncMode } from "../core/sync/options.ts";

export interface WebhookDeliveryConfig {
  rate: number;
  burst: number;
  attempts: number;
  retryWaitSeconds: number;
  timeoutSeconds: number;
  /** The decoded signing key. */
  signingKey?: Uint8Array;
  /** The secret as given, to keep it out of logs. */
  secret?: string;
}

export interface CampaignSettings {
  mode: SyncMode;
  campaign: string;
  token: string;
  /** The target database, or in webhook mode the receiver; absolute, as the checkpoint is keyed by it. */
  url?: string;
  start?: Date;
  filterMode?: "updates_only" | "hi_updates_only";
  taskPrefixes?: string[];
  /** The prefixes as one comma-separated text, as the API's `tasks` parameter takes them. */
  taskPrefixesRaw?: string;
  tablePrefix: string;
  workers: number;
  apiUrl?: string;
  intervalSeconds: number;
  relistHours: number;
  lookbackMinutes: number;
  apiTimeoutSeconds: number;
  apiAttempts: number;
  webhook: WebhookDeliveryConfig;
}

/** The parts of the pipeline's options every mode takes straight from the settings. */
export function pipelineSettings(settings: CampaignSettings) {
  return {
    eventFilters: {
      type: settings.filterMode ? ("update" as const) : undefined,
      hi: settings.filterMode === "hi_updates_only" || undefined,
      tasks: settings.taskPrefixesRaw,
    },
    workers: settings.workers,
    intervalMs: settings.intervalSeconds * 1000,
    relistEveryMs: settings.relistHours * 3_600_000,
    lookbackMs: settings.lookbackMinutes * 60_000,
  };
}

/** The row filter of both sinks. */
export function contactFilter(settings: CampaignSettings) {
  return { mode: settings.filterMode, taskPrefixes: settings.taskPrefixes };
}
