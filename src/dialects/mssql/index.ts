// Microsoft SQL Server as a target, through the `mssql` driver (tedious).
import { TargetError } from "../../core/sql/dialect.ts";
import { SessionDialect } from "../shared/dialect.ts";
import { MssqlConnection } from "./connection.ts";
import { openMssqlSession, type MssqlSession, type SqlServerConfig } from "./driver.ts";
import { mssqlError } from "./errors.ts";
import { MssqlSql } from "./sql.ts";
import { parseSqlServerUrl } from "./url.ts";

export { parseSqlServerUrl } from "./url.ts";

export interface MssqlDialectOptions {
  /** Schema of the tables; `dbo` when not given. */
  schema?: string;
  /** Removed from any driver message that would quote it. */
  password?: string;
}

/**
 * The SQL Server dialect over a session: `createMssqlDialect` gives it a connection pool, tests a
 * recorder. Building SQL needs no session at all (sql.ts).
 */
export class MssqlDialect extends SessionDialect<MssqlSql> {
  constructor(session: MssqlSession, safeUrl: string, options: MssqlDialectOptions = {}) {
    super(new MssqlSql(options.schema), new MssqlConnection(session, safeUrl, options.password));
  }

  /** The schema of the tables: the login's default one. */
  get schema(): string {
    return this.sql.schema;
  }
}

/**
 * Connects, learns the login's default schema and returns the dialect. Every failure is one line
 * naming the URL without its password; an unreachable server fails within the connection timeout.
 * `open` is the driver's pool by default; tests pass a recording session.
 */
export async function createMssqlDialect(
  url: string,
  open: (config: SqlServerConfig) => Promise<MssqlSession> = openMssqlSession,
): Promise<MssqlDialect> {
  const parsed = parseSqlServerUrl(url);
  let session: MssqlSession;
  try {
    session = await open(parsed.config);
  } catch (error) {
    throw mssqlError(parsed.safeUrl, "cannot connect", error, parsed.config.password);
  }
  try {
    const [row] = await session.query("SELECT SCHEMA_NAME() AS [schema]", []);
    const defaultSchema = typeof row?.schema === "string" && row.schema !== "" ? row.schema : "dbo";
    // SqlTarget reads (the $md5 look-up, counts) with unqualified table names, which resolve to the
    // default schema; a different schema would split reads and writes across two sets of tables.
    if (parsed.schema !== undefined && parsed.schema.toLowerCase() !== defaultSchema.toLowerCase()) {
      throw new TargetError(
        `${parsed.safeUrl} names schema ${parsed.schema}, but the login's default schema is ${defaultSchema}; ` +
          `leave schema= out or make it the user's default (ALTER USER … WITH DEFAULT_SCHEMA = ${parsed.schema})`,
      );
    }
    return new MssqlDialect(session, parsed.safeUrl, { schema: defaultSchema, password: parsed.config.password });
  } catch (error) {
    await session.close().catch(() => undefined);
    throw error instanceof TargetError ? error : mssqlError(parsed.safeUrl, "cannot connect", error, parsed.config.password);
  }
}
