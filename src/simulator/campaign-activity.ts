// Everything that happens in a simulated campaign: the history it is created with, and the bursts of
// activity of `tick()` (new calls and calls that end, corrections, field edits, new contacts, a new
// form field now and then, inbound calls). Every random draw comes from the campaign's one generator,
// in a fixed order, so the same seed and clock always give the same campaign.
import { completeCall, type OpenCall } from "./call-connections.ts";
import { type ActivityKind, type CampaignContext, pickActivity, pickTask } from "./campaign-context.ts";
import type { CampaignData, ContactState, TransactionState } from "./campaign-data.ts";
import { addedField } from "./fields.ts";
import { inboundCall } from "./inbound-calls.ts";
import { newContact } from "./new-contact.ts";
import { appendTransaction, refreshSummary } from "./task-log.ts";
import { DAY_MS, HOUR_MS, isoTime, MINUTE_MS } from "./time.ts";
import { activityTransaction, apiUpdateTransaction } from "./transactions.ts";

/** What one `tick()` did; transactions are named by contact id and `fired`. */
export interface TickSummary {
  at: string;
  newTransactions: { contactId: string; fired: string }[];
  modifiedTransactions: { contactId: string; fired: string }[];
  /** Every contact whose `$md5` changed, new ones included. */
  changedContacts: string[];
  newContacts: string[];
  newFields: string[];
  newInboundCalls: string[];
}

interface OpenCallState extends OpenCall {
  contact: ContactState;
  record: TransactionState;
}

const HISTORY_MS = 30 * DAY_MS;
/** Every 50th contact (the 2nd, 52nd, …) has a call going on when the campaign is created. */
const IN_PROGRESS_EVERY = 50;

export class CampaignActivity {
  private openCalls: OpenCallState[] = [];
  private addedFields = 0;

  constructor(
    private readonly ctx: CampaignContext,
    private readonly data: CampaignData,
  ) {}

  private get random() {
    return this.ctx.random;
  }

  /** The contacts and inbound calls of the 30 days before `startMs`. */
  createHistory(contacts: number, startMs: number): void {
    for (let i = 0; i < contacts; i++) this.generateContact(startMs, i % IN_PROGRESS_EVERY === 1);
    const callCount = Math.max(3, Math.round(contacts / 5));
    for (let i = 0; i < callCount; i++) {
      const callMs = startMs - Math.floor(this.random.next() * HISTORY_MS);
      this.data.addInboundCall(inboundCall(this.ctx, callMs, this.random.chance(0.9) ? this.randomContact()?.contact : undefined));
    }
  }

  /** One burst of activity at `nowMs`. */
  tick(nowMs: number): TickSummary {
    const summary: TickSummary = {
      at: isoTime(nowMs),
      newTransactions: [],
      modifiedTransactions: [],
      changedContacts: [],
      newContacts: [],
      newFields: [],
      newInboundCalls: [],
    };
    const changed = new Set<ContactState>();
    const burst = Math.max(1, Math.round(Math.sqrt(this.data.order.length) / 4));

    this.finishCalls(nowMs, Math.ceil(burst / 2), summary, changed);
    if (summary.modifiedTransactions.length === 0) this.correctTransaction(nowMs, summary, changed);

    const newTransactions = this.data.order.length === 0 ? 0 : this.random.int(1, burst);
    for (let i = 0; i < newTransactions; i++) {
      const state = this.someContact();
      const kind: ActivityKind = this.random.chance(0.2) ? "callInProgress" : pickActivity(this.random);
      const record = this.addActivity(state, kind, nowMs);
      summary.newTransactions.push({ contactId: state.contact.$id, fired: String(record.transaction.fired) });
      changed.add(state);
    }

    const edits = this.data.order.length === 0 ? 0 : this.random.int(0, burst);
    for (let i = 0; i < edits; i++) {
      const state = this.someContact();
      const field = this.random.pick(this.ctx.customFields.filter((f) => !f.element.deleted));
      const value = field.value(this.random);
      this.updateFields(state, { [field.element.name]: value === undefined ? null : value }, nowMs, summary);
      changed.add(state);
    }

    if (this.random.chance(0.3) || this.data.order.length === 0) {
      const state = this.generateContact(nowMs, false, nowMs);
      summary.newContacts.push(state.contact.$id);
      summary.newTransactions.push({ contactId: state.contact.$id, fired: String(state.transactions[0].transaction.fired) });
      changed.add(state);
    }

    if (this.random.chance(0.05)) this.addField(nowMs, summary, changed);

    const calls = this.random.int(0, 2);
    for (let i = 0; i < calls; i++) {
      const call = inboundCall(
        this.ctx,
        nowMs - this.random.int(0, 5000),
        this.random.chance(0.9) ? this.randomContact()?.contact : undefined,
      );
      this.data.addInboundCall(call);
      summary.newInboundCalls.push(call.id);
    }

    for (const state of changed) {
      this.contactChanged(state, nowMs);
      summary.changedContacts.push(state.contact.$id);
    }
    return summary;
  }

