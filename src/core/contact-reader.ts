// Reads the contacts the sync wrote, in the order of their change: `$changed`, then `$id`. The
// server's only way into the contacts table; plain SQL through the dialect, so every target works.
import type { Dialect } from "./dialect.ts";

/** A place in the order of changes: after this contact, every later one. */
export interface ContactPosition {
  changed: string;
  id: string;
}

export interface ContactPage {
  rows: Record<string, unknown>[];
  /** Whether contacts beyond this page match too. */
  more: boolean;
}

export class ContactReader {
  constructor(
    private readonly dialect: Dialect,
    private readonly table: string,
  ) {}

  /** The contacts table's columns as the database has them; [] when the sync has not created it. */
  columns(): Promise<string[]> {
    return this.dialect.existingColumns(this.table);
  }

  /**
   * Contacts changed before `before` and after `after` (all when absent), ascending by change and id,
   * at most `limit`, with the given columns. A contact the sync wrote without `$changed` (dbsync2's
   * rows) sorts first, as changed at "".
   */
  async page(query: { after?: ContactPosition; before: string; limit: number; columns: readonly string[] }): Promise<ContactPage> {
    const d = this.dialect;
    const changed = `COALESCE(${d.quote("$changed")}, '')`;
    const id = d.quote("$id");
    const params: string[] = [query.before];
    let where = `${changed} < ${d.placeholder(1)}`;
    if (query.after) {
      params.push(query.after.changed, query.after.changed, query.after.id);
      where += ` AND (${changed} > ${d.placeholder(2)} OR (${changed} = ${d.placeholder(3)} AND ${id} > ${d.placeholder(4)}))`;
    }
    const select = [...new Set(["$id", "$changed", ...query.columns])].map((c) => d.quote(c)).join(", ");
    const sql = `SELECT ${select} FROM ${d.quote(this.table)} WHERE ${where} ORDER BY ${changed}, ${id} ${d.limitClause(query.limit + 1)}`;
    const rows = await d.all<Record<string, unknown>>(sql, params);
    return { rows: rows.slice(0, query.limit), more: rows.length > query.limit };
  }
}
