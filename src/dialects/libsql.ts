// The embedded default target: SQLite through libSQL, as a local file, in memory, or a libSQL server.
import { createClient, type Client, type InStatement, type InValue, type ResultSet, type Transaction } from "@libsql/client";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { columnDefinitions, TargetError, type Dialect, type SqlExecutor, type SqlValue, limitRows } from "../core/dialect.ts";
import { libsqlReason, type ParsedLibsqlUrl, parseLibsqlUrl as parseUrl } from "../core/libsql-url.ts";
import type { Column, LogicalType, TableSpec } from "../core/tables.ts";

/** How long a statement waits for another process's write lock (e.g. the server) before failing. */
const BUSY_TIMEOUT_MS = 10_000;

/** SQLite has no length limits, so every string kind is TEXT and long values are stored whole (W18). */
const COLUMN_TYPES: Record<LogicalType, string> = {
  short_string: "TEXT",
  string: "TEXT",
  text: "TEXT",
  int: "NUMERIC",
  bool: "BOOLEAN",
};


export async function createLibsqlDialect(url: string): Promise<Dialect> {
  const parsed = parseLibsqlUrl(url);
  if (parsed.filePath !== undefined) await createParentDirectory(parsed);

  let client: Client;
  try {
    client = createClient({
      url: parsed.clientUrl,
      authToken: parsed.authToken,
      // bigint so that no integer is ever rounded or refused on read; `toPlain` narrows it again
      intMode: "bigint",
      timeout: BUSY_TIMEOUT_MS,
    });
  } catch (error) {
    throw targetError(parsed.safeUrl, "cannot open the database", error, parsed.clientUrl);
  }
  const dialect = new LibsqlDialect(client, parsed.safeUrl);
  try {
    // WAL lets a reader (the server) and the sync share the file without blocking each other.
    if (parsed.filePath !== undefined) await client.execute("PRAGMA journal_mode=WAL");
    else await client.execute("SELECT 1");
  } catch (error) {
    client.close();
    throw targetError(parsed.safeUrl, "cannot open the database", error);
  }
  return dialect;
}

class LibsqlDialect implements Dialect {
  readonly kind = "sqlite";
  /** SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32. */
  readonly maxParams = 32766;
  /** Keeps statement text and parse time moderate; the parameter limit usually bites first. */
  readonly maxRowsPerStatement = 500;
  readonly indexesTextColumns = true;
  readonly caseInsensitiveColumns = true;

