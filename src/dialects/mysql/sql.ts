// MySQL's SQL: names of up to 64 characters quoted with backticks, `?` placeholders, text as
// utf8mb4 longtext, keys of a bounded length, and statements no longer than the server's packet.
import { Buffer } from "node:buffer";
import type { IndexSpec, SqlExecutor, UpsertBatch } from "../../core/sql/dialect.ts";
import { characters, fitIdentifier } from "../../core/sql/identifiers.ts";
import type { Column, LogicalType, TableLayout } from "../../core/sync/tables.ts";
import { name, names, sql } from "../../core/sql/template.ts";
import { BaseSql } from "../shared/dialect.ts";
import { mayReplace } from "../shared/version-guard.ts";
import type { MysqlServer } from "./connection.ts";
import { serverErrno } from "./errors.ts";
import { COLUMN_TYPES, INDEXED_CONTACT_COLUMNS, KEY_TYPE } from "./types.ts";
import { format } from "./values.ts";
import { widenColumnsSql } from "./widen.ts";

/** ER_DUP_KEYNAME: the index exists already (MySQL has no CREATE INDEX IF NOT EXISTS). */
const DUPLICATE_INDEX = 1061;

export class MysqlSql extends BaseSql {
  readonly kind = "mysql";
  /** Values are escaped into the text, so only the packet size limits a statement (see upsertRows). */
  readonly maxParams = 65535;
  readonly indexesTextColumns = false;
  readonly caseInsensitiveColumns = true;

  constructor(readonly server: MysqlServer) {
    super();
  }

  /**
   * 64 characters. MySQL also refuses characters outside the Basic Multilingual Plane (emoji) and
   * names ending in a space: such names get the hashed form of what is left of them.
   */
  fitIdentifier(name: string): string {
    const holdable = [...name]
      .filter((char) => (char.codePointAt(0) ?? 0) <= 0xffff)
      .join("")
      .replace(/\s+$/, "");
    return fitIdentifier(name, 64, characters, holdable || "field");
  }

  quote(identifier: string): string {
    return `\`${identifier.replaceAll("`", "``")}\``;
  }

  placeholder(_n: number): string {
    return "?";
  }

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(on: SqlExecutor, table: string): Promise<string[]> {
    const query = sql`SELECT column_name AS name, table_name AS table_name FROM information_schema.columns
                       WHERE table_schema = DATABASE() AND table_name = ${table} ORDER BY ordinal_position`;
    const rows = await on.all<{ name: string; table_name: string }>(...query.render(this));
    return rows.filter((row) => this.isTable(row.table_name, table)).map((row) => String(row.name));
  }

  /**
   * Whether `found` (a name information_schema gave) is the table `wanted`, as the server resolves
   * table names: exactly where lower_case_table_names is 0 (Linux's default, where `dfire_contacts`
   * and `DFIRE_contacts` are two tables), else ignoring case. (information_schema may compare
   * ignoring case either way.)
   */
  isTable(found: unknown, wanted: string): boolean {
    const name = String(found);
    return this.server.lowerCaseTableNames === 0 ? name === wanted : name.toLowerCase() === wanted.toLowerCase();
  }

  widenColumnsSql(on: SqlExecutor, table: string, columns: readonly Column[]): Promise<string[]> {
    return widenColumnsSql(this, on, table, columns);
  }

  override createTableSql(spec: TableLayout): string {
    const columns = spec.columns.map((column) => {
      if (column.name === spec.primaryKey) return `${this.quote(column.name)} ${KEY_TYPE} NOT NULL`;
      if (spec.key === "contacts" && INDEXED_CONTACT_COLUMNS.has(column.name)) return `${this.quote(column.name)} ${KEY_TYPE}`;
      return `${this.quote(column.name)} ${this.columnType(column.type)}`;
    });
    return (
      `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columns.join(", ")}, PRIMARY KEY (${this.quote(spec.primaryKey)})) ` +
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    );
  }

  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    const added = columns.map((column) => `ADD COLUMN ${this.quote(column.name)} ${this.columnType(column.type)}`);
    return [`ALTER TABLE ${this.quote(table)} ${added.join(", ")}`];
  }

  /** Without IF NOT EXISTS, which MySQL lacks: createIndex takes an existing index as success. */
  override createIndexSql(table: string, index: IndexSpec): string {
    return sql`CREATE INDEX ${name(index.name)} ON ${name(table)} (${names(index.columns)})`.render(this)[0];
  }

  override async createIndex(on: SqlExecutor, table: string, index: IndexSpec): Promise<void> {
    try {
      await on.run(this.createIndexSql(table, index));
    } catch (error) {
      if (serverErrno(error) !== DUPLICATE_INDEX) throw error;
    }
  }

  /**
   * `VALUES(c)`, not MySQL 8's row alias, which MariaDB lacks (MySQL 8 only warns that it is
   * deprecated). ON DUPLICATE KEY UPDATE has no WHERE, so with a version every assignment asks the
   * guard itself (IF). It assigns left to right, each assignment seeing the ones before it as done, so
   * the version is assigned last: every guard sees the stored version, whether the server assigns in
   * order or at once (MariaDB's SIMULTANEOUS_ASSIGNMENT).
   */
  override upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number, version?: string): string {
    const key = primaryKey.toLowerCase();
    const isVersion = (column: string) => version !== undefined && column.toLowerCase() === version.toLowerCase();
    const updated = columns.filter((column) => column.toLowerCase() !== key);
    const ordered = [...updated.filter((column) => !isVersion(column)), ...updated.filter(isVersion)];
    const guard = version === undefined ? undefined : mayReplace(this.quote(version), `VALUES(${this.quote(version)})`);
    const updates = ordered.map((column) => {
      const quoted = this.quote(column);
      return guard === undefined ? `${quoted} = VALUES(${quoted})` : `${quoted} = IF(${guard}, VALUES(${quoted}), ${quoted})`;
    });
    // Only the key: a no-op update (INSERT IGNORE would also swallow real errors).
    if (updates.length === 0) updates.push(`${this.quote(primaryKey)} = ${this.quote(primaryKey)}`);
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    const rows = this.placeholderRows(rowCount, columns.length);
    return `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${rows} ON DUPLICATE KEY UPDATE ${updates.join(", ")}`;
  }

  /**
   * Cut in halves while the statement, values written in, would exceed max_allowed_packet (possible
   * with many long values in one multi-row upsert); all of them run through the same `on`.
   */
  protected override async upsertRows(on: SqlExecutor, batch: UpsertBatch): Promise<void> {
    const { table, primaryKey, columns, rows, version } = batch;
    const statement = this.upsertSql(table, primaryKey, columns, rows.length, version);
    const params = rows.flat();
    if (rows.length < 2 || Buffer.byteLength(format(statement, params)) <= this.server.maxStatementBytes) {
      await on.run(statement, params);
      return;
    }
    const half = Math.ceil(rows.length / 2);
    await this.upsertRows(on, { ...batch, rows: rows.slice(0, half) });
    await this.upsertRows(on, { ...batch, rows: rows.slice(half) });
  }
}
