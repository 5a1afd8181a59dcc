// The lines the pipeline logs about its own work, so that a log read later tells what a run did:
// what each poll wrote and how far behind it is, and which columns new fields got.
import type { AddedColumn, RowCounts } from "./sink.ts";
import { TABLE_KEYS } from "./tables.ts";

/** A campaign may gain hundreds of fields at once: the line names this many and counts the rest. */
const NAMED_AT_MOST = 20;

/** `PLZ, Ort, a_long_name… (column a_long_name_1a2b3c4d)`; fields are named as the campaign names them. */
export function columnList(added: readonly AddedColumn[]): string {
  const named = added
    .slice(0, NAMED_AT_MOST)
    .map(({ field, column }) => (column === field ? oneLine(field) : `${oneLine(field)} (column ${oneLine(column)})`));
  const more = added.length - named.length;
  return `${named.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

/**
 * What a new field list did: the columns added (to tables that were there before, also at the start
 * of a run against an older table), or, for a sink without columns, the new fields by name.
 */
export function fieldsLine({
  changed,
  newFields,
  added,
}: {
  changed: boolean;
  newFields: readonly string[];
  added: readonly AddedColumn[];
}): string | undefined {
  const columns = `${added.length} ${added.length === 1 ? "column" : "columns"}`;
  if (added.length > 0) {
    const what = changed ? `the campaign's field list changed; added ${columns}` : `added ${columns} the existing tables lacked`;
    return `${what}: ${columnList(added)}`;
  }
  if (!changed) return undefined;
  const named = newFields.map((name) => ({ table: "", field: name, column: name }));
  return `the campaign's field list changed${named.length > 0 ? `; new fields: ${columnList(named)}` : ""}`;
}

/** The rows a poll wrote: `after` minus `before`, per table. */
export function rowsSince(before: RowCounts, after: RowCounts): RowCounts {
  const written: RowCounts = {};
  for (const key of TABLE_KEYS) {
    const n = (after[key] ?? 0) - (before[key] ?? 0);
    if (n > 0) written[key] = n;
  }
  return written;
}

/**
 * One line for a poll that fetched or wrote something; undefined for one that did not. Webhook mode
 * writes no rows: its sink counts the deliveries it recorded as transactions.
 */
export function pollLine(written: RowCounts, contacts: number, lagMs: number, webhook = false): string | undefined {
  const tables = TABLE_KEYS.filter((key) => (written[key] ?? 0) > 0).map((key) => `${key} ${count(written[key] ?? 0)}`);
  if (tables.length === 0 && contacts === 0) return undefined;
  const what = webhook ? `deliveries recorded: ${count(written.transactions ?? 0)}` : `rows written: ${tables.join(", ") || "none"}`;
  return `poll: ${count(contacts)} ${contacts === 1 ? "contact" : "contacts"} fetched; ${what}; lag ${(lagMs / 1000).toFixed(1)} s`;
}

function count(n: number): string {
  return n.toLocaleString("en");
}

/** A field name is the campaign's text: a line break in one must not split a log line. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: line breaks and other control characters are what must be replaced here
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, "?");
}
