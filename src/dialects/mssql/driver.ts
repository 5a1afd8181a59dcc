// The thin layer between the SQL Server dialect and the `mssql` driver (tedious underneath). The dialect
// talks to an `MssqlSession`, so its SQL and its batching can be tested with a recording session and
// no server; this file is the only one that touches the driver.
import { rowObjects } from "../shared/rows.ts";

/** One bound parameter: `@name` in the statement. Every value is bound as NVARCHAR (see sql.ts). */
export interface MssqlParam {
  name: string;
  value: string | null;
}

/** A pool (or a test's recorder): runs statements and opens transactions. */
export interface MssqlSession extends MssqlStatements {
  begin(): Promise<MssqlTransactionSession>;
  close(): Promise<void>;
}

export interface MssqlStatements {
  /** Runs one statement; the rows of its first result set as plain objects keyed by column name. */
  query(sql: string, params: readonly MssqlParam[]): Promise<Record<string, unknown>[]>;
}

/** One open transaction on one connection: statements run one at a time, then commit or rollback. */
export interface MssqlTransactionSession extends MssqlStatements {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** The configuration `mssql.ConnectionPool` takes, as far as dbsync sets it. */
export interface SqlServerConfig {
  server: string;
  /** Ignored by the driver when `options.instanceName` is set: SQL Browser (UDP 1434) finds the port. */
  port?: number;
  database: string;
  user: string;
  password: string;
  /** Set for `DOMAIN\user` logins, which the driver then authenticates with NTLM. */
  domain?: string;
  /** Milliseconds to open a connection (TCP, TLS and login). */
  connectionTimeout: number;
  /** Milliseconds one statement may take. */
  requestTimeout: number;
  options: {
    instanceName?: string;
    encrypt: boolean | "strict";
    trustServerCertificate: boolean;
    appName: string;
  };
  pool: { max: number; min: number; idleTimeoutMillis: number };
}

// ---- the part of the driver's API used here (the package ships no type declarations) ----

interface DriverColumn {
  name: string;
}

interface DriverResult {
  recordset?: unknown[][];
  /** Column metadata per result set; filled in `arrayRowMode`. */
  columns?: DriverColumn[][];
}

export interface DriverRequest {
  arrayRowMode: boolean;
  input(name: string, type: unknown, value: unknown): DriverRequest;
  query(sql: string): Promise<DriverResult>;
}

interface DriverPool {
  connect(): Promise<DriverPool>;
  close(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): void;
}

interface DriverTransaction {
  begin(): Promise<DriverTransaction>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

interface Driver {
  ConnectionPool: new (config: SqlServerConfig) => DriverPool;
  Transaction: new (pool: DriverPool) => DriverTransaction;
  Request: new (parent?: DriverPool | DriverTransaction) => DriverRequest;
  NVarChar(length: number): unknown;
  MAX: number;
}

let loaded: Driver | undefined;

/** The driver, loaded on first use so that building SQL never needs it. */
export function mssqlDriver(): Driver {
  loaded ??= require("mssql") as Driver;
  return loaded;
}

/** Connects a pool; rejects with the driver's error when the first connection cannot be made. */
export async function openMssqlSession(config: SqlServerConfig): Promise<MssqlSession> {
  const driver = mssqlDriver();
  const pool = new driver.ConnectionPool(config);
  // The pool reports broken idle connections as events; without a listener they would end the process.
  // The request that needs the connection fails on its own, with its own error.
  pool.on("error", () => undefined);
  try {
    await pool.connect();
  } catch (error) {
    await pool.close().catch(() => undefined);
    throw error;
  }
  return {
    query: (sql, params) => runQuery(new driver.Request(pool), sql, params),
    begin: async () => {
      const transaction = new driver.Transaction(pool);
      await transaction.begin();
      return {
        query: (sql, params) => runQuery(new driver.Request(transaction), sql, params),
        commit: () => transaction.commit(),
        rollback: () => transaction.rollback(),
      };
    },
    close: () => pool.close(),
  };
}

/**
 * Binds every parameter as NVARCHAR: of length 4000 up to that length, else NVARCHAR(MAX), so that a
 * statement shape gets one or two query plans instead of one per combination of value lengths.
 */
export function bindParams(request: DriverRequest, params: readonly MssqlParam[], driver: Driver = mssqlDriver()): void {
  for (const param of params) {
    const length = param.value !== null && param.value.length > 4000 ? driver.MAX : 4000;
    request.input(param.name, driver.NVarChar(length), param.value);
  }
}

async function runQuery(request: DriverRequest, sql: string, params: readonly MssqlParam[]): Promise<Record<string, unknown>[]> {
  // Rows as arrays: the driver builds row objects by assignment, which loses a column named "__proto__".
  request.arrayRowMode = true;
  bindParams(request, params);
  const result = await request.query(sql);
  return plainRows(result.columns?.[0] ?? [], result.recordset ?? []);
}

/** Rows as objects with own properties named after the columns (also "__proto__"). */
export function plainRows(columns: readonly DriverColumn[], rows: readonly unknown[][]): Record<string, unknown>[] {
  return rowObjects(
    columns.map((column) => column.name),
    rows,
  );
}
