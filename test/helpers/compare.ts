// Compares a target database with the simulator's campaign, table by table, row by row.
import type { Dialect, Row } from "../../src/core/sql/dialect.ts";
import { openDialect } from "../../src/dialects/index.ts";
import { contactRows, inboundCallRow, type TransactionFilter } from "../../src/core/sync/rows.ts";
import type { CampaignField, Contact, InboundCall } from "../../src/core/sync/source.ts";
import { TABLE_KEYS, type TableKey } from "../../src/core/sync/tables.ts";

export interface Difference {
  table: TableKey;
  missing: string[];
  extra: string[];
  /** `id column: expected … got …` */
  different: string[];
}

export function expectedRows(
  contacts: readonly Contact[],
  calls: readonly InboundCall[],
  filter: TransactionFilter,
): Record<TableKey, Row[]> {
  const now = new Date();
  const rows: Record<TableKey, Row[]> = { contacts: [], transactions: [], connections: [], recordings: [], inbound_calls: [] };
  for (const contact of contacts) {
    const split = contactRows(contact, filter, now).rows;
    rows.contacts.push(...split.contacts);
    rows.transactions.push(...split.transactions);
    rows.connections.push(...split.connections);
    rows.recordings.push(...split.recordings);
  }
  rows.inbound_calls = calls.map((call) => inboundCallRow(call, now));
  return rows;
}

/**
 * Databases hand numbers and booleans back in their own ways (PostgreSQL numeric as text, MySQL
 * decimal with trailing zeros, booleans as 1/0 or true/false); compare their plain text.
 */
function normalise(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  const text = typeof value === "bigint" ? value.toString() : String(value);
  return /^-?\d+\.\d+$/.test(text) ? text.replace(/\.?0+$/, "") : text;
}

export async function compareWithCampaign(
  dialect: Dialect,
  prefix: string,
  expected: Record<TableKey, Row[]>,
  /** Field names that must be columns of contacts (values are only compared where columns exist). */
  requiredContactColumns: readonly string[] = [],
): Promise<Difference[]> {
  const differences: Difference[] = [];
  for (const table of TABLE_KEYS) {
    const pk = table === "contacts" ? "$id" : "id";
    const stored = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${dialect.quote(dialect.fitIdentifier(prefix + table))}`);
    // Column names as this database holds them: long ones fitted, case folded where it folds.
    const fold = (name: string) => (dialect.caseInsensitiveColumns ? name.toLowerCase() : name);
    const physical = (name: string) => fold(dialect.fitIdentifier(name));
    const byId = new Map(
      stored.map((row) => {
        const folded: Record<string, unknown> = Object.create(null);
        for (const [column, value] of Object.entries(row)) folded[fold(column)] = value;
        return [String(folded[physical(pk)]), folded];
      }),
    );
    const expectedIds = new Set<string>();
    const difference: Difference = { table, missing: [], extra: [], different: [] };
    for (const row of expected[table]) {
      const id = String(row[pk]);
      expectedIds.add(id);
      const actual = byId.get(id);
      if (!actual) {
        difference.missing.push(id);
        continue;
      }
      for (const [key, value] of Object.entries(row)) {
        const column = physical(key);
        if (key === "$changed" || !(column in actual)) continue;
        const want = normalise(value);
        const got = normalise(actual[column]);
        if (want !== got) difference.different.push(`${id} ${key}: expected ${want} got ${got}`);
      }
    }
    for (const id of byId.keys()) if (!expectedIds.has(id)) difference.extra.push(id);
    if (table === "contacts") {
      const columns = new Set((await dialect.existingColumns(dialect.fitIdentifier(prefix + table))).map(fold));
      for (const name of requiredContactColumns) {
        if (!columns.has(physical(name))) difference.different.push(`column ${name} is missing`);
      }
    }
    if (difference.missing.length || difference.extra.length || difference.different.length) differences.push(difference);
  }
  return differences;
}

/** A short text of the first differences, for a failing assertion's message. */
export function describe(differences: readonly Difference[]): string {
  return differences
    .map(
      (d) =>
        `${d.table}: ${d.missing.length} missing, ${d.extra.length} extra, ${d.different.length} different` +
        (d.different.length ? ` (${d.different.slice(0, 3).join("; ")})` : "") +
        (d.missing.length ? ` missing e.g. ${d.missing.slice(0, 3).join(", ")}` : ""),
    )
    .join("\n");
}

/** The simulator's campaign as the truth: contacts with their task logs, and the inbound calls. */
export interface Truth {
  contacts(): Contact[];
  inboundCalls(): InboundCall[];
  fields(): CampaignField[];
}

/** Differences between the target at `url` and the campaign; `[]` when they are equal. */
export async function targetDifferences(url: string, truth: Truth, filter: TransactionFilter = {}, prefix = ""): Promise<Difference[]> {
  const dialect = await openDialect(url);
  try {
    const fieldNames = truth
      .fields()
      .filter((f) => f.type === "field" && !f.deleted)
      .map((f) => f.name);
    return await compareWithCampaign(dialect, prefix, expectedRows(truth.contacts(), truth.inboundCalls(), filter), fieldNames);
  } finally {
    await dialect.close();
  }
}

/** Polls `check` until it holds; a check that throws (tables not made yet, say) counts as "not yet". */
export async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const attempt = () => check().catch(() => false);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await attempt()) return true;
    await Bun.sleep(25);
  }
  return attempt();
}
