// Turns API objects into table rows, with the row ids of the original client (MD5 digests) so that a
// database it wrote stays valid. Pure: no I/O, the clock is passed in.
import { isRawJson } from "../common/exact-json.ts";
import { md5Hex } from "../common/md5.ts";
import type { Contact, InboundCall, Transaction } from "./source.ts";
import type { Row, SqlValue, TableKey } from "./tables.ts";

export type ContactRows = Record<Exclude<TableKey, "inbound_calls">, Row[]>;

export type FilterMode = "updates_only" | "hi_updates_only";

/** The client-side transaction filters of `--fm` and `--fp`, as the original applies them. */
export interface TransactionFilter {
  mode?: FilterMode;
  /** Task-name prefixes; an empty prefix matches every task. */
  taskPrefixes?: readonly string[];
}

export interface RowWarning {
  contactId: string;
  message: string;
}

/** `$changed` as the original writes it: UTC, second precision. */
export function changedStamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** As the original stores values: "" as NULL, booleans and numbers as themselves, objects as compact JSON. */
export function toSqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (isRawJson(value)) return value.rawJSON;
  return JSON.stringify(value);
}

/** A row without prototype: a field may well be called "__proto__". */
function emptyRow(): Row {
  return Object.create(null) as Row;
}

function toRow(source: Record<string, unknown>, skip: ReadonlySet<string>): Row {
  const row = emptyRow();
  // for…in, not Object.entries: no array per key (this runs for every row of an initial load); the
  // source is parsed JSON, so it has no inherited enumerable keys.
  for (const key in source) {
    if (!skip.has(key)) row[key] = toSqlValue(source[key]);
  }
  return row;
}

export function passesFilter(transaction: Transaction, filter: TransactionFilter): boolean {
  const { mode, taskPrefixes } = filter;
  if (mode) {
    const type = transaction.type;
    if (type !== undefined && type !== null && type !== "update") return false;
    if (mode === "hi_updates_only") {
      if (transaction.user === undefined || transaction.user === null) return false;
      if (transaction.status_detail === "$assigned") return false;
    }
  }
  if (taskPrefixes && taskPrefixes.length > 0) {
    const task = transaction.task;
    if (typeof task === "string" && !taskPrefixes.some((prefix) => task.startsWith(prefix))) return false;
  }
  return true;
}

const CONTACT_SKIP = new Set(["$task_log"]);
const TRANSACTION_SKIP = new Set(["connections"]);
const CONNECTION_SKIP = new Set(["recordings", "third_party_connections"]);
const NO_SKIP = new Set<string>();

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !isRawJson(value);

const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

/**
 * Splits one contact into its rows. Only transactions passing `filter` are kept; the contact row is
 * always written. Connections without `disconnected` or a string `id` are skipped (their call is not
 * over yet; a later fetch brings them), as are recordings with neither `location` nor `started`.
 */
export function contactRows(contact: Contact, filter: TransactionFilter, now: Date): { rows: ContactRows; warnings: RowWarning[] } {
  const changed = changedStamp(now);
  const contactId = contact.$id;
  const rows: ContactRows = { contacts: [], transactions: [], connections: [], recordings: [] };
  const warnings: RowWarning[] = [];
  const warn = (message: string) => warnings.push({ contactId, message });

  rows.contacts.push(Object.assign(toRow(contact, CONTACT_SKIP), { $changed: changed }));

  for (const { transactionId, transaction } of selectedTransactions(contact, filter)) {
    rows.transactions.push(
      Object.assign(toRow(transaction, TRANSACTION_SKIP), { id: transactionId, contact_id: contactId, $changed: changed }),
    );

    let previous: Record<string, unknown> | undefined;
    for (const connection of records(transaction.connections)) {
      const parentId = connection.technology === "transfer" && previous && typeof previous.id === "string" ? previous.id : undefined;
      addConnection(connection, { contact_id: contactId, transaction_id: transactionId }, parentId);
      previous = connection;
    }
  }
  return { rows, warnings };

  function addConnection(connection: Record<string, unknown>, owner: Row, parentId: string | undefined): void {
    const id = connection.id;
    if (typeof id !== "string" || id === "") {
      warn("connection without a string id skipped");
      return;
    }
    if (connection.disconnected === undefined || connection.disconnected === null) return;

    // Nested third-party connections come before their parent, as in the original.
    for (const child of records(connection.third_party_connections)) addConnection(child, owner, id);

    const row = Object.assign(toRow(connection, CONNECTION_SKIP), owner, { $changed: changed });
    if (parentId !== undefined) row.parent_connection_id = parentId;
    // A short_string column holding "0"/"1" in the original's schema; missing means false.
    row.isThirdPartyConnection = connection.isThirdPartyConnection === true ? "1" : "0";
    rows.connections.push(row);

    for (const recording of records(connection.recordings)) {
      const key = recording.location ?? recording.started;
      if (key === undefined || key === null) {
        warn(`recording of connection ${id} without location or started skipped`);
        continue;
      }
      rows.recordings.push(
        Object.assign(toRow(recording, NO_SKIP), {
          id: md5Hex(id + String(key)),
          contact_id: contactId,
          connection_id: id,
          $changed: changed,
        }),
      );
    }
  }
}

/**
 * The transactions of a contact's task log that pass `filter`, with their row ids. The
 * SQL modes number transactions sharing one `fired` after filtering, as dbsync2 derived its ids from
 * the transactions it wrote; `stableIds` numbers them over the whole task log, so that a transaction
 * keeps its id whatever the filter (the webhook outbox keys its versions by it).
 */
export function selectedTransactions(
  contact: Contact,
  filter: TransactionFilter,
  { stableIds = false } = {},
): { transactionId: string; transaction: Transaction }[] {
  const selected: { transactionId: string; transaction: Transaction }[] = [];
  const usedIds = new Set<string>();
  for (const entry of records(contact.$task_log)) {
    for (const transaction of records(entry.transactions) as Transaction[]) {
      const passes = passesFilter(transaction, filter);
      if (!passes && !stableIds) continue;
      const transactionId = uniqueTransactionId(contact.$id, transaction, usedIds);
      if (passes) selected.push({ transactionId, transaction });
    }
  }
  return selected;
}

/**
 * md5(contactId + fired) as the original. Two transactions of one contact with the same `fired`
 * collided there (the second overwrote the first); the second one gets an id with a counter.
 */
function uniqueTransactionId(contactId: string, transaction: Transaction, used: Set<string>): string {
  const fired = typeof transaction.fired === "string" ? transaction.fired : String(transaction.fired ?? "");
  let id = md5Hex(contactId + fired);
  for (let n = 2; used.has(id); n++) id = md5Hex(`${contactId}${fired}#${n}`);
  used.add(id);
  return id;
}

const INBOUND_RENAMES: Record<string, string> = {
  calling_number: "remote_number",
  called_number: "line_number",
  call_time: "started",
  connect_time: "connected",
  hangup_time: "disconnected",
};

/** An inbound call row: the API's field names renamed as the original does (`call_time` → `started`, …). */
export function inboundCallRow(call: InboundCall, now: Date): Row {
  const row = emptyRow();
  for (const [key, value] of Object.entries(call)) row[INBOUND_RENAMES[key] ?? key] = toSqlValue(value);
  row.id = String(call.id);
  row.$changed = changedStamp(now);
  return row;
}
