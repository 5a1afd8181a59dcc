// Connections to MySQL and MariaDB through mysql2: a small pool that reconnects by itself, utf8mb4
// throughout. Statements go as text with every value escaped (values.ts): mysql2's `execute` would
// prepare and cache a server-side statement per distinct SQL text, and multi-row upserts have many;
// they would exhaust max_prepared_stmt_count.
import type { Pool, PoolConnection } from "mysql2/promise";
import type { SqlExecutor, SqlSession, SqlValue, TargetError } from "../../core/sql/dialect.ts";
import { databaseError, type DriverErrors } from "../shared/errors.ts";
import { rowObjects } from "../shared/rows.ts";
import { format } from "./values.ts";

/** What the first connection learns about the server. */
export interface MysqlServer {
  /** Bytes one statement may have: max_allowed_packet less some room. */
  maxStatementBytes: number;
  /** The server's lower_case_table_names: 0 means table names are case-sensitive. */
  lowerCaseTableNames: number;
}

const DEFAULT_PACKET_BYTES = 4 * 1024 * 1024;
/** Room left in a packet for the protocol around the statement. */
const PACKET_ROOM_BYTES = 64 * 1024;

export class MysqlConnection implements SqlSession {
  readonly #pool: Pool;
  readonly #errors: DriverErrors;
  /** Run first on every new connection (see sessionSql in settings.ts). */
  readonly #sessionSql: string;
  /** The pool's connections that ran #sessionSql (the driver's own objects, which it never reuses). */
  readonly #prepared = new WeakSet<object>();

  constructor(
    pool: Pool,
    readonly safeUrl: string,
    errors: DriverErrors,
    sessionSql: string,
  ) {
    this.#pool = pool;
    this.#errors = errors;
    this.#sessionSql = sessionSql;
  }

  /** The first connection: reads what the server is. Throws the driver's error as it is. */
  async open(): Promise<MysqlServer> {
    const connection = await this.#connection();
    try {
      const [rows] = await connection.query({ sql: "SELECT @@max_allowed_packet, @@lower_case_table_names", rowsAsArray: true });
      const [packet, lowerCase] = (rows as unknown[][])[0] ?? [];
      return {
        maxStatementBytes: Math.max(PACKET_ROOM_BYTES, (Number(packet) || DEFAULT_PACKET_BYTES) - PACKET_ROOM_BYTES),
        lowerCaseTableNames: Number(lowerCase) || 0,
      };
    } finally {
      connection.release();
    }
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.#pooled(sql, (connection) => this.#runOn(connection, sql, params));
  }

  runCounted(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#pooled(sql, async (connection) => {
      try {
        const [result] = await connection.query(format(sql, params));
        return (result as { affectedRows: number }).affectedRows;
      } catch (error) {
        throw this.#error("statement failed", error, sql);
      }
    });
  }

  all<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#pooled(sql, (connection) => this.#allOn<T>(connection, sql, params));
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let connection: PoolConnection;
    try {
      connection = await this.#connection();
    } catch (error) {
      throw this.#error("cannot start a transaction", error);
    }
    let broken = false;
    try {
      try {
        await connection.query("START TRANSACTION");
      } catch (error) {
        throw this.#error("cannot start a transaction", error);
      }
      const executor: SqlExecutor = {
        run: (sql, params = []) => this.#runOn(connection, sql, params),
        all: <R>(sql: string, params: readonly SqlValue[] = []) => this.#allOn<R>(connection, sql, params),
      };
      const result = await work(executor);
      try {
        await connection.query("COMMIT");
      } catch (error) {
        throw this.#error("cannot commit", error);
      }
      return result;
    } catch (error) {
      await connection.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      // A connection that cannot even roll back is not given to the next caller.
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** `work` on a connection of the pool, given back afterwards. */
  async #pooled<T>(sql: string, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    let connection: PoolConnection;
    try {
      connection = await this.#connection();
    } catch (error) {
      throw this.#error("statement failed", error, sql);
    }
    try {
      return await work(connection);
    } finally {
      connection.release();
    }
  }

  /** A connection of the pool that ran #sessionSql; one that cannot is not used. */
  async #connection(): Promise<PoolConnection> {
    const connection = await this.#pool.getConnection();
    const driverConnection = (connection as unknown as { connection: object }).connection;
    if (!this.#prepared.has(driverConnection)) {
      try {
        await connection.query(this.#sessionSql);
      } catch (error) {
        connection.destroy();
        throw error;
      }
      this.#prepared.add(driverConnection);
    }
    return connection;
  }

  async #runOn(on: PoolConnection, sql: string, params: readonly SqlValue[]): Promise<void> {
    try {
      await on.query(format(sql, params));
    } catch (error) {
      throw this.#error("statement failed", error, sql);
    }
  }

  async #allOn<T>(on: PoolConnection, sql: string, params: readonly SqlValue[]): Promise<T[]> {
    try {
      const [rows, fields] = await on.query({ sql: format(sql, params), rowsAsArray: true });
      if (!Array.isArray(fields)) return [];
      return rowObjects<T>(
        fields.map((field) => field.name),
        rows as unknown[][],
      );
    } catch (error) {
      throw this.#error("statement failed", error, sql);
    }
  }

  #error(what: string, error: unknown, sql?: string): TargetError {
    return databaseError(this.safeUrl, this.#errors, what, error, sql);
  }
}
