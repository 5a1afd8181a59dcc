// The ceiling of an initial load: the rows db_init writes, written straight into the same database
// by the fastest plain method its driver offers, without the API, the pipeline or our SQL layer:
// COPY for PostgreSQL, multi-row INSERT … ON DUPLICATE KEY UPDATE in large statements for MariaDB,
// multi-row INSERTs in one write batch for libSQL. Tables are made by our SqlTarget first (the same
// DDL as the sync's, under a prefix of their own); only the writing is timed.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createClient } from "@libsql/client";
import mysql from "mysql2/promise";
import postgres from "postgres";
import type { Row } from "../../src/core/sql/dialect.ts";
import { SqlTarget } from "../../src/core/sql/target.ts";
import { TABLE_KEYS, type CampaignField, type TableKey } from "../../src/core/sync/tables.ts";
import { openDialect } from "../../src/dialects/index.ts";

export type DatabaseKind = "libsql" | "postgres" | "mysql";

/** The table's columns as created, and each row's values in that order (keys matched case-insensitively). */
function layout(
  rows: readonly Row[],
  columns: readonly string[],
  numeric: ReadonlySet<string>,
): { columns: string[]; values: unknown[][] } {
  const byFolded = new Map(columns.map((c) => [c.toLowerCase(), c]));
  const used = new Set<string>();
  for (const row of rows)
    for (const key of Object.keys(row)) if (byFolded.has(key.toLowerCase())) used.add(byFolded.get(key.toLowerCase()) as string);
  const ordered = columns.filter((c) => used.has(c));
  const keyOf = new Map<string, string>();
  for (const row of rows) for (const key of Object.keys(row)) keyOf.set(byFolded.get(key.toLowerCase()) ?? "", key);
  const values = rows.map((row) =>
    ordered.map((column) => {
      const value = row[keyOf.get(column) ?? column] ?? null;
      // A numeric column takes numbers only (our target stores anything else as NULL too).
      if (numeric.has(column) && value !== null && !/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(String(value).trim())) return null;
      return value;
    }),
  );
  return { columns: ordered, values };
}

/** Seconds to write `rows` into fresh tables `<prefix><table>` of `url`; the tables are left behind. */
export async function ceilingSeconds(
  kind: DatabaseKind,
  url: string,
  prefix: string,
  fields: CampaignField[],
  rows: Record<TableKey, Row[]>,
): Promise<number> {
  const dialect = await openDialect(url);
  const target = new SqlTarget(dialect, prefix);
  await target.prepare(fields);
  const tables: { name: string; columns: string[]; values: unknown[][] }[] = [];
  for (const key of TABLE_KEYS) {
    const name = dialect.fitIdentifier(`${prefix}${key}`);
    const columns = await dialect.existingColumns(name);
    const numeric = new Set(
      (await dialect.all<{ c: string }>(numericColumnsSql(kind), kind === "libsql" ? [name] : [name])).map((r) => String(r.c)),
    );
    tables.push({ name, ...layout(rows[key], columns, numeric) });
  }
  await dialect.close();
  const started = performance.now();
  if (kind === "postgres") await copyInto(url, tables);
  else if (kind === "mysql") await insertMysql(url, tables);
  else await insertLibsql(url, tables);
  return (performance.now() - started) / 1000;
}

function numericColumnsSql(kind: DatabaseKind): string {
  if (kind === "libsql") return "SELECT name AS c FROM pragma_table_info(?) WHERE type = 'NUMERIC'";
  if (kind === "postgres")
    return "SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1 AND data_type IN ('numeric', 'bigint', 'integer')";
  return "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND data_type IN ('decimal', 'bigint', 'int')";
}

function copyText(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value).replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

async function copyInto(url: string, tables: { name: string; columns: string[]; values: unknown[][] }[]): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      for (const table of tables) {
        if (table.values.length === 0) continue;
        const writable = await tx`COPY ${tx(table.name)} (${tx(table.columns)}) FROM STDIN`.writable();
        const lines = function* () {
          for (let i = 0; i < table.values.length; i += 1000) {
            yield table.values
              .slice(i, i + 1000)
              .map((row) => `${row.map(copyText).join("\t")}\n`)
              .join("");
          }
        };
        await pipeline(Readable.from(lines()), writable);
      }
    });
  } finally {
    await sql.end();
  }
}

async function insertMysql(url: string, tables: { name: string; columns: string[]; values: unknown[][] }[]): Promise<void> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    await connection.beginTransaction();
    for (const table of tables) {
      const columns = table.columns.map((c) => `\`${c.replaceAll("`", "``")}\``);
      const updates = columns.map((c) => `${c} = VALUES(${c})`).join(", ");
      for (let i = 0; i < table.values.length; i += 2000) {
        await connection.query(`INSERT INTO \`${table.name}\` (${columns.join(", ")}) VALUES ? ON DUPLICATE KEY UPDATE ${updates}`, [
          table.values.slice(i, i + 2000).map((row) => row.map((v) => (typeof v === "boolean" ? Number(v) : v))),
        ]);
      }
    }
    await connection.commit();
  } finally {
    await connection.end();
  }
}

async function insertLibsql(url: string, tables: { name: string; columns: string[]; values: unknown[][] }[]): Promise<void> {
  const client = createClient({ url });
  try {
    const statements = [];
    for (const table of tables) {
      const quoted = table.columns.map((c) => `"${c.replaceAll('"', '""')}"`);
      const perStatement = Math.max(1, Math.floor(32_766 / quoted.length));
      for (let i = 0; i < table.values.length; i += perStatement) {
        const part = table.values.slice(i, i + perStatement);
        const row = `(${quoted.map(() => "?").join(", ")})`;
        statements.push({
          sql: `INSERT INTO "${table.name}" (${quoted.join(", ")}) VALUES ${part.map(() => row).join(", ")} ON CONFLICT DO NOTHING`,
          args: part.flat().map((v) => (typeof v === "boolean" ? Number(v) : v)) as (string | number | null)[],
        });
      }
    }
    await client.batch(statements, "write");
  } finally {
    client.close();
  }
}
