// The dialect-independent half of an SQL target: which tables and columns must exist, how a batch of
// rows becomes a few upserts in one transaction (all of the batch or none of it), and the look-up of
// the stored $md5 that lets unchanged contacts be skipped.
import { TargetError, type Dialect, type Row, type SqlValue, type UpsertBatch } from "./dialect.ts";
import { name, sql, values } from "./template.ts";
import { md5Hex } from "../common/md5.ts";
import type { AddedColumn } from "../sync/sink.ts";
import {
  contactsChangedIndex,
  contactsMd5Index,
  TABLE_KEYS,
  tableSpecs,
  type CampaignField,
  type TableKey,
  type TableSpec,
} from "../sync/tables.ts";

export type RowSet = Partial<Record<TableKey, Row[]>>;

export interface SqlTargetOptions {
  /** Told once per column about values the column cannot hold (stored as NULL instead). */
  onWarning?: (message: string) => void;
  /**
   * Keep a stored row whose `$changed` is newer than the incoming one's. For replicas sharing a
   * campaign, where one that stalled may write late; off for a single sync, where it would only
   * drop updates after the machine's clock went back.
   */
  keepNewerRows?: boolean;
}

/** How one table's row keys become its columns; made by `prepare`. */
interface Layout {
  /** Field (row key) → the column that holds it, as the database spells it. */
  columnOf: Map<string, string>;
  /** Columns the database has beyond ours (folded name → name); keys matching them are written too. */
  extras: Map<string, string>;
  /** Columns of logical type int: only numbers go in. */
  numeric: Set<string>;
  all: string[];
}

/** What a numeric column accepts: a number, or its exact decimal text. */
const DECIMAL = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/;

export class SqlTarget {
  readonly #dialect: Dialect;
  readonly #prefix: string;
  readonly #options: SqlTargetOptions;
  #specs: Record<TableKey, TableSpec>;
  #layouts = new Map<TableKey, Layout>();
  readonly #warned = new Set<string>();

  constructor(dialect: Dialect, prefix: string, options: SqlTargetOptions = {}) {
    this.#dialect = dialect;
    this.#prefix = prefix;
    this.#options = options;
    this.#specs = this.#withTableNames(tableSpecs(prefix));
  }

