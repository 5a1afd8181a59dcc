// Compares a target database with the simulator's campaign, table by table, row by row.
import type { Dialect, Row } from "../../src/core/dialect.ts";
import { openDialect } from "../../src/dialects/index.ts";
import { contactRows, inboundCallRow, type TransactionFilter } from "../../src/core/rows.ts";
import type { Contact, InboundCall } from "../../src/core/source.ts";
import { TABLE_KEYS, type TableKey } from "../../src/core/tables.ts";

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

/** Databases hand numbers and booleans back in their own ways; compare their text. */
function normalise(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "bigint") return value.toString();
  return String(value);
}

export async function compareWithCampaign(
  dialect: Dialect,
  prefix: string,
  expected: Record<TableKey, Row[]>,
): Promise<Difference[]> {
  const differences: Difference[] = [];
  for (const table of TABLE_KEYS) {
    const pk = table === "contacts" ? "$id" : "id";
    const stored = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${dialect.quote(prefix + table)}`);
    const byId = new Map(stored.map((row) => [String(row[pk]), row]));
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
      for (const [column, value] of Object.entries(row)) {
        if (column === "$changed" || !(column in actual)) continue;
        const want = normalise(value);
        const got = normalise(actual[column]);
        if (want !== got) difference.different.push(`${id} ${column}: expected ${want} got ${got}`);
      }
    }
    for (const id of byId.keys()) if (!expectedIds.has(id)) difference.extra.push(id);
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
}

/** Differences between the target at `url` and the campaign; `[]` when they are equal. */
export async function targetDifferences(url: string, truth: Truth, filter: TransactionFilter = {}, prefix = ""): Promise<Difference[]> {
  const dialect = await openDialect(url);
  try {
    return await compareWithCampaign(dialect, prefix, expectedRows(truth.contacts(), truth.inboundCalls(), filter));
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
