// The five target tables and their columns, exactly as the original client (dbsync2) lays them out,
// so that a database it created stays valid for us.

/** A value a row holds, as it is bound to a statement. Objects and arrays are already JSON text here. */
export type SqlValue = string | number | boolean | null;
/** One row of a table, by column name. */
export type Row = Record<string, SqlValue>;

export type LogicalType = "short_string" | "string" | "text" | "int" | "bool";

export interface Column {
  name: string;
  type: LogicalType;
}

export type TableKey = "contacts" | "transactions" | "connections" | "recordings" | "inbound_calls";

export const TABLE_KEYS: readonly TableKey[] = ["contacts", "transactions", "connections", "recordings", "inbound_calls"];

/** A table to create: one of the sync's (`key` says which) or one the server keeps beside them. */
export interface TableLayout {
  key?: TableKey;
  /** Full table name, prefix included (e.g. `dfire_contacts`). */
  name: string;
  primaryKey: string;
  columns: Column[];
  /**
   * The column whose value orders versions of one row, so that an upsert never replaces a stored row
   * by an older version of it (a paused replica waking up after losing its campaign). Absent: a
   * later write always wins (the server's own tables, whose rows have no version).
   */
  version?: string;
}

/** One of the sync's five tables. */
export interface TableSpec extends TableLayout {
  key: TableKey;
}

const cols = (type: LogicalType, ...names: string[]): Column[] => names.map((name) => ({ name, type }));

const CONTACT_COLUMNS: Column[] = [
  ...cols("short_string", "$id", "$md5", "$ref", "$version", "$campaign_id", "$task_id", "$task", "$status"),
  ...cols("string", "$status_detail"),
  ...cols("short_string", "$created_date", "$entry_date", "$owner", "$follow_up_date", "$phone", "$timezone"),
  ...cols("short_string", "$caller_id", "$source"),
  ...cols("text", "$comment"),
  ...cols("short_string", "$error"),
  ...cols("string", "$recording", "$recording_url"),
  ...cols("short_string", "$changed"),
];

const TRANSACTION_COLUMNS: Column[] = [
  ...cols("short_string", "id", "contact_id", "task_id", "task", "status"),
  ...cols("string", "status_detail"),
  ...cols("short_string", "fired"),
  ...cols("int", "pause_time_sec", "edit_time_sec", "wrapup_time_sec"),
  ...cols("short_string", "user", "user_loginName", "user_branch", "user_tenantAlias", "actor", "type", "result"),
  ...cols("short_string", "trigger"),
  ...cols("bool", "isHI", "revoked"),
  ...cols("short_string", "$changed"),
];

const CONNECTION_COLUMNS: Column[] = [
  ...cols("short_string", "id", "parent_connection_id", "transfer_target_address", "call_uuid"),
  ...cols("string", "global_call_uuid"),
  ...cols("short_string", "transaction_id", "task_id", "contact_id", "phone", "user", "actor", "hangup_party"),
  ...cols("short_string", "isThirdPartyConnection", "dialerdomain", "fired", "started", "initiated"),
  ...cols("short_string", "connected", "disconnected", "ended"),
  ...cols("int", "duration"),
  ...cols("short_string", "remote_number", "line_number", "technology", "result"),
  ...cols("int", "code"),
  ...cols("short_string", "call_initiated", "call_connected", "call_disconnected", "$changed"),
];

const RECORDING_COLUMNS: Column[] = [
  ...cols("short_string", "id", "contact_id", "connection_id", "started", "stopped"),
  ...cols("string", "filename", "location"),
  ...cols("short_string", "$changed"),
];

const INBOUND_CALL_COLUMNS: Column[] = [
  ...cols("short_string", "id", "line_id", "campaign_id", "task_id", "task_name", "contact_id"),
  ...cols("short_string", "remote_number", "line_number", "started", "connected", "disconnected"),
  ...cols("short_string", "user", "state", "connectable_time", "disposition"),
  ...cols("bool", "dispatch_error"),
  ...cols("short_string", "$changed"),
];

const BASE_COLUMNS: Record<TableKey, Column[]> = {
  contacts: CONTACT_COLUMNS,
  transactions: TRANSACTION_COLUMNS,
  connections: CONNECTION_COLUMNS,
  recordings: RECORDING_COLUMNS,
  inbound_calls: INBOUND_CALL_COLUMNS,
};

/** A campaign field as the Dialfire API's field list (`fields/list`) describes it. */
export interface CampaignField {
  type: string;
  fieldType: string;
  name: string;
  deleted: boolean;
}

/** Custom contact columns from the campaign field list, as the original client makes them: number → int, all else → text. */
export function customColumns(fields: readonly CampaignField[]): Column[] {
  return fields
    .filter((f) => f.type === "field" && !f.deleted && f.name !== "")
    .map((f) => ({ name: f.name, type: f.fieldType === "number" ? "int" : "text" }));
}

/**
 * The table layout for one target, with logical column names (a target fits them to what its
 * database can hold). A custom field named like a built-in column, or like an earlier field, is left
 * out: it would be the same column. Names differing only in case are distinct fields; where the
 * database folds case, the target gives the second one a column of its own.
 */
export function tableSpecs(prefix: string, fields: readonly CampaignField[] = []): Record<TableKey, TableSpec> {
  const contacts = [...CONTACT_COLUMNS];
  const seen = new Set(contacts.map((c) => c.name));
  const builtIn = new Set(contacts.map((c) => c.name.toLowerCase()));
  for (const column of customColumns(fields)) {
    if (seen.has(column.name) || builtIn.has(column.name.toLowerCase())) continue;
    seen.add(column.name);
    contacts.push(column);
  }
  const spec = (key: TableKey, columns: Column[]): TableSpec => ({
    key,
    name: prefix + key,
    primaryKey: key === "contacts" ? "$id" : "id",
    columns,
    // Every row of the five tables carries `$changed`: the UTC second the sync stamped it, just before
    // writing it (core/sql/sink.ts), the same for all rows of one contact. The API's own times cannot order versions:
    // `fired` (transactions, connections) and `started` (recordings, inbound calls) are set once when
    // the thing began and stay the same in every later version (a transaction's id is made from its
    // `fired`), and a contact's `$version` is a random id.
    version: "$changed",
  });
  return {
    contacts: spec("contacts", contacts),
    transactions: spec("transactions", BASE_COLUMNS.transactions),
    connections: spec("connections", BASE_COLUMNS.connections),
    recordings: spec("recordings", BASE_COLUMNS.recordings),
    inbound_calls: spec("inbound_calls", BASE_COLUMNS.inbound_calls),
  };
}

/**
 * The secondary index the original creates on contacts (`$id|$md5`). The prefix goes in front of the
 * name so that two prefixed sets of tables in one database get one index each.
 */
export function contactsMd5Index(prefix: string): { name: string; columns: string[] } {
  return { name: `${prefix}$id|$md5`, columns: ["$id", "$md5"] };
}

/**
 * The index the server reads contacts by, in the order of their change (Talkdesk, the phone index).
 * Only where the database can index our text columns.
 */
export function contactsChangedIndex(prefix: string): { name: string; columns: string[] } {
  return { name: `${prefix}$changed|$id`, columns: ["$changed", "$id"] };
}