  /**
   * Creates missing tables, adds missing columns and the $id|$md5 index. Idempotent, and callable
   * again while running when new fields appear. Existing tables (also the original client's) are
   * only ever extended, never recreated or retyped.
   */
  async prepare(fields: readonly CampaignField[]): Promise<AddedColumn[]> {
    const specs = this.#withTableNames(tableSpecs(this.#prefix, fields));
    const added: AddedColumn[] = [];
    for (const key of TABLE_KEYS) {
      const spec = specs[key];
      const existing = await this.#dialect.existingColumns(spec.name);
      const layout = this.#layout(spec, existing);
      const physical = spec.columns.map((column) => ({ ...column, name: layout.columnOf.get(column.name) as string }));
      if (existing.length === 0) {
        await this.#dialect.run(
          this.#dialect.createTableSql({ ...spec, columns: physical, primaryKey: layout.columnOf.get(spec.primaryKey) as string }),
        );
      } else {
        const known = new Set(existing);
        const missing = physical.filter((column) => !known.has(column.name));
        for (const [i, column] of physical.entries()) {
          if (!known.has(column.name)) added.push({ table: spec.name, field: spec.columns[i]?.name ?? column.name, column: column.name });
        }
        for (const sql of missing.length > 0 ? this.#dialect.addColumnsSql(spec.name, missing) : []) {
          await this.#dialect.run(sql);
        }
        // Once per table and run: the original client's narrow columns are widened in place.
        if (!this.#layouts.has(key)) {
          const present = physical.filter((column) => known.has(column.name));
          for (const sql of await this.#dialect.widenColumnsSql(spec.name, present)) await this.#dialect.run(sql);
        }
      }
      layout.all = [...new Set([...existing, ...physical.map((column) => column.name)])];
      this.#layouts.set(key, layout);
    }
    const index = contactsMd5Index(this.#prefix);
    const contacts = this.#layouts.get("contacts") as Layout;
    const indexes = this.#dialect.indexesTextColumns ? [index, contactsChangedIndex(this.#prefix)] : [index];
    for (const { name: indexName, columns } of indexes) {
      await this.#dialect.createIndex(specs.contacts.name, {
        name: this.#dialect.fitIdentifier(indexName),
        columns: columns.map((column) => contacts.columnOf.get(column) as string),
      });
    }
    this.#specs = specs;
    return added;
  }

  /** The columns a table has after `prepare`, including any the database had beyond ours. */
  columns(key: TableKey): readonly string[] {
    return this.#layouts.get(key)?.all ?? [];
  }

  /** Stored $md5 per contact id; ids that are not stored are absent from the map. */
  async storedMd5(ids: readonly string[]): Promise<Map<string, string | null>> {
    const d = this.#dialect;
    const unique = [...new Set(ids)];
    const stored = new Map<string, string | null>();
    const id = name(this.#column("contacts", "$id"));
    const md5 = name(this.#column("contacts", "$md5"));
    for (let start = 0; start < unique.length; start += d.maxParams) {
      const chunk = unique.slice(start, start + d.maxParams);
      const query = sql`SELECT ${id} AS id, ${md5} AS md5 FROM ${name(this.#specs.contacts.name)} WHERE ${id} IN (${values(chunk)})`;
      for (const row of await d.all<{ id: unknown; md5: unknown }>(...query.render(d))) {
        stored.set(String(row.id), row.md5 == null ? null : String(row.md5));
      }
    }
    return stored;
  }

  /**
   * Upserts every row of every table in one database transaction: all of the batch or none of it.
   * Keys present with null are written as NULL; keys absent from a row keep the stored value; keys
   * that are not columns are dropped; of rows sharing a primary key the later ones win.
   */
  async write(rows: RowSet): Promise<void> {
    const upserts = TABLE_KEYS.flatMap((key) => this.#upserts(key, rows[key] ?? []));
    if (upserts.length === 0) return;
    await this.#dialect.transaction(async (tx) => {
      for (const batch of upserts) await this.#dialect.upsert(tx, batch);
    });
  }

  async count(key: TableKey): Promise<number> {
    const d = this.#dialect;
    const [row] = await d.all<{ n: unknown }>(...sql`SELECT COUNT(*) AS n FROM ${name(this.#specs[key].name)}`.render(d));
    return Number(row?.n ?? 0);
  }

  close(): Promise<void> {
    return this.#dialect.close();
  }

  #upserts(key: TableKey, rows: readonly Row[]): UpsertBatch[] {
    if (rows.length === 0) return [];
    const spec = this.#specs[key];
    const merged = this.#mergeByPrimaryKey(spec, rows);
    // One statement needs one column list, so rows are grouped by the columns they carry.
    const groups = new Map<string, Row[]>();
    for (const row of merged) {
      const signature = Object.keys(row).sort().join("\u0000");
      const group = groups.get(signature);
      if (group) group.push(row);
      else groups.set(signature, [row]);
    }
    const version = spec.version === undefined || !this.#options.keepNewerRows ? undefined : this.#column(key, spec.version);
    return [...groups.values()].map((group) => {
      const columns = Object.keys(group[0]);
      const cells = group.map((row) => columns.map((column) => row[column] ?? null));
      const batch: UpsertBatch = { table: spec.name, primaryKey: this.#primaryKeyColumn(key), columns, rows: cells };
      // Rows without their version carry no order: they replace the stored row, as a NULL version does.
      return version !== undefined && columns.includes(version) ? { ...batch, version } : batch;
    });
  }

  /**
   * Renames keys to the database's column names, drops the rest, and folds rows with the same primary
   * key into one, as if they had been upserted one after the other.
   */
  #mergeByPrimaryKey(spec: TableSpec, rows: readonly Row[]): Row[] {
    const layout = this.#layouts.get(spec.key);
    if (!layout) throw new TargetError(`${spec.name}: prepare() must run before write()`);
    const primaryKey = this.#column(spec.key, spec.primaryKey);
    const byId = new Map<string, Row>();
    for (const row of rows) {
      // No prototype: a field may well be called "__proto__".
      const kept: Row = Object.create(null);
      for (const name in row) {
        const value = row[name] as SqlValue | undefined;
        const column = layout.columnOf.get(name) ?? layout.extras.get(this.#fold(this.#dialect.fitIdentifier(name)));
        if (column === undefined || value === undefined) continue;
        kept[column] = layout.numeric.has(column) ? this.#numeric(spec.name, column, value) : value;
      }
      const id = kept[primaryKey];
      if (id === null || id === undefined) throw new TargetError(`${spec.name}: a row has no ${spec.primaryKey}`);
      const earlier = byId.get(String(id));
      byId.set(String(id), earlier ? Object.assign(earlier, kept) : kept);
    }
    return [...byId.values()];
  }

  /**
   * A value a numeric column cannot hold ("12,5", "n/a") would make the database refuse the whole
   * batch, for ever; it is stored as NULL instead, and said once per column.
   */
  #numeric(table: string, column: string, value: SqlValue): SqlValue {
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "number" ? Number.isFinite(value) : DECIMAL.test(value.trim())) {
      return typeof value === "string" ? value.trim() : value;
    }
    const where = `${table}.${column}`;
    if (!this.#warned.has(where)) {
      this.#warned.add(where);
      this.#options.onWarning?.(
        `${where} holds numbers; "${String(value).slice(0, 40)}" is none and is stored as NULL (said once per column)`,
      );
    }
    return null;
  }

  /**
   * Which column holds which field. A column keeps belonging to the field whose exact name it has;
   * where the database folds case (MySQL, SQL Server), a second field that would land on the same
   * column (`PLZ` and `plz`) gets a column of its own with a hashed name instead of mixing values.
   */
  #layout(spec: TableSpec, existing: readonly string[]): Layout {
    const exact = new Set(existing);
    const byFold = new Map(existing.map((name) => [this.#fold(name), name]));
    const columnOf = new Map<string, string>();
    const owned = new Set<string>();
    const claim = (field: string, column: string) => {
      columnOf.set(field, column);
      owned.add(this.#fold(column));
    };
    for (const { name } of spec.columns) {
      const fitted = this.#dialect.fitIdentifier(name);
      if (exact.has(fitted) && !owned.has(this.#fold(fitted))) claim(name, fitted);
    }
    for (const { name } of spec.columns) {
      if (columnOf.has(name)) continue;
      let column = this.#dialect.fitIdentifier(name);
      if (owned.has(this.#fold(column))) column = this.#dialect.fitIdentifier(`${name}_${md5Hex(name).slice(0, 8)}`);
      claim(name, byFold.get(this.#fold(column)) ?? column);
    }
    const extras = new Map(existing.filter((name) => !owned.has(this.#fold(name))).map((name) => [this.#fold(name), name]));
    const numeric = new Set(spec.columns.filter((column) => column.type === "int").map((column) => columnOf.get(column.name) as string));
    return { columnOf, extras, numeric, all: [...existing] };
  }

  /** The column holding a field (its own name until `prepare` has run). */
  #column(key: TableKey, field: string): string {
    return this.#layouts.get(key)?.columnOf.get(field) ?? field;
  }

  #primaryKeyColumn(key: TableKey): string {
    return this.#column(key, this.#specs[key].primaryKey);
  }

  /** Table names as this database can hold them (see core/sql/identifiers.ts). */
  #withTableNames(specs: Record<TableKey, TableSpec>): Record<TableKey, TableSpec> {
    const named = {} as Record<TableKey, TableSpec>;
    for (const key of TABLE_KEYS) named[key] = { ...specs[key], name: this.#dialect.fitIdentifier(specs[key].name) };
    return named;
  }

  #fold(name: string): string {
    return this.#dialect.caseInsensitiveColumns ? name.toLowerCase() : name;
  }
}
