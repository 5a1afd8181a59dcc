// Reads the contacts the sync wrote, in the order of their change: `$changed`, then `$id`. The
// server's only way into the contacts table; plain SQL through the dialect, so every target works.
import type { Dialect, SqlExecutor } from "./dialect.ts";
import { name, names, raw, sql, type SqlFragment } from "./template.ts";

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

/** How long the table's columns are taken as known: a field the sync adds shows within this. */
const COLUMNS_FRESH_MS = 2_000;

export class ContactReader {
  #columns: { at: number; names: Promise<string[]> } | undefined;

  constructor(
    private readonly dialect: Dialect,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The contacts table's columns as the database has them; [] when the sync has not created it.
   * Asked of the database at most every `maxAgeMs` (every Talkdesk page and lookup needs them).
   */
  columns(maxAgeMs = COLUMNS_FRESH_MS): Promise<string[]> {
    if (!this.#columns || this.now() - this.#columns.at >= maxAgeMs) {
      const names = this.dialect.existingColumns(this.table);
      this.#columns = { at: this.now(), names };
      names.catch(() => {
        if (this.#columns?.names === names) this.#columns = undefined;
      });
    }
    return this.#columns.names;
  }

  /**
   * Contacts changed before `before` and after `after` (all when absent), ascending by change and id,
   * at most `limit`, with the given columns. A contact the sync wrote without `$changed` (dbsync2's
   * rows) sorts first, as changed at "". The conditions compare the plain columns, so that an index
   * on (`$changed`, `$id`) serves them; rows without `$changed` are read in a step of their own.
   * `on` is the transaction to read in, when the rows must be those the transaction sees.
   */
  async page(
    query: { after?: ContactPosition; before: string; limit: number; columns: readonly string[] },
    on: SqlExecutor = this.dialect,
  ): Promise<ContactPage> {
    const after = query.after ?? { changed: "", id: "" };
    const rows: Record<string, unknown>[] = [];
    const changed = name("$changed");
    const id = name("$id");
    if (after.changed === "") {
      // "" (another tool's empty value) counts as no `$changed`.
      const unchanged = sql`(${changed} IS NULL OR ${changed} = '') AND ${id} > ${after.id}`;
      rows.push(...(await this.select(on, query.columns, unchanged, id, query.limit + 1)));
      if (rows.length > query.limit) return { rows: rows.slice(0, query.limit), more: true };
    }
    // The redundant `>=` gives the index its lower bound: without it a page scans from the start of the index.
    const beyond = sql`${changed} > ${after.changed} OR (${changed} = ${after.changed} AND ${id} > ${after.id})`;
    const later =
      after.changed === ""
        ? sql`${changed} > '' AND ${changed} < ${query.before}`
        : sql`${changed} < ${query.before} AND ${changed} >= ${after.changed} AND (${beyond})`;
    rows.push(...(await this.select(on, query.columns, later, sql`${changed}, ${id}`, query.limit + 1 - rows.length)));
    return { rows: rows.slice(0, query.limit), more: rows.length > query.limit };
  }

  private async select(on: SqlExecutor, columns: readonly string[], where: SqlFragment, order: SqlFragment, limit: number) {
    const d = this.dialect;
    const select = names([...new Set(["$id", "$changed", ...columns])]);
    const query = sql`SELECT ${select} FROM ${name(this.table)} WHERE ${where} ORDER BY ${order} ${raw(d.limitClause(limit))}`;
    try {
      return await on.all<Record<string, unknown>>(...query.render(d));
    } catch (error) {
      // No contacts table yet (the sync has not run): no contacts, not a broken database. Inside a
      // transaction the caller asked before, and a local libSQL file would wait for it for ever.
      if (on === this.dialect && (await this.columns()).length === 0) return [];
      throw error;
    }
  }
}
