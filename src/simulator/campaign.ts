// A deterministic, in-memory Dialfire campaign: the "truth" tests compare a sync against, and the
// data behind the HTTP simulator. No I/O and no timers: time comes from `now()`, new activity only
// from `tick()`, and every random choice from one seeded generator.
import { md5Hex } from "../core/common/md5.ts";
import type { Contact, ContactListItem, InboundCall, Transaction } from "../core/sync/source.ts";
import { canonicalJson } from "../core/sync/canonical-json.ts";
import { type CursorKind, decodeCursor, encodeCursor, QueryError } from "./cursor.ts";
import { addedField, type FieldElement, standardFields } from "./fields.ts";
import {
  type ActivityKind,
  activityTransaction,
  apiUpdateTransaction,
  appendTransaction,
  type CampaignContext,
  completeCall,
  createTasks,
  inboundCall,
  newContact,
  type OpenCall,
  pickActivity,
  pickTask,
  refreshSummary,
} from "./history.ts";
import { Random } from "./random.ts";
import { DayIndex } from "./day-index.ts";
import { DAY_MS, HOUR_MS, isoTime, MINUTE_MS, parseApiTimestamp } from "./time.ts";

export { QueryError };
export type { FieldElement };

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

/** One transaction as the event index sees it. */
export interface TransactionRecord {
  contactId: string;
  fired: string;
  /** Last modification; the E4 window is applied to it. */
  modified: string;
  taskLogIndex: number;
  transactionIndex: number;
  md5: string;
}

export interface Page<T> {
  results: T[];
  /** "" on the last page. */
  cursor: string;
}

export interface ContactListQuery {
  /** Day granularity: contacts whose change date is on or after this day. Any API timestamp shape. */
  changedSince?: string;
  cursor?: string;
  limit: number;
}

export interface WindowQuery {
  /** Inclusive; "" or absent = from the beginning. */
  from?: string;
  /** Exclusive; "" or absent = now. */
  to?: string;
  cursor?: string;
  limit: number;
}

export interface EventQuery extends WindowQuery {
  /** Only transactions of this `type`. */
  type?: string;
  /** Only human interactions: `user` set and `status_detail` not `$assigned` (the client's own rule, spec §3.7). */
  hi?: boolean;
  /** Comma-separated task-name prefixes; an empty part matches every task. */
  tasks?: string;
}

interface TransactionState {
  contactId: string;
  taskLogIndex: number;
  transactionIndex: number;
  transaction: Transaction;
  modifiedMs: number;
  md5?: string;
}

interface ContactState {
  /** Its `$md5` is current only while `md5Valid`: hashing is deferred until someone looks. */
  contact: Contact;
  md5Valid: boolean;
  changedMs: number;
  transactions: TransactionState[];
}

interface OpenCallState extends OpenCall {
  contact: ContactState;
  record: TransactionState;
}

const HISTORY_MS = 30 * DAY_MS;
/** Every 50th contact (the 2nd, 52nd, …) has a call going on when the campaign is created. */
const IN_PROGRESS_EVERY = 50;

export function createCampaign(options: CampaignOptions): Campaign {
  return new Campaign(options);
}

export class Campaign {
  readonly id: string;
  readonly now: () => Date;
  private readonly md5: (text: string) => string;
  private readonly random: Random;
  private readonly ctx: CampaignContext;
  private readonly fieldElements: FieldElement[];
  private readonly states = new Map<string, ContactState>();
  private readonly order: ContactState[] = [];
  private readonly inbound: InboundCall[] = [];
  private openCalls: OpenCallState[] = [];
  private addedFields = 0;
  private warmed = 0;
  // The contact and event indexes are built on first use, then kept up to date on every change.
  private listIndex?: DayIndex<ContactState>;
  private eventIndex?: DayIndex<TransactionState>;
  private readonly inboundIndex: DayIndex<InboundCall>;