  readonly #client: Client;
  /**
   * libSQL runs statements synchronously on the JS thread, so a second writer inside this process
   * would block the thread on the busy timeout while the first one can never finish. Everything
   * therefore runs one after the other (an in-memory database has a single connection anyway).
   */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    client: Client,
    readonly safeUrl: string,
  ) {
    this.#client = client;
  }

  /** SQLite has no length limit on names. */
  fitIdentifier(name: string): string {
    return name;
  }

  quote(identifier: string): string {
    return `"${identifier.replaceAll('"', '""')}"`;
  }

  placeholder(_n: number): string {
    return "?";
  }

  limitClause(n: number): string {
    return limitRows(n);
  }

  columnType(type: LogicalType): string {
    return COLUMN_TYPES[type];
  }

  async existingColumns(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>("SELECT name FROM pragma_table_info(?, 'main')", [table]);
    return rows.map((row) => String(row.name));
  }

  createTableSql(spec: TableSpec): string {
    return `CREATE TABLE IF NOT EXISTS ${this.quote(spec.name)} (${columnDefinitions(this, spec)})`;
  }

  /** SQLite adds one column per ALTER TABLE. */
  addColumnsSql(table: string, columns: readonly Column[]): string[] {
    return columns.map(
      (column) => `ALTER TABLE ${this.quote(table)} ADD COLUMN ${this.quote(column.name)} ${this.columnType(column.type)}`,
    );
  }

  createIndexSql(table: string, index: { name: string; columns: readonly string[] }): string {
    const columns = index.columns.map((column) => this.quote(column)).join(", ");
    return `CREATE INDEX IF NOT EXISTS ${this.quote(index.name)} ON ${this.quote(table)} (${columns})`;
  }

  upsertSql(table: string, primaryKey: string, columns: readonly string[], rowCount: number): string {
    const row = `(${columns.map(() => "?").join(", ")})`;
    const values = Array.from({ length: rowCount }, () => row).join(", ");
    const updates = columns
      .filter((column) => column.toLowerCase() !== primaryKey.toLowerCase())
      .map((column) => `${this.quote(column)} = excluded.${this.quote(column)}`);
    const onConflict = updates.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${updates.join(", ")}`;
    const columnList = columns.map((column) => this.quote(column)).join(", ");
    return `INSERT INTO ${this.quote(table)} (${columnList}) VALUES ${values} ON CONFLICT(${this.quote(primaryKey)}) ${onConflict}`;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#exclusive(() => runOn(this.#client, this.safeUrl, sql, params));
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#exclusive(() => allOn<T>(this.#client, this.safeUrl, sql, params));
  }

  /** `work` must use the `tx` it is given: calling the dialect itself from inside would wait forever. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      let tx: Transaction;
      try {
        tx = await this.#client.transaction("write");
      } catch (error) {
        throw targetError(this.safeUrl, "cannot start a transaction", error);
      }
      try {
        const executor: SqlExecutor = {
          run: (sql, params = []) => runOn(tx, this.safeUrl, sql, params),
          all: <R>(sql: string, params: readonly SqlValue[] = []) => allOn<R>(tx, this.safeUrl, sql, params),
        };
        const result = await work(executor);
        try {
          await tx.commit();
        } catch (error) {
          throw targetError(this.safeUrl, "cannot commit", error);
        }
        return result;
      } catch (error) {
        await tx.rollback().catch(() => undefined);
        throw error;
      } finally {
        tx.close();
      }
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#client.close();
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** A client or an open transaction. */
interface Executes {
  execute(statement: InStatement): Promise<ResultSet>;
}

async function runOn(on: Executes, safeUrl: string, sql: string, params: readonly SqlValue[]): Promise<void> {
  try {
    await on.execute({ sql, args: params.map(toArg) });
  } catch (error) {
    throw statementError(safeUrl, sql, error);
  }
}

async function allOn<T>(on: Executes, safeUrl: string, sql: string, params: readonly SqlValue[]): Promise<T[]> {
  try {
    const result = await on.execute({ sql, args: params.map(toArg) });
    // fromEntries defines own properties, so even a column named "__proto__" comes back as one
    return result.rows.map((row) => Object.fromEntries(result.columns.map((column, i) => [column, toPlain(row[i])])) as T);
  } catch (error) {
    throw statementError(safeUrl, sql, error);
  }
}

function toArg(value: SqlValue): InValue {
  return typeof value === "boolean" ? (value ? 1 : 0) : value;
}

/** Integers come back as bigint (see intMode): numbers when exact, decimal text when too large. */
function toPlain(value: unknown): unknown {
  if (typeof value !== "bigint") return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}

/** Accepts `file:PATH`, `:memory:`, `libsql://`, `http(s)://` and `ws(s)://`; `?authToken=` is split off. */
async function createParentDirectory(parsed: ParsedLibsqlUrl): Promise<void> {
  const path = parsed.filePath ?? "";
  if (path === "") throw new TargetError(`${parsed.safeUrl} names no file; use file:PATH`);
  const directory = dirname(path);
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    const isFile = await stat(directory).then((s) => !s.isDirectory(), () => false);
    const reason = isFile ? `${directory} is a file, not a directory` : error;
    throw targetError(parsed.safeUrl, `cannot create the directory ${directory}`, reason);
  }
}

function statementError(safeUrl: string, sql: string, error: unknown): TargetError {
  const statement = sql.length > 80 ? `${sql.slice(0, 80)}…` : sql;
  return targetError(safeUrl, "statement failed", error, safeUrl, ` (${statement})`);
}

/**
 * One line naming the database, the step and the driver's reason; the original error stays as `cause`.
 * `rawUrl` is a URL the driver may quote in its reason; it is shown as `safeUrl` instead.
 */
function targetError(safeUrl: string, what: string, error: unknown, rawUrl = safeUrl, detail = ""): TargetError {
  return new TargetError(`${what} at ${safeUrl}${detail}: ${libsqlReason(error, rawUrl, safeUrl)}`, { cause: error });
}

export function parseLibsqlUrl(url: string): ParsedLibsqlUrl {
  return parseUrl(url, (message) => new TargetError(message));
}
