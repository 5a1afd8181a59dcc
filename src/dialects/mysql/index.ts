// MySQL and MariaDB as a target, through mysql2.
import mysql, { type PoolOptions } from "mysql2/promise";
import type { Dialect } from "../../core/sql/dialect.ts";
import { SessionDialect } from "../shared/dialect.ts";
import { databaseError, type DriverErrors } from "../shared/errors.ts";
import { MysqlConnection } from "./connection.ts";
import { driverReason, isTransient } from "./errors.ts";
import { mysqlSettings } from "./settings.ts";
import { MysqlSql } from "./sql.ts";

export { mysqlSettings } from "./settings.ts";

export async function createMysqlDialect(url: string): Promise<Dialect> {
  const { parsed, options, session } = mysqlSettings(url);
  const errors: DriverErrors = { reason: (error) => driverReason(error, parsed), transient: isTransient };
  const connect = async (poolOptions: PoolOptions) => {
    const connection = new MysqlConnection(mysql.createPool(poolOptions), parsed.safeUrl, errors, session);
    try {
      return new SessionDialect(new MysqlSql(await connection.open()), connection);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  };
  try {
    return await connect(options);
  } catch (error) {
    // sslMode=PREFERRED: TLS when the server offers it, else a plain connection
    const mode = (parsed.params.get("sslMode") ?? parsed.params.get("ssl-mode"))?.toUpperCase();
    if (mode !== "PREFERRED" || (error as { code?: unknown }).code !== "HANDSHAKE_NO_SSL_SUPPORT") {
      throw databaseError(parsed.safeUrl, errors, "cannot open the database", error);
    }
    return await connect({ ...options, ssl: undefined }).catch((again: unknown) => {
      throw databaseError(parsed.safeUrl, errors, "cannot open the database", again);
    });
  }
}