  constructor(options: CampaignOptions) {
    this.id = options.campaignId;
    this.now = options.now ?? (() => new Date());
    this.md5 = options.md5 ?? md5Hex;
    this.random = new Random(options.seed);
    const customFields = standardFields();
    this.fieldElements = customFields.map((f) => f.element);
    this.ctx = { campaignId: this.id, random: this.random, tasks: createTasks(this.random), customFields: customFields.filter((f) => f.element.type === "field") };
    const startMs = this.now().getTime();
    for (let i = 0; i < options.contacts; i++) this.generateContact(startMs, i % IN_PROGRESS_EVERY === 1);
    const callCount = Math.max(3, Math.round(options.contacts / 5));
    for (let i = 0; i < callCount; i++) {
      const callMs = startMs - Math.floor(this.random.next() * HISTORY_MS);
      this.inbound.push(inboundCall(this.ctx, callMs, this.random.chance(0.9) ? this.randomContact()?.contact : undefined));
    }
    this.inboundIndex = new DayIndex((call) => String(call.call_time).slice(0, 10), (call) => String(call.call_time) + call.id, this.inbound);
  }

  // ---- the truth, for tests ----

  fields(): FieldElement[] {
    return this.fieldElements.map((f) => ({ ...f }));
  }

  /** Deep copies of all contacts (with `$task_log` and `$md5`), in creation order. */
  contacts(): Contact[] {
    return this.order.map((s) => structuredClone(this.withMd5(s)));
  }

  contact(id: string): Contact | undefined {
    const state = this.states.get(id);
    return state && structuredClone(this.withMd5(state));
  }

  /** The instant the contact last changed (E2 filters and orders by its date). */
  changedAt(id: string): string | undefined {
    const state = this.states.get(id);
    return state && isoTime(state.changedMs);
  }

  /** The day (`YYYY-MM-DD`) of `changedAt`, which `changedSince` compares with; "" for an unknown id. */
  changedDay(id: string): string {
    return this.changedAt(id)?.slice(0, 10) ?? "";
  }

  inboundCalls(): InboundCall[] {
    return this.inbound.map((call) => structuredClone(call));
  }

  transactionRecords(): TransactionRecord[] {
    return this.order.flatMap((s) =>
      s.transactions.map((t) => ({
        contactId: t.contactId,
        fired: String(t.transaction.fired),
        modified: isoTime(t.modifiedMs),
        taskLogIndex: t.taskLogIndex,
        transactionIndex: t.transactionIndex,
        md5: this.eventMd5(t),
      })),
    );
  }

  // ---- queries behind the HTTP endpoints ----

  /** E2: `{id, md5}` ordered by (change date, md5). */
  listContacts(query: ContactListQuery): Page<ContactListItem> {
    const index = this.contactIndex();
    const since = query.changedSince ? isoTime(parseTime(query.changedSince, "changedSince")).slice(0, 10) : "";
    const after = query.cursor ? decodeCursor("contacts", query.cursor) : "";
    const entries = after > since ? index.scan(after, true) : index.scan(since);
    return this.page(entries, "contacts", query.limit, (state) => ({ id: state.contact.$id, md5: state.contact.$md5 }));
  }

  /** E3: the known contacts among `ids`, in request order. Live objects: serialise, do not modify. */
  contactsById(ids: readonly string[]): Contact[] {
    const found: Contact[] = [];
    for (const id of ids) {
      const state = this.states.get(id);
      if (state) found.push(this.withMd5(state));
    }
    return found;
  }

  /** E4: `fired|md5|contactId|tl,ta` for transactions last modified in [from, to). */
  transactionEvents(query: EventQuery): Page<string> {
    const index = this.eventsIndex();
    const prefixes = query.tasks ? query.tasks.split(",") : undefined;
    const accept = (t: Transaction): boolean => {
      if (query.type && t.type !== query.type) return false;
      if (query.hi && (typeof t.user !== "string" || t.user === "" || t.status_detail === "$assigned")) return false;
      if (prefixes && typeof t.task === "string" && !prefixes.some((p) => (t.task as string).startsWith(p))) return false;
      return true;
    };
    return this.window(index, "events", query, (record) =>
      accept(record.transaction)
        ? `${record.transaction.fired}|${this.eventMd5(record)}|${record.contactId}|${record.taskLogIndex},${record.transactionIndex}`
        : undefined,
    );
  }

  /**
   * Does a slice of the work deferred until first use (contact md5s, then the listing indexes), so
   * that later requests are fast. Returns false once nothing is left. Meant for idle time.
   */
  warmUp(contacts = 500): boolean {
    for (; this.warmed < this.order.length && contacts > 0; contacts--) this.withMd5(this.order[this.warmed++]);
    if (this.warmed < this.order.length) return true;
    this.contactIndex();
    this.eventsIndex();
    return false;
  }

