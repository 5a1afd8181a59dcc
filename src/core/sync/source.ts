// The Dialfire campaign as the sync sees it: the objects its REST API returns and the one
// interface the pipeline reads them through. The HTTP client and the simulator both speak it.
import type { CampaignField } from "./tables.ts";

export type { CampaignField };

/** A transaction of a contact's `$task_log`; only `fired` is relied upon. */
export type Transaction = Record<string, unknown> & { fired?: string };

export interface TaskLogEntry {
  transactions?: Transaction[];
  [key: string]: unknown;
}

/** A contact in the API's flat view (fields as top-level keys, `$`-prefixed system fields) with its task log. */
export type Contact = Record<string, unknown> & {
  $id: string;
  $md5: string;
  $task_log?: TaskLogEntry[];
};

/** One element of a page of the contact listing (`contacts/list`). */
export interface ContactListItem {
  id: string;
  md5: string;
}

/** One result of the transaction events (`contacts/transactions/`), `fired|md5|contactId[|tl,ta]`, parsed. */
export interface TransactionEvent {
  time: string;
  md5: string;
  contactId: string;
}

/** An inbound call as `inbound/calls/` returns it, before the client renames its fields. */
export type InboundCall = Record<string, unknown> & { id: string };

/** The filters the transaction events endpoint applies itself (`type`, `hi`, `tasks`). */
export interface EventFilters {
  type?: "update";
  hi?: boolean;
  /** The raw `--fp` value: comma-separated task-name prefixes. */
  tasks?: string;
}

export interface TimeWindow {
  /** Inclusive start; "" means from the beginning. */
  from: string;
  /** Exclusive end; absent means until now. */
  to?: string;
}

export interface DialfireSource {
  fields(signal?: AbortSignal): Promise<CampaignField[]>;
  /** Pages of contact ids with their current md5, optionally changed on or after a day (YYYY-MM-DD). */
  listContacts(changedSince: string | undefined, signal?: AbortSignal): AsyncIterable<ContactListItem[]>;
  /** The contacts with these ids; ids the campaign does not know are left out. */
  fetchContacts(ids: readonly string[], signal?: AbortSignal): Promise<Contact[]>;
  transactionEvents(window: TimeWindow, filters: EventFilters, signal?: AbortSignal): AsyncIterable<TransactionEvent[]>;
  inboundCalls(window: TimeWindow, signal?: AbortSignal): AsyncIterable<InboundCall[]>;
}
