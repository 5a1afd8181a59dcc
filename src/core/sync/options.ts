// What the sync pipeline (pipeline.ts) is given and what it reports back.
import type { RowCounts, Sink } from "./sink.ts";
import type { DialfireSource, EventFilters } from "./source.ts";
import type { CheckpointKey, CheckpointStore } from "./checkpoints.ts";

/** The modes of `--a`, as the original names them. */
export const SYNC_MODES = ["db_init", "db_update", "db_sync", "webhook"] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface SyncStats {
  listed: number;
  unchanged: number;
  fetched: number;
  /** Contacts named by the listing or an event that the API no longer returned. */
  vanished: number;
  rows: RowCounts;
  windows: number;
  /** The listing under way (db_init, db_update, a catch-up, a re-listing); absent between listings. */
  listing?: ListingProgress;
}

export interface ListingProgress {
  /** Contacts the listing has named so far. */
  listed: number;
  /** Of those, contacts found unchanged, or fetched and written (or gone by then). */
  done: number;
  /** The listing has named every contact: `listed` is the total. */
  complete: boolean;
}

export interface SyncOptions {
  mode: SyncMode;
  source: DialfireSource;
  sink: Sink;
  state: CheckpointStore;
  checkpointKey: CheckpointKey;
  /** `--s`; db_update defaults to 7 days back, the others to "everything" / the checkpoint. */
  start?: Date;
  /** Server-side event filters matching the client-side `--fm`/`--fp` filter of the sink. */
  eventFilters: EventFilters;
  /** Parallel API requests (`--w`). */
  workers: number;
  /** Contacts per request of the contact fetch (the original's 20). */
  fetchBatch?: number;
  /** Contacts written per database transaction. */
  writeBatch?: number;
  intervalMs: number;
  /**
   * How far each event window reaches back before the previous one ended: events the API shows
   * later than this after their time are left to the next re-listing (`--lookback`).
   */
  lookbackMs?: number;
  /** How far each window's inbound-call query reaches back (calls are indexed by their start). */
  inboundLookbackMs?: number;
  /** How often db_sync lists the contacts of the last 24 hours again as a safety net. */
  relistEveryMs?: number;
  /** The longest event window db_sync asks for at once (after an outage it walks several). */
  maxWindowMs?: number;
  /** db_sync gives up (with an error) after this many failed polls in a row. */
  maxFailedCycles?: number;
  /** How long an unreachable target database is waited for before the sync fails. */
  targetPatienceMs?: number;
  /**
   * Runs a big listing (of everything, or of more than the last two days) when it is this
   * campaign's turn: such a listing holds many contacts in memory, and a process running many
   * campaigns lets only a few list at once. Without it every listing runs at once.
   */
  listingTurn?: <T>(listing: () => Promise<T>) => Promise<T>;
  now?: () => Date;
  log: Logger;
  onProgress?: (stats: SyncStats) => void;
  signal: AbortSignal;
}
