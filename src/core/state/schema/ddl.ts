// The CREATE statements of the state store's tables, made from each family's drizzle schema (the
// column types, keys, defaults and indexes declared there), so that the tables a store is given and
// the tables its statements name cannot drift apart. Every statement is IF NOT EXISTS: opening a store
// creates what is missing and leaves what is there.
import { getTableConfig as mysqlConfig } from "drizzle-orm/mysql-core";
import { getTableConfig as pgConfig } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteConfig } from "drizzle-orm/sqlite-core";
import type { StateFamily } from "../db.ts";
import * as mysqlTables from "./mysql.ts";
import * as pgTables from "./pg.ts";
import * as sqliteTables from "./sqlite.ts";

/** What the statements need of a column, the same in every family's drizzle columns. */
export interface ColumnShape {
  name: string;
  notNull: boolean;
  primary: boolean;
  isUnique: boolean;
  hasDefault: boolean;
  default: unknown;
  autoIncrement?: boolean;
  getSQLType(): string;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  primaryKeys: { columns: { name: string }[] }[];
  indexes: { config: { name?: string; columns: unknown[]; unique?: boolean } }[];
}

/** The tables of a family as their statements need them, the schema's version table first. */
export function tableShapes(family: StateFamily): TableShape[] {
  const shapes: Record<StateFamily, () => TableShape[]> = {
    sqlite: () => Object.values(sqliteTables).map((table) => sqliteConfig(table)),
    postgres: () => Object.values(pgTables).map((table) => pgConfig(table)),
    mysql: () => Object.values(mysqlTables).map((table) => mysqlConfig(table)),
  };
  const all = shapes[family]();
  return [...all.filter((table) => table.name === "state_schema"), ...all.filter((table) => table.name !== "state_schema")];
}

const quoted = (family: StateFamily, name: string) => (family === "mysql" ? `\`${name}\`` : `"${name}"`);

/** A primary key the database numbers itself (on PostgreSQL the type, bigserial, does it). */
const AUTO_INCREMENT_KEY: Record<StateFamily, string> = {
  sqlite: "PRIMARY KEY AUTOINCREMENT",
  postgres: "PRIMARY KEY",
  mysql: "AUTO_INCREMENT PRIMARY KEY",
};

/**
 * Every CREATE statement of the family, tables before their indexes. MySQL's tables take the
 * binary `collation` given (see binaryCollation in migrate.ts): text compares byte for byte there.
 */
export function createStatements(family: StateFamily, collation = "utf8mb4_bin"): string[] {
  return tableShapes(family).flatMap((table) => {
    const q = (name: string) => quoted(family, name);
    const composite = table.primaryKeys[0]?.columns.map((column) => q(column.name));
    const body = table.columns.map((column) => columnSql(family, column));
    if (composite) body.push(`PRIMARY KEY (${composite.join(", ")})`);
    const indexes = table.indexes.map(({ config }) => ({
      name: q(config.name ?? ""),
      columns: config.columns.map((column) => q((column as { name: string }).name)).join(", "),
      unique: config.unique ? "UNIQUE " : "",
    }));
    // MySQL has no CREATE INDEX IF NOT EXISTS: its indexes are part of the table.
    if (family === "mysql") body.push(...indexes.map((index) => `${index.unique}INDEX ${index.name} (${index.columns})`));
    const options =
      family === "mysql"
        ? ` ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`
        : family === "sqlite" && composite
          ? " WITHOUT ROWID"
          : "";
    const create = `CREATE TABLE IF NOT EXISTS ${q(table.name)} (\n  ${body.join(",\n  ")}\n)${options}`;
    if (family === "mysql") return [create];
    return [
      create,
      ...indexes.map((index) => `CREATE ${index.unique}INDEX IF NOT EXISTS ${index.name} ON ${q(table.name)} (${index.columns})`),
    ];
  });
}

function columnSql(family: StateFamily, column: ColumnShape): string {
  const parts = [quoted(family, column.name), column.getSQLType()];
  if (column.notNull) parts.push("NOT NULL");
  if (column.hasDefault && column.default !== undefined) parts.push(`DEFAULT ${literal(column.default)}`);
  if (column.primary) parts.push(column.autoIncrement ? AUTO_INCREMENT_KEY[family] : "PRIMARY KEY");
  if (column.isUnique) parts.push("UNIQUE");
  return parts.join(" ");
}

function literal(value: unknown): string {
  if (typeof value === "number") return String(value);
  return `'${String(value).replaceAll("'", "''")}'`;
}
