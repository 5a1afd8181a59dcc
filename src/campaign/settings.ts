// One campaign's settings as plain data: what every entry point (the flat flags, `sync`, the webhook
// flags, a config file) produces and what the assembly builds a pipeline from. Nothing here belongs
// to a process (log file, console, state store location): those stay with the entry point.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
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

/**
 * The campaign's settings as one hash, to tell whether a finished db_init ran with the same ones. Its
 * token is left out (a new token is no reason to load everything again), and no secret goes in, not
 * even hashed: the hash lies in a database others may read. The key stands for the target without
 * its password.
 */
export function settingsFingerprint(key: string, config: CampaignSettings): string {
  const { token: _token, url: _url, webhook, ...settings } = config;
  const { secret: _secret, signingKey: _signingKey, ...delivery } = webhook;
  const text = JSON.stringify({ key, settings, delivery, signed: webhook.secret !== undefined });
  return bytesToHex(sha256(utf8ToBytes(text)));
}
