// A deterministic, in-memory Dialfire campaign: the "truth" tests compare a sync against, and the
// data behind the HTTP simulator. No I/O and no timers: time comes from `now()`, new activity only
// from `tick()`, and every random choice from one seeded generator.
import { md5Hex } from "../core/common/md5.ts";
import type { Contact, ContactListItem, InboundCall, Transaction } from "../core/sync/source.ts";
import { CampaignActivity, type TickSummary } from "./campaign-activity.ts";
import { type CampaignContext, createTasks } from "./campaign-context.ts";
import { CampaignData } from "./campaign-data.ts";
import { decodeCursor, QueryError } from "./cursor.ts";
import { type FieldElement, standardFields } from "./fields.ts";
import { type ContactListQuery, type EventQuery, type Page, page, parseTime, type WindowQuery, windowPage } from "./listing-pages.ts";
import { Random } from "./random.ts";
import { isoTime } from "./time.ts";

export { QueryError };
export type { ContactListQuery, EventQuery, FieldElement, Page, TickSummary, WindowQuery };

export interface CampaignOptions {
  campaignId: string;
  /** Number of contacts generated up front. */
  contacts: number;
  seed: number;
  /** The campaign's clock; history lies in the 30 days before its value at creation. */
  now?: () => Date;
  /** MD5 hex of a text; the portable default is slow for big campaigns, so a native one may be passed. */
  md5?: (text: string) => string;
}

/** One transaction as the event index sees it. */
export interface TransactionRecord {
  contactId: string;
  fired: string;
  /** Last modification; the transaction events listing selects by its time window. */
  modified: string;
  taskLogIndex: number;
  transactionIndex: number;
  md5: string;
}

export function createCampaign(options: CampaignOptions): Campaign {
  return new Campaign(options);
}

export class Campaign {
  readonly id: string;
  readonly now: () => Date;
  private readonly data: CampaignData;
  private readonly activity: CampaignActivity;

  constructor(options: CampaignOptions) {
    this.id = options.campaignId;
    this.now = options.now ?? (() => new Date());
    const random = new Random(options.seed);
    const customFields = standardFields();
    this.data = new CampaignData(
      customFields.map((f) => f.element),
      options.md5 ?? md5Hex,
    );
    const ctx: CampaignContext = {
      campaignId: this.id,
      random,
      tasks: createTasks(random),
      customFields: customFields.filter((f) => f.element.type === "field"),
    };
    this.activity = new CampaignActivity(ctx, this.data);
    this.activity.createHistory(options.contacts, this.now().getTime());
  }

  // ---- the truth, for tests ----

  fields(): FieldElement[] {
    return this.data.fieldElements.map((f) => ({ ...f }));
  }

  /** Deep copies of all contacts (with `$task_log` and `$md5`), in creation order. */
  contacts(): Contact[] {
    return this.data.order.map((s) => structuredClone(this.data.withMd5(s)));
  }

  contact(id: string): Contact | undefined {
    const state = this.data.states.get(id);
    return state && structuredClone(this.data.withMd5(state));
  }

  /** The instant the contact last changed (the contact listing filters and orders by its date). */
  changedAt(id: string): string | undefined {
    const state = this.data.states.get(id);
    return state && isoTime(state.changedMs);
  }

  /** The day (`YYYY-MM-DD`) of `changedAt`, which `changedSince` compares with; "" for an unknown id. */
  changedDay(id: string): string {
    return this.changedAt(id)?.slice(0, 10) ?? "";
  }

  inboundCalls(): InboundCall[] {
    return this.data.inbound.map((call) => structuredClone(call));
  }

  transactionRecords(): TransactionRecord[] {
    return this.data.order.flatMap((s) =>
      s.transactions.map((t) => ({
        contactId: t.contactId,
        fired: String(t.transaction.fired),
        modified: isoTime(t.modifiedMs),
        taskLogIndex: t.taskLogIndex,
        transactionIndex: t.transactionIndex,
        md5: this.data.eventMd5(t),
      })),
    );
  }

  // ---- queries behind the HTTP endpoints ----

  /** The contact listing: `{id, md5}` ordered by (change date, md5). */
  listContacts(query: ContactListQuery): Page<ContactListItem> {
    const index = this.data.contactIndex();
    const since = query.changedSince ? isoTime(parseTime(query.changedSince, "changedSince")).slice(0, 10) : "";
    const after = query.cursor ? decodeCursor("contacts", query.cursor) : "";
    const entries = after > since ? index.scan(after, true) : index.scan(since);
    return page(entries, "contacts", query.limit, (state) => ({ id: state.contact.$id, md5: state.contact.$md5 }));
  }

  /** The contact fetch: the known contacts among `ids`, in request order. Live objects: serialise, do not modify. */
  contactsById(ids: readonly string[]): Contact[] {
    const found: Contact[] = [];
    for (const id of ids) {
      const state = this.data.states.get(id);
      if (state) found.push(this.data.withMd5(state));
    }
    return found;
  }

  /** The transaction events: `fired|md5|contactId|tl,ta` for transactions last modified in [from, to). */
  transactionEvents(query: EventQuery): Page<string> {
    const prefixes = query.tasks ? query.tasks.split(",") : undefined;
    const accept = (t: Transaction): boolean => {
      if (query.type && t.type !== query.type) return false;
      if (query.hi && (typeof t.user !== "string" || t.user === "" || t.status_detail === "$assigned")) return false;
      if (prefixes && typeof t.task === "string" && !prefixes.some((p) => (t.task as string).startsWith(p))) return false;
      return true;
    };
    return windowPage(this.data.eventsIndex(), "events", query, this.now, (record) =>
      accept(record.transaction)
        ? `${record.transaction.fired}|${this.data.eventMd5(record)}|${record.contactId}|${record.taskLogIndex},${record.transactionIndex}`
        : undefined,
    );
  }

  /** The inbound calls with `call_time` in [from, to). */
  inboundCallPage(query: WindowQuery): Page<InboundCall> {
    return windowPage(this.data.inboundIndex, "inbound", query, this.now, (call) => call);
  }

  /**
   * Does a slice of the work deferred until first use (contact md5s, then the listing indexes), so
   * that later requests are fast. Returns false once nothing is left. Meant for idle time.
   */
  warmUp(contacts = 500): boolean {
    return this.data.warmUp(contacts);
  }

  // ---- activity ----

  /** One burst of activity at the clock's current time. */
  tick(): TickSummary {
    return this.activity.tick(this.now().getTime());
  }
}