  private contactIndex(): DayIndex<ContactState> {
    return (this.listIndex ??= new DayIndex(
      (state) => changedDay(state),
      (state) => changedDay(state) + state.contact.$md5 + state.contact.$id,
      this.order,
      (states) => {
        for (const state of states) this.withMd5(state);
      },
    ));
  }

  private eventsIndex(): DayIndex<TransactionState> {
    return (this.eventIndex ??= new DayIndex(
      (record) => isoTime(record.modifiedMs).slice(0, 10),
      (record) => isoTime(record.modifiedMs) + record.contactId + String(record.transaction.fired),
      this.order.flatMap((s) => s.transactions),
    ));
  }

  /** E5: inbound calls with `call_time` in [from, to). */
  inboundCallPage(query: WindowQuery): Page<InboundCall> {
    return this.window(this.inboundIndex, "inbound", query, (call) => call);
  }

  private window<T, R>(index: DayIndex<T>, kind: "events" | "inbound", query: WindowQuery, map: (item: T) => R | undefined): Page<R> {
    const from = query.from ? isoTime(parseTime(query.from, "from")) : "";
    const to = isoTime(query.to ? parseTime(query.to, "to") : this.now().getTime());
    const after = query.cursor ? decodeCursor(kind, query.cursor) : "";
    const entries = after > from ? index.scan(after, true) : index.scan(from);
    return this.page(takeWhile(entries, (key) => key < to), kind, query.limit, map);
  }

  /** Up to `limit` results, and a cursor only when at least one more result follows. */
  private page<T, R>(entries: Iterable<{ key: string; item: T }>, kind: CursorKind, limit: number, map: (item: T) => R | undefined): Page<R> {
    const results: R[] = [];
    let lastKey = "";
    for (const { key, item } of entries) {
      const result = map(item);
      if (result === undefined) continue;
      if (results.length === limit) return { results, cursor: encodeCursor(kind, lastKey) };
      results.push(result);
      lastKey = key;
    }
    return { results, cursor: "" };
  }

  // ---- activity ----

