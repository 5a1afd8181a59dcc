// Where the pipeline puts what it fetched: an SQL target, or the webhook outbox.
import type { Contact, InboundCall } from "./source.ts";
import type { CampaignField, TableKey } from "./tables.ts";

export type RowCounts = Partial<Record<TableKey, number>>;

/** A column `prepare` added to a table that existed; named apart from its field where the database needs it. */
export interface AddedColumn {
  table: string;
  field: string;
  column: string;
}

/** How far a sink that finishes its work later lets the checkpoint move. */
export type CheckpointLimit =
  /** Nothing is pending: the checkpoint may move up to the pipeline's watermark. */
  | { kind: "unlimited" }
  /** Pending work would be found again from `checkpoint`: the checkpoint may move up to it, no further. */
  | { kind: "atMost"; checkpoint: string }
  /** Pending work that no checkpoint would find again (found by a full listing): it may not move at all. */
  | { kind: "frozen" };

export interface Sink {
  /**
   * Makes the target ready for this field list; called again when new fields appear. An SQL target
   * tells the columns it added to tables that were there already.
   */
  prepare(fields: readonly CampaignField[]): Promise<readonly AddedColumn[]>;
  /** The contact md5 the target already holds, per id (absent when unknown). */
  knownMd5(ids: readonly string[]): Promise<Map<string, string | null>>;
  /**
   * Writes the contacts with everything they carry, atomically: all or nothing. `found.floor` is the
   * checkpoint from which the pipeline would find these contacts again.
   */
  writeContacts(contacts: readonly Contact[], found?: { floor?: string }): Promise<RowCounts>;
  writeInboundCalls(calls: readonly InboundCall[]): Promise<RowCounts>;
  /** For a sink that finishes its work later (the webhook outbox): how far the checkpoint may move now. */
  checkpointLimit?(): Promise<CheckpointLimit>;
  close(): Promise<void>;
}
