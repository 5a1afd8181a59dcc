// Cloudflare D1 (SQLite inside Workers) through its binding. D1 has no interactive transactions,
// only atomic batches, and binds at most 100 parameters per statement.
import { TargetError, type Dialect, type SqlExecutor, type SqlSession, type SqlValue } from "../../core/sql/dialect.ts";
import { SessionDialect } from "../shared/dialect.ts";
import { statementDetail } from "../shared/errors.ts";
import { rowObjects } from "../shared/rows.ts";
import { SqliteSql } from "./sql.ts";

/** The part of Workers' `D1Database` binding used here (typed locally: no Workers types needed). */
export interface D1Database {
  prepare(sql: string): D1PreparedStatement;
  batch(statements: D1PreparedStatement[]): Promise<unknown[]>;
}

export interface D1PreparedStatement {
  bind(...values: unknown[]): D1PreparedStatement;
  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  run(): Promise<unknown>;
}

/** Tries of a read that fails for a transient reason, 100 ms apart, then 200 ms. */
const READ_ATTEMPTS = 3;
/** D1's words for a failure worth trying again (not words an SQL error may quote from a statement). */
const TRANSIENT = /network connection lost|object to be reset|ECONNRESET|socket connection was closed|overloaded|try again later/i;

/** D1's limit of bound parameters per statement. */
const MAX_PARAMS = 100;
const MAX_ROWS_PER_STATEMENT = 100;

export function d1Dialect(db: D1Database, name = "DB"): Dialect {
  return new SessionDialect(new SqliteSql(MAX_PARAMS, MAX_ROWS_PER_STATEMENT), new D1Connection(db, `d1:${name}`));
}

class D1Connection implements SqlSession {
  constructor(
    private readonly db: D1Database,
    readonly safeUrl: string,
  ) {}

  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    try {
      await this.#statement(sql, params).run();
    } catch (error) {
      throw this.#error(sql, error);
    }
  }

  async runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    let result: unknown;
    try {
      result = await this.#statement(sql, params).run();
    } catch (error) {
      throw this.#error(sql, error);
    }
    const changes = (result as { meta?: { changes?: unknown } } | null)?.meta?.changes;
    if (typeof changes !== "number") throw new TargetError(`${this.safeUrl}: D1 did not say how many rows the statement changed`);
    return changes;
  }

  async all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [columns = [], ...rows] = await this.#statement(sql, params).raw<unknown[]>({ columnNames: true });
        return rowObjects<T>(columns, rows);
      } catch (error) {
        const failure = this.#error(sql, error);
        // A read is safe to repeat; D1 asks for it on a lost connection or a reset storage object.
        if (!failure.transient || attempt >= READ_ATTEMPTS) throw failure;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /**
   * D1 commits a batch of statements atomically but cannot hold a transaction open across awaits.
   * So reads run at once and writes are collected and committed as one batch at the end. Every
   * caller reads before it writes; a read after a write would not see that write, so it is refused.
   */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const writes: { sql: string; params: readonly SqlValue[] }[] = [];
    const result = await work({
      run: async (sql, params = []) => {
        writes.push({ sql, params });
      },
      all: (sql, params = []) => {
        if (writes.length > 0) throw new TargetError(`${this.safeUrl}: a D1 transaction cannot read after it wrote (${sql.slice(0, 60)})`);
        return this.all(sql, params);
      },
    });
    if (writes.length === 0) return result;
    try {
      await this.db.batch(writes.map((w) => this.#statement(w.sql, w.params)));
    } catch (error) {
      throw this.#error(writes[0]?.sql ?? "", error, "batch failed");
    }
    return result;
  }

  async close(): Promise<void> {}

  #statement(sql: string, params: readonly SqlValue[]): D1PreparedStatement {
    const statement = this.db.prepare(sql);
    return params.length === 0 ? statement : statement.bind(...params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p)));
  }

  #error(sql: string, error: unknown, what = "statement failed"): TargetError {
    const reason = error instanceof Error ? error.message : String(error);
    // D1 reports a lost connection, a reset storage object or an overload so; everything else is final.
    const transient = TRANSIENT.test(reason);
    return new TargetError(`${what} at ${this.safeUrl}${statementDetail(sql)}: ${reason}`, { cause: error, transient });
  }
}
