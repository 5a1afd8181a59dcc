// libSQL as a target: a local file or a libSQL server over HTTP, through any client of
// `@libsql/client` (the Node build with its native addon, or the web build on edge runtimes), which
// the caller creates. Portable: no file system here (see libsql-node.ts).
import type { Client, InStatement, InValue, ResultSet, Transaction } from "@libsql/client";
import { TargetError, TargetUrlError, type Dialect, type SqlExecutor, type SqlSession, type SqlValue } from "../../core/sql/dialect.ts";
import { libsqlReason, type ParsedLibsqlUrl, parseLibsqlUrl as parseUrl } from "../../core/sql/libsql-url.ts";
import { Serial } from "../../core/common/serial.ts";
import { statementDetail } from "../shared/errors.ts";
import { SessionDialect } from "../shared/dialect.ts";
import { rowObjects } from "../shared/rows.ts";
import { SqliteSql } from "./sql.ts";

/** How long a statement waits for another process's write lock (e.g. the server) before failing. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * The dialect over an open client, once the database has answered. `clientUrl` is the URL the client
 * was given: the driver may quote it in an error, and `safeUrl` is shown instead.
 */
export async function libsqlDialect(client: Client, url: ParsedLibsqlUrl): Promise<Dialect> {
  // `:memory:` and `file:` run in this process; everything else is a server reached over the network.
  const local = url.filePath !== undefined || /^(:memory:|file:)/i.test(url.clientUrl);
  const dialect = new SessionDialect(new SqliteSql(MAX_PARAMS, MAX_ROWS_PER_STATEMENT), new LibsqlConnection(client, url.safeUrl, local));
  try {
    // WAL lets a reader (the server) and the sync share the file without blocking each other.
    if (url.filePath !== undefined) await client.execute("PRAGMA journal_mode=WAL");
    else await client.execute("SELECT 1");
  } catch (error) {
    client.close();
    throw targetError(url.safeUrl, "cannot open the database", error, url.clientUrl);
  }
  return dialect;
}

/** SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32. */
const MAX_PARAMS = 32766;
/** Keeps statement text and parse time moderate; the parameter limit usually bites first. */
const MAX_ROWS_PER_STATEMENT = 500;

class LibsqlConnection implements SqlSession {
  readonly #client: Client;
  /**
   * A local database runs statements synchronously on the JS thread, so a second writer inside this
   * process would block the thread on the busy timeout while the first one can never finish: there
   * everything runs one after the other (an in-memory database has a single connection anyway). A
   * server over HTTP needs no such queue, and must not have one: on Workers a request's cancelled
   * statement never settles, and would hold up every later one.
   */
  readonly #local: boolean;
  readonly #serial = new Serial();

  constructor(
    client: Client,
    readonly safeUrl: string,
    local: boolean,
  ) {
    this.#client = client;
    this.#local = local;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#exclusive(() => runOn(this.#client, this.safeUrl, sql, params));
  }

  runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#exclusive(async () => (await executeOn(this.#client, this.safeUrl, sql, params)).rowsAffected);
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
    await this.#serial.idle();
    this.#client.close();
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.#local ? this.#serial.run(operation) : operation();
  }
}

/** A client or an open transaction. */
interface Executes {
  execute(statement: InStatement): Promise<ResultSet>;
}

async function runOn(on: Executes, safeUrl: string, sql: string, params: readonly SqlValue[]): Promise<void> {
  await executeOn(on, safeUrl, sql, params);
}

async function executeOn(on: Executes, safeUrl: string, sql: string, params: readonly SqlValue[]): Promise<ResultSet> {
  try {
    return await on.execute({ sql, args: params.map(toArg) });
  } catch (error) {
    throw statementError(safeUrl, sql, error);
  }
}

async function allOn<T>(on: Executes, safeUrl: string, sql: string, params: readonly SqlValue[]): Promise<T[]> {
  try {
    const result = await on.execute({ sql, args: params.map(toArg) });
    return rowObjects<T>(result.columns, result.rows, toPlain);
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

function statementError(safeUrl: string, sql: string, error: unknown): TargetError {
  return targetError(safeUrl, "statement failed", error, safeUrl, statementDetail(sql));
}

/**
 * One line naming the database, the step and the driver's reason; the original error stays as `cause`.
 * `rawUrl` is a URL the driver may quote in its reason; it is shown as `safeUrl` instead.
 */
export function targetError(safeUrl: string, what: string, error: unknown, rawUrl = safeUrl, detail = ""): TargetError {
  return new TargetError(`${what} at ${safeUrl}${detail}: ${libsqlReason(error, rawUrl, safeUrl)}`, { cause: error });
}

export function parseLibsqlUrl(url: string): ParsedLibsqlUrl {
  return parseUrl(url, (message) => new TargetUrlError(message));
}
