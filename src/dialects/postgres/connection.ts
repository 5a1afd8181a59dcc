// Connections to PostgreSQL through postgres.js: a small pool that reconnects by itself for single
// statements, and lanes of their own for transactions. Every statement goes with bound parameters.
import postgres, { type Sql } from "postgres";
import { TargetError, type SqlExecutor, type SqlSession, type SqlValue } from "../../core/sql/dialect.ts";
import { rowObjects } from "../shared/rows.ts";
import { databaseError, type DriverErrors } from "../shared/errors.ts";
import { connectionFailed, isTransient } from "./errors.ts";
import { CONNECT_TIMEOUT_S, type PostgresOptions } from "./settings.ts";
import { toParameter } from "./values.ts";

/** Connections for transactions (see Lane), besides the pool. */
const TRANSACTION_LANES = 2;

/**
 * A connection of its own for transactions. postgres.js's `begin` and `reserve` pin a connection and
 * write to it even after the server closed it, which throws from a timer and ends the process
 * (porsager/postgres#1066, #1208, unfixed in 3.4.9). A lane is a one-connection pool instead:
 * postgres.js reconnects it safely, and `generation` counts its closes, so a transaction notices
 * that its connection went away and never sends the rest of its statements outside of it.
 */
interface Lane {
  sql: Sql;
  generation: number;
  busy: boolean;
}

/** A pool or an open transaction. */
type Runs = Pick<Sql, "unsafe">;

export class PostgresConnection implements SqlSession {
  #sql: Sql;
  readonly #options: PostgresOptions;
  readonly #errors: DriverErrors;
  readonly #lanes: Lane[];
  readonly #waiting: ((lane: Lane) => void)[] = [];

  constructor(
    sql: Sql,
    options: PostgresOptions,
    readonly safeUrl: string,
    errors: DriverErrors,
  ) {
    this.#sql = sql;
    this.#options = options;
    this.#errors = errors;
    this.#lanes = Array.from({ length: TRANSACTION_LANES }, () => {
      const lane: Lane = { sql: undefined as unknown as Sql, generation: 0, busy: false };
      lane.sql = this.#laneSql(lane);
      return lane;
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#pooled((on) => this.#runOn(on, sql, params));
  }

  runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#pooled(async (on) => {
      try {
        return (await on.unsafe(sql, params.map(toParameter))).count;
      } catch (error) {
        throw this.#statementError(sql, error);
      }
    });
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#pooled((on) => this.#allOn<T>(on, sql, params));
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const lane = await this.#acquire();
    try {
      const generation = await this.#begin(lane);
      const closed = () => new TargetError(`transaction failed at ${this.safeUrl}: the connection was closed`, { transient: true });
      const alive = () => lane.generation === generation;
      const executor: SqlExecutor = {
        run: (sql, params = []) => (alive() ? this.#runOn(lane.sql, sql, params) : Promise.reject(closed())),
        all: <R>(sql: string, params: readonly SqlValue[] = []) =>
          alive() ? this.#allOn<R>(lane.sql, sql, params) : Promise.reject(closed()),
      };
      try {
        const result = await work(executor);
        if (!alive()) throw closed();
        try {
          await lane.sql.unsafe("COMMIT");
        } catch (error) {
          throw this.#error("cannot commit", error);
        }
        // A connection replaced while the COMMIT was on its way ran it outside of the transaction,
        // which the server had rolled back: a no-op that must not count as written. (Trying again
        // is safe: every write is an upsert.)
        if (!alive()) {
          throw new TargetError(`cannot commit at ${this.safeUrl}: the connection was replaced, the transaction rolled back`, {
            transient: true,
          });
        }
        return result;
      } catch (error) {
        // A closed or broken connection rolls the transaction back on the server.
        if (!alive() || connectionFailed(error)) this.#renewLane(lane);
        else await this.#rollback(lane);
        throw error;
      }
    } finally {
      this.#release(lane);
    }
  }

  /**
   * Waits up to two seconds for statements still running. (After the server ended a connection in
   * the middle of a statement, postgres.js believes it still runs and always waits that long.)
   */
  async close(): Promise<void> {
    await Promise.all([this.#sql, ...this.#lanes.map((lane) => lane.sql)].map((sql) => sql.end({ timeout: 2 })));
  }

  #laneSql(lane: Lane): Sql {
    const sql: Sql = postgres({
      ...this.#options,
      max: 1,
      // no lifetime limit: postgres.js would end an idle connection between two statements of a transaction
      max_lifetime: 0,
      onclose: () => {
        if (lane.sql === sql) lane.generation++;
      },
    });
    return sql;
  }

  /*
   * After a connection failed, the pool (or lane) it belonged to is replaced by a new one and ended:
   * postgres.js 3.4.9 cannot always reuse it. A statement it sends between a socket's error and its
   * close is never answered, and one buffered when the socket closed stays in its write buffer, so
   * that every later connection of that slot waits for an answer to a start-up it never sent
   * (CONNECT_TIMEOUT for ever). Ending the old pool fails whatever it still holds; the server rolls
   * back what a broken connection had begun.
   */

  #renewLane(lane: Lane): void {
    const old = lane.sql;
    lane.sql = this.#laneSql(lane);
    lane.generation++;
    void old.end({ timeout: 0 }).catch(() => undefined);
  }

  #renewPool(failed: Sql): void {
    if (this.#sql !== failed) return; // replaced already
    this.#sql = postgres(this.#options);
    // statements still running on healthy connections of the old pool get a moment to finish
    void failed.end({ timeout: 2 }).catch(() => undefined);
  }

  /** `work` on the pool, which is replaced when its connection failed. */
  async #pooled<T>(work: (on: Sql) => Promise<T>): Promise<T> {
    const sql = this.#sql;
    try {
      return await work(sql);
    } catch (error) {
      if (connectionFailed(error)) this.#renewPool(sql);
      throw error;
    }
  }

  /**
   * BEGIN, tried twice when the connection fails: the first statement on a connection that replaced
   * one the server ended mid-statement can get that statement's error (postgres.js keeps it).
   * Returns the lane's generation the transaction lives in.
   */
  async #begin(lane: Lane): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const generation = lane.generation;
      try {
        await lane.sql.unsafe("BEGIN");
        return generation;
      } catch (error) {
        if (lane.generation !== generation || connectionFailed(error)) this.#renewLane(lane);
        else await this.#rollback(lane);
        if (attempt >= 2 || !isTransient(error)) throw this.#error("cannot start a transaction", error);
      }
    }
  }

  /** ROLLBACK; a lane whose connection cannot even do that (or never answers) is replaced. */
  async #rollback(lane: Lane): Promise<void> {
    try {
      await withDeadline(lane.sql.unsafe("ROLLBACK"), CONNECT_TIMEOUT_S);
    } catch {
      this.#renewLane(lane);
    }
  }

  #acquire(): Promise<Lane> {
    const free = this.#lanes.find((lane) => !lane.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else lane.busy = false;
  }

  async #runOn(on: Runs, sql: string, params: readonly SqlValue[]): Promise<void> {
    try {
      await on.unsafe(sql, params.map(toParameter));
    } catch (error) {
      throw this.#statementError(sql, error);
    }
  }

  async #allOn<T>(on: Runs, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    try {
      const result = await on.unsafe(sql, params.map(toParameter)).values();
      return rowObjects<T>(
        result.columns.map((column) => column.name),
        result.map((row) => row as unknown[]),
      );
    } catch (error) {
      throw this.#statementError(sql, error);
    }
  }

  #statementError(sql: string, error: unknown): TargetError {
    return databaseError(this.safeUrl, this.#errors, "statement failed", error, sql);
  }

  #error(what: string, error: unknown): TargetError {
    return databaseError(this.safeUrl, this.#errors, what, error);
  }
}

/**
 * postgres.js retries for ever when a socket closes while connecting without an error (seen with
 * filtered addresses), so the first statement gets a deadline of its own.
 */
export async function withDeadline<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "CONNECT_TIMEOUT" })), seconds * 1000);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
