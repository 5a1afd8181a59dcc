// Statements on SQL Server over an MssqlSession (driver.ts): the driver's pool, or a test's recorder.
import { TargetError, type SqlExecutor, type SqlSession, type SqlValue } from "../../core/sql/dialect.ts";
import { Serial } from "../../core/common/serial.ts";
import { statementDetail } from "../shared/errors.ts";
import type { MssqlParam, MssqlSession, MssqlStatements, MssqlTransactionSession } from "./driver.ts";
import { mssqlError } from "./errors.ts";
import { bindValues } from "./values.ts";

export class MssqlConnection implements SqlSession {
  readonly #session: MssqlSession;
  readonly #password: string | undefined;

  /** `password` is removed from any driver message that would quote it. */
  constructor(
    session: MssqlSession,
    readonly safeUrl: string,
    password?: string,
  ) {
    this.#session = session;
    this.#password = password;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#run(this.#session, sql, params);
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#all<T>(this.#session, sql, params);
  }

  /** @@ROWCOUNT right after the statement, in the same batch: that statement's own count. */
  async runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const [row] = await this.#all<{ changed: unknown }>(this.#session, `${sql}; SELECT @@ROWCOUNT AS changed`, params);
    if (typeof row?.changed !== "number") {
      throw new TargetError(`${this.safeUrl}: SQL Server did not say how many rows the statement changed`);
    }
    return row.changed;
  }

  /** Statements of `work` run one after the other: the transaction's connection takes one request at a time. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let tx: MssqlTransactionSession;
    try {
      tx = await this.#session.begin();
    } catch (error) {
      throw this.#error("cannot start a transaction", error);
    }
    const open = tx;
    const serial = new Serial();
    const executor: SqlExecutor = {
      run: (sql, params = []) => serial.run(() => this.#run(open, sql, params)),
      all: <R>(sql: string, params: readonly SqlValue[] = []) => serial.run(() => this.#all<R>(open, sql, params)),
    };
    try {
      const result = await work(executor);
      await serial.idle();
      try {
        await open.commit();
      } catch (error) {
        throw this.#error("cannot commit", error);
      }
      return result;
    } catch (error) {
      await serial.idle();
      await open.rollback().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#session.close();
    } catch (error) {
      throw this.#error("cannot close the connection", error);
    }
  }

  async #run(on: MssqlStatements, sql: string, params: readonly SqlValue[]): Promise<void> {
    await this.#all(on, sql, params);
  }

  async #all<T>(on: MssqlStatements, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    let bound: MssqlParam[];
    try {
      bound = bindValues(params);
    } catch (error) {
      throw this.#error("cannot bind the parameters", error, sql);
    }
    try {
      return (await on.query(sql, bound)) as T[];
    } catch (error) {
      throw this.#error("statement failed", error, sql);
    }
  }

  #error(what: string, error: unknown, sql?: string): TargetError {
    return mssqlError(this.safeUrl, what, error, this.#password, sql === undefined ? "" : statementDetail(sql));
  }
}