  private finishCalls(nowMs: number, limit: number, summary: TickSummary, changed: Set<ContactState>): void {
    const stillOpen: OpenCallState[] = [];
    for (const call of this.openCalls) {
      const due = call.record.modifiedMs < nowMs && summary.modifiedTransactions.length < limit && this.random.chance(0.6);
      if (!due) {
        stillOpen.push(call);
        continue;
      }
      completeCall(this.ctx, call, call.contact.contact.$id, nowMs);
      this.data.transactionChanged(call.record, nowMs);
      summary.modifiedTransactions.push({ contactId: call.record.contactId, fired: String(call.transaction.fired) });
      changed.add(call.contact);
    }
    this.openCalls = stillOpen;
  }

  /** Without calls to finish, an agent corrects the times booked on one of their transactions. */
  private correctTransaction(nowMs: number, summary: TickSummary, changed: Set<ContactState>): void {
    const state = this.randomContact();
    if (!state) return;
    const record = state.transactions[state.transactions.length - 1];
    const transaction = record.transaction;
    transaction.edit_time_sec = Number(transaction.edit_time_sec ?? 0) + this.random.int(1, 30);
    this.data.transactionChanged(record, nowMs);
    summary.modifiedTransactions.push({ contactId: state.contact.$id, fired: String(transaction.fired) });
    changed.add(state);
  }

  private addField(nowMs: number, summary: TickSummary, changed: Set<ContactState>): void {
    const field = addedField(this.random, ++this.addedFields);
    this.data.fieldElements.push(field.element);
    this.ctx.customFields.push(field);
    summary.newFields.push(field.element.name);
    const count = Math.min(this.data.order.length, this.random.int(1, 5));
    for (let i = 0; i < count; i++) {
      const state = this.someContact();
      this.updateFields(state, { [field.element.name]: field.value(this.random) }, nowMs, summary);
      changed.add(state);
    }
  }

  private generateContact(startMs: number, withCallInProgress: boolean, createdAt?: number): ContactState {
    const createdMs = createdAt ?? startMs - Math.floor(this.random.next() * HISTORY_MS);
    const state = this.data.addContact(newContact(this.ctx, createdMs), createdMs);

    let lastMs = createdMs;
    for (let steps = this.random.int(0, 5); steps > 0; steps--) {
      const atMs = lastMs + Math.max(MINUTE_MS, Math.floor(-Math.log(1 - this.random.next()) * 2 * DAY_MS));
      if (atMs >= startMs - MINUTE_MS) break;
      const kind = pickActivity(this.random);
      lastMs = this.addActivity(state, kind === "callInProgress" ? "agentCall" : kind, atMs).modifiedMs;
    }
    if (withCallInProgress) {
      // A call still going on is the newest thing that happened to its contact.
      this.addActivity(state, "callInProgress", Math.max(lastMs + 1000, startMs - this.random.int(10_000, HOUR_MS / 2)));
    }

    refreshSummary(state.contact);
    this.data.contactChanged(state, Math.max(createdMs, ...state.transactions.map((t) => t.modifiedMs)));
    return state;
  }

  private addActivity(state: ContactState, kind: ActivityKind, atMs: number): TransactionState {
    const firedMs = uniqueFired(state, atMs);
    const task = pickTask(this.ctx, kind);
    let open: OpenCall | undefined;
    const transaction = activityTransaction(
      this.ctx,
      state.contact,
      kind,
      task,
      firedMs,
      state.transactions.length,
      (call) => (open = call),
    );
    const [taskLogIndex, transactionIndex] = appendTransaction(state.contact, task, transaction);
    const record = this.data.register(state, transaction, taskLogIndex, transactionIndex, firedMs);
    if (open) this.openCalls.push({ ...open, contact: state, record });
    return record;
  }

  /** Sets contact fields the way an API update does: with an `update` transaction carrying the new `data`. */
  private updateFields(state: ContactState, data: Record<string, unknown>, nowMs: number, summary: TickSummary): void {
    Object.assign(state.contact, data);
    const firedMs = uniqueFired(state, nowMs);
    const task = this.ctx.tasks.find((t) => t.name === state.contact.$task) ?? this.ctx.tasks[0];
    const transaction = apiUpdateTransaction(state.contact, task, firedMs, state.transactions.length, data);
    const [taskLogIndex, transactionIndex] = appendTransaction(state.contact, task, transaction);
    this.data.register(state, transaction, taskLogIndex, transactionIndex, firedMs);
    summary.newTransactions.push({ contactId: state.contact.$id, fired: String(transaction.fired) });
  }

  private contactChanged(state: ContactState, nowMs: number): void {
    state.contact.$version = this.random.id();
    refreshSummary(state.contact);
    this.data.contactChanged(state, nowMs);
  }

  private randomContact(): ContactState | undefined {
    return this.data.order.length === 0 ? undefined : this.random.pick(this.data.order);
  }

  /** A random contact, where the caller has checked that the campaign has one. */
  private someContact(): ContactState {
    const state = this.randomContact();
    if (!state) throw new Error("the simulated campaign has no contact to pick");
    return state;
  }
}

/** The client derives a transaction's id from its contact's id and its `fired`, so keep those unique. */
function uniqueFired(state: ContactState, atMs: number): number {
  let firedMs = atMs;
  while (state.transactions.some((t) => t.transaction.fired === isoTime(firedMs))) firedMs++;
  return firedMs;
}
