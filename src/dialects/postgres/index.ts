// PostgreSQL as a target: a small pool that reconnects by itself, every statement with bound
// parameters, tables in the URL's schema (`currentSchema`/`search_path`, else `public`).
import postgres from "postgres";
import { TargetError, type Dialect } from "../../core/sql/dialect.ts";
import { SessionDialect } from "../shared/dialect.ts";
import { PostgresConnection, withDeadline } from "./connection.ts";
import { databaseError, type DriverErrors } from "../shared/errors.ts";
import { driverReason, isTransient } from "./errors.ts";
import { postgresSettings } from "./settings.ts";
import { PostgresSql } from "./sql.ts";

export { postgresSettings } from "./settings.ts";

export async function createPostgresDialect(url: string): Promise<Dialect> {
  const { parsed, options } = postgresSettings(url);
  const errors: DriverErrors = { reason: (error) => driverReason(error, parsed), transient: isTransient };
  const sql = postgres(options);
  try {
    const [row] = await withDeadline(
      sql.unsafe<{ schema: string | null }[]>("SELECT current_schema() AS schema"),
      (options.connect_timeout as number) + 1,
    );
    if (row?.schema == null) {
      const wanted = options.connection?.search_path ?? "public";
      throw new TargetError(`cannot open the database at ${parsed.safeUrl}: the schema ${wanted} does not exist`);
    }
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    throw databaseError(parsed.safeUrl, errors, "cannot open the database", error);
  }
  return new SessionDialect(new PostgresSql(), new PostgresConnection(sql, options, parsed.safeUrl, errors));
}
