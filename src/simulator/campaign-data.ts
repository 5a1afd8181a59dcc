// What a simulated campaign holds (its form, its contacts with their transactions, its inbound calls)
// and the indexes its listings page through. Hashing a contact and building an index wait until
// someone looks, so that a big campaign is created fast; `warmUp` does that work in idle time.
import { canonicalJson } from "../core/sync/canonical-json.ts";
import type { Contact, InboundCall, Transaction } from "../core/sync/source.ts";
import { DayIndex } from "./day-index.ts";
import type { FieldElement } from "./fields.ts";
import { isoTime } from "./time.ts";

export interface TransactionState {
  contactId: string;
  taskLogIndex: number;
  transactionIndex: number;
  transaction: Transaction;
  modifiedMs: number;
  md5?: string;
}

export interface ContactState {
  /** Its `$md5` is current only while `md5Valid`: hashing is deferred until someone looks. */
  contact: Contact;
  md5Valid: boolean;
  changedMs: number;
  transactions: TransactionState[];
}

export class CampaignData {
  readonly states = new Map<string, ContactState>();
  /** In creation order. */
  readonly order: ContactState[] = [];
  readonly inbound: InboundCall[] = [];
  readonly inboundIndex = new DayIndex<InboundCall>(
    (call) => String(call.call_time).slice(0, 10),
    (call) => String(call.call_time) + call.id,
  );
  private warmed = 0;
  // The contact and event indexes are built on first use, then kept up to date on every change.
  private listIndex?: DayIndex<ContactState>;
  private eventIndex?: DayIndex<TransactionState>;

  constructor(
    readonly fieldElements: FieldElement[],
    private readonly md5: (text: string) => string,
  ) {}

  /** Adds a new contact; the first transaction of its task log is its creation. */
  addContact(contact: Contact, createdMs: number): ContactState {
    const state: ContactState = { contact, md5Valid: false, changedMs: createdMs, transactions: [] };
    this.states.set(contact.$id, state);
    this.order.push(state);
    const creation = contact.$task_log?.[0]?.transactions?.[0];
    if (!creation) throw new Error(`the new contact ${contact.$id} has no creating transaction in its task log`);
    this.register(state, creation, 0, 0, createdMs);
    return state;
  }

  register(
    state: ContactState,
    transaction: Transaction,
    taskLogIndex: number,
    transactionIndex: number,
    modifiedMs: number,
  ): TransactionState {
    const record: TransactionState = { contactId: state.contact.$id, taskLogIndex, transactionIndex, transaction, modifiedMs };
    state.transactions.push(record);
    this.eventIndex?.upsert(record);
    return record;
  }

  transactionChanged(record: TransactionState, nowMs: number): void {
    record.modifiedMs = nowMs;
    record.md5 = undefined;
    this.eventIndex?.upsert(record);
  }

  /** The contact changed at `changedMs`: its `$md5` is stale and its place in the listing may move. */
  contactChanged(state: ContactState, changedMs: number): void {
    state.md5Valid = false;
    state.changedMs = changedMs;
    this.listIndex?.upsert(state);
  }

  addInboundCall(call: InboundCall): void {
    this.inbound.push(call);
    this.inboundIndex.upsert(call);
  }

  /** The contact object with its `$md5` brought up to date. */
  withMd5(state: ContactState): Contact {
    if (!state.md5Valid) {
      state.contact.$md5 = this.md5(canonicalJson(state.contact, "$md5"));
      state.md5Valid = true;
    }
    return state.contact;
  }

  eventMd5(record: TransactionState): string {
    record.md5 ??= this.md5(canonicalJson(record.transaction));
    return record.md5;
  }

  contactIndex(): DayIndex<ContactState> {
    this.listIndex ??= new DayIndex(
      (state) => changedDay(state),
      (state) => changedDay(state) + state.contact.$md5 + state.contact.$id,
      this.order,
      (states) => {
        for (const state of states) this.withMd5(state);
      },
    );
    return this.listIndex;
  }

  eventsIndex(): DayIndex<TransactionState> {
    this.eventIndex ??= new DayIndex(
      (record) => isoTime(record.modifiedMs).slice(0, 10),
      (record) => isoTime(record.modifiedMs) + record.contactId + String(record.transaction.fired),
      this.order.flatMap((s) => s.transactions),
    );
    return this.eventIndex;
  }

  /** See `Campaign.warmUp`. */
  warmUp(contacts: number): boolean {
    for (; this.warmed < this.order.length && contacts > 0; contacts--) this.withMd5(this.order[this.warmed++]);
    if (this.warmed < this.order.length) return true;
    this.contactIndex();
    this.eventsIndex();
    return false;
  }
}

function changedDay(state: ContactState): string {
  return isoTime(state.changedMs).slice(0, 10);
}
