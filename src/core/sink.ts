// Where the pipeline puts what it fetched: an SQL target now, a webhook outbox later.
import type { Contact, InboundCall } from "./source.ts";
import type { CampaignField, TableKey } from "./tables.ts";

export type RowCounts = Partial<Record<TableKey, number>>;

export interface Sink {
  /** Makes the target ready for this field list; called again when new fields appear. */
  prepare(fields: readonly CampaignField[]): Promise<void>;
  /** The contact md5 the target already holds, per id (absent when unknown). */
  knownMd5(ids: readonly string[]): Promise<Map<string, string | null>>;
  /** Writes the contacts with everything they carry, atomically: all or nothing. */
  writeContacts(contacts: readonly Contact[]): Promise<RowCounts>;
  writeInboundCalls(calls: readonly InboundCall[]): Promise<RowCounts>;
  close(): Promise<void>;
}
