// The dialect-independent half of an SQL target: which tables and columns must exist, how a batch of
// rows becomes a few multi-row upserts in one transaction (W14), and the $md5 look-up (W15).
import { TargetError, type Dialect, type Row, type SqlValue } from "./dialect.ts";
import { fitIdentifier } from "./identifiers.ts";
import {
  contactsMd5Index,
  TABLE_KEYS,
  tableSpecs,
  type CampaignField,
  type TableKey,
  type TableSpec,
} from "./tables.ts";

export type RowSet = Partial<Record<TableKey, Row[]>>;

interface Statement {
  sql: string;
  params: SqlValue[];
}

export class SqlTarget {
  readonly #dialect: Dialect;
  readonly #prefix: string;
  #specs: Record<TableKey, TableSpec>;
  /** Column names as the database spells them, per table; filled by `prepare`. */
  #columns = new Map<TableKey, string[]>();

  constructor(dialect: Dialect, prefix: string) {
    this.#dialect = dialect;
    this.#prefix = prefix;
    this.#specs = this.#physical(tableSpecs(prefix));
  }

  /**
   * Creates missing tables, adds missing columns and the $id|$md5 index. Idempotent, and callable
   * again while running when new fields appear. Existing tables (also the original client's) are
   * only ever extended, never recreated or retyped.
   */
  async prepare(fields: readonly CampaignField[]): Promise<void> {
    const specs = this.#physical(tableSpecs(this.#prefix, fields));
    for (const key of TABLE_KEYS) {
      const spec = specs[key];
      const existing = await this.#dialect.existingColumns(spec.name);
      if (existing.length === 0) {
        await this.#dialect.run(this.#dialect.createTableSql(spec));
        this.#columns.set(key, spec.columns.map((column) => column.name));
        continue;
      }
      const known = new Set(existing.map((name) => this.#fold(name)));
      const missing = spec.columns.filter((column) => !known.has(this.#fold(column.name)));
      for (const sql of missing.length > 0 ? this.#dialect.addColumnsSql(spec.name, missing) : []) {
        await this.#dialect.run(sql);
      }
      // Once per table and run: the original client's narrow columns are widened in place.
      if (this.#dialect.widenColumnsSql && !this.#columns.has(key)) {
        const named = new Map(existing.map((name) => [this.#fold(name), name]));
        const present = spec.columns.flatMap((column) => {
          const name = named.get(this.#fold(column.name));
          return name === undefined ? [] : [{ ...column, name }];
        });
        for (const sql of await this.#dialect.widenColumnsSql(spec.name, present)) await this.#dialect.run(sql);
      }
      this.#columns.set(key, [...existing, ...missing.map((column) => column.name)]);
    }
    const index = contactsMd5Index(this.#prefix);
    await this.#dialect.run(this.#dialect.createIndexSql(specs.contacts.name, { ...index, name: this.#fit(index.name) }));
    this.#specs = specs;
  }

  /** The columns a table has after `prepare`, including any the database had beyond ours. */
  columns(key: TableKey): readonly string[] {
    return this.#columns.get(key) ?? [];
  }

  /** Stored $md5 per contact id; ids that are not stored are absent from the map. */
  async storedMd5(ids: readonly string[]): Promise<Map<string, string | null>> {
    const d = this.#dialect;
    const unique = [...new Set(ids)];
    const stored = new Map<string, string | null>();
    for (let start = 0; start < unique.length; start += d.maxParams) {
      const chunk = unique.slice(start, start + d.maxParams);
      const placeholders = chunk.map((_, i) => d.placeholder(i + 1)).join(", ");
      const sql =
        `SELECT ${d.quote("$id")} AS id, ${d.quote("$md5")} AS md5 FROM ${d.quote(this.#specs.contacts.name)} ` +
        `WHERE ${d.quote("$id")} IN (${placeholders})`;
      for (const row of await d.all<{ id: unknown; md5: unknown }>(sql, chunk)) {
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
    const statements = TABLE_KEYS.flatMap((key) => this.#upserts(key, rows[key] ?? []));
    if (statements.length === 0) return;
    await this.#dialect.transaction(async (tx) => {
      for (const statement of statements) await tx.run(statement.sql, statement.params);
    });
  }

  async count(key: TableKey): Promise<number> {
    const d = this.#dialect;
    const [row] = await d.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${d.quote(this.#specs[key].name)}`);
    return Number(row?.n ?? 0);
  }

  close(): Promise<void> {
    return this.#dialect.close();
  }

  #upserts(key: TableKey, rows: readonly Row[]): Statement[] {
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
    const d = this.#dialect;
    const statements: Statement[] = [];
    for (const group of groups.values()) {
      const columns = Object.keys(group[0]!);
      const perStatement = Math.max(1, Math.min(d.maxRowsPerStatement, Math.floor(d.maxParams / columns.length)));
      for (let start = 0; start < group.length; start += perStatement) {
        const chunk = group.slice(start, start + perStatement);
        statements.push({
          sql: d.upsertSql(spec.name, this.#primaryKeyColumn(key), columns, chunk.length),
          params: chunk.flatMap((row) => columns.map((column) => row[column] ?? null)),
        });
      }
    }
    return statements;
  }

  /**
   * Renames keys to the database's column names, drops the rest, and folds rows with the same primary
   * key into one, as if they had been upserted one after the other.
   */
  #mergeByPrimaryKey(spec: TableSpec, rows: readonly Row[]): Row[] {
    const columnsByFold = new Map(this.columns(spec.key).map((name) => [this.#fold(name), name]));
    if (columnsByFold.size === 0) throw new TargetError(`${spec.name}: prepare() must run before write()`);
    const primaryKey = this.#primaryKeyColumn(spec.key);
    const byId = new Map<string, Row>();
    for (const row of rows) {
      // No prototype: a field may well be called "__proto__".
      const kept: Row = Object.create(null);
      for (const [name, value] of Object.entries(row)) {
        const column = columnsByFold.get(this.#fold(this.#fit(name)));
        if (column !== undefined && value !== undefined) kept[column] = value;
      }
      const id = kept[primaryKey];
      if (id === null || id === undefined) throw new TargetError(`${spec.name}: a row has no ${spec.primaryKey}`);
      const earlier = byId.get(String(id));
      byId.set(String(id), earlier ? Object.assign(earlier, kept) : kept);
    }
    return [...byId.values()];
  }

  #primaryKeyColumn(key: TableKey): string {
    const primaryKey = this.#specs[key].primaryKey;
    return this.columns(key).find((name) => this.#fold(name) === this.#fold(primaryKey)) ?? primaryKey;
  }

  /** Table and column names as this database can hold them (see core/identifiers.ts). */
  #physical(specs: Record<TableKey, TableSpec>): Record<TableKey, TableSpec> {
    const fitted = {} as Record<TableKey, TableSpec>;
    for (const key of TABLE_KEYS) {
      const spec = specs[key];
      fitted[key] = {
        ...spec,
        name: this.#fit(spec.name),
        columns: spec.columns.map((column) => ({ ...column, name: this.#fit(column.name) })),
      };
    }
    return fitted;
  }

  #fit(name: string): string {
    return fitIdentifier(name, this.#dialect.maxIdentifierBytes);
  }

  #fold(name: string): string {
    return this.#dialect.caseInsensitiveColumns ? name.toLowerCase() : name;
  }
}