  /** One burst of activity at the clock's current time. */
  tick(): TickSummary {
    const nowMs = this.now().getTime();
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
    const burst = Math.max(1, Math.round(Math.sqrt(this.order.length) / 4));

    this.finishCalls(nowMs, Math.ceil(burst / 2), summary, changed);
    if (summary.modifiedTransactions.length === 0) this.correctTransaction(nowMs, summary, changed);

    const newTransactions = this.order.length === 0 ? 0 : this.random.int(1, burst);
    for (let i = 0; i < newTransactions; i++) {
      const state = this.randomContact()!;
      const kind: ActivityKind = this.random.chance(0.2) ? "callInProgress" : pickActivity(this.random);
      const record = this.addActivity(state, kind, nowMs);
      summary.newTransactions.push({ contactId: state.contact.$id, fired: String(record.transaction.fired) });
      changed.add(state);
    }

    const edits = this.order.length === 0 ? 0 : this.random.int(0, burst);
    for (let i = 0; i < edits; i++) {
      const state = this.randomContact()!;
      const field = this.random.pick(this.ctx.customFields.filter((f) => !f.element.deleted));
      const value = field.value(this.random);
      this.updateFields(state, { [field.element.name]: value === undefined ? null : value }, nowMs, summary);
      changed.add(state);
    }

    if (this.random.chance(0.3) || this.order.length === 0) {
      const state = this.generateContact(nowMs, false, nowMs);
      summary.newContacts.push(state.contact.$id);
      summary.newTransactions.push({ contactId: state.contact.$id, fired: String(state.transactions[0].transaction.fired) });
      changed.add(state);
    }

    if (this.random.chance(0.05)) this.addField(nowMs, summary, changed);

    const calls = this.random.int(0, 2);
    for (let i = 0; i < calls; i++) {
      const call = inboundCall(this.ctx, nowMs - this.random.int(0, 5000), this.random.chance(0.9) ? this.randomContact()?.contact : undefined);
      this.inbound.push(call);
      this.inboundIndex.upsert(call);
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
      this.transactionChanged(call.record, nowMs);
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
    this.transactionChanged(record, nowMs);
    summary.modifiedTransactions.push({ contactId: state.contact.$id, fired: String(transaction.fired) });
    changed.add(state);
  }

  private addField(nowMs: number, summary: TickSummary, changed: Set<ContactState>): void {
    const field = addedField(this.random, ++this.addedFields);
    this.fieldElements.push(field.element);
    this.ctx.customFields.push(field);
    summary.newFields.push(field.element.name);
    const count = Math.min(this.order.length, this.random.int(1, 5));
    for (let i = 0; i < count; i++) {
      const state = this.randomContact()!;
      this.updateFields(state, { [field.element.name]: field.value(this.random) }, nowMs, summary);
      changed.add(state);
    }
  }

  // ---- building blocks ----

  private generateContact(startMs: number, withCallInProgress: boolean, createdAt?: number): ContactState {
    const createdMs = createdAt ?? startMs - Math.floor(this.random.next() * HISTORY_MS);
    const contact = newContact(this.ctx, createdMs);
    const state: ContactState = { contact, md5Valid: false, changedMs: createdMs, transactions: [] };
    this.states.set(contact.$id, state);
    this.order.push(state);
    const creation = contact.$task_log![0].transactions![0];
    this.register(state, creation, 0, 0, createdMs);

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

    refreshSummary(contact);
    state.changedMs = Math.max(createdMs, ...state.transactions.map((t) => t.modifiedMs));
    this.listIndex?.upsert(state);
    return state;
  }

  private addActivity(state: ContactState, kind: ActivityKind, atMs: number): TransactionState {
    const firedMs = uniqueFired(state, atMs);
    const task = pickTask(this.ctx, kind);
    let open: OpenCall | undefined;
    const transaction = activityTransaction(this.ctx, state.contact, kind, task, firedMs, state.transactions.length, (call) => (open = call));
    const [taskLogIndex, transactionIndex] = appendTransaction(state.contact, task, transaction);
    const record = this.register(state, transaction, taskLogIndex, transactionIndex, firedMs);
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
    this.register(state, transaction, taskLogIndex, transactionIndex, firedMs);
    summary.newTransactions.push({ contactId: state.contact.$id, fired: String(transaction.fired) });
  }

  private register(state: ContactState, transaction: Transaction, taskLogIndex: number, transactionIndex: number, modifiedMs: number): TransactionState {
    const record: TransactionState = { contactId: state.contact.$id, taskLogIndex, transactionIndex, transaction, modifiedMs };
    state.transactions.push(record);
    this.eventIndex?.upsert(record);
    return record;
  }

  private transactionChanged(record: TransactionState, nowMs: number): void {
    record.modifiedMs = nowMs;
    record.md5 = undefined;
    this.eventIndex?.upsert(record);
  }

  private contactChanged(state: ContactState, nowMs: number): void {
    state.contact.$version = this.random.id();
    refreshSummary(state.contact);
    state.md5Valid = false;
    state.changedMs = nowMs;
    this.listIndex?.upsert(state);
  }

  /** The contact object with its `$md5` brought up to date. */
  private withMd5(state: ContactState): Contact {
    if (!state.md5Valid) {
      state.contact.$md5 = this.md5(canonicalJson(state.contact, "$md5"));
      state.md5Valid = true;
    }
    return state.contact;
  }

  private eventMd5(record: TransactionState): string {
    return (record.md5 ??= this.md5(canonicalJson(record.transaction)));
  }

  private randomContact(): ContactState | undefined {
    return this.order.length === 0 ? undefined : this.random.pick(this.order);
  }
}

/** The client derives transaction ids from contact id + fired (spec §3.6, W21), so keep them unique. */
function uniqueFired(state: ContactState, atMs: number): number {
  let firedMs = atMs;
  while (state.transactions.some((t) => t.transaction.fired === isoTime(firedMs))) firedMs++;
  return firedMs;
}

function changedDay(state: ContactState): string {
  return isoTime(state.changedMs).slice(0, 10);
}

function* takeWhile<T extends { key: string }>(entries: Iterable<T>, accept: (key: string) => boolean): Generator<T> {
  for (const entry of entries) {
    if (!accept(entry.key)) return;
    yield entry;
  }
}

function parseTime(text: string, name: string): number {
  const ms = parseApiTimestamp(text);
  if (ms === undefined) throw new QueryError(`${name}: not a timestamp: ${JSON.stringify(text)}`);
  return ms;
}
