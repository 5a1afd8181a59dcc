// Fresh, throw-away databases on the test servers that scripts/databases.sh starts. Tests fail
// (never skip) when the servers' URLs are missing: CI always has them.
import { execFileSync } from "node:child_process";
import mysql from "mysql2/promise";
import postgres from "postgres";

export type ServerKind = "postgres" | "mysql";

const ENV: Record<ServerKind, string> = { postgres: "DBSYNC_TEST_POSTGRES_URL", mysql: "DBSYNC_TEST_MYSQL_URL" };

export function serverUrl(kind: ServerKind): string {
  const url = process.env[ENV[kind]];
  if (!url) throw new Error(`${ENV[kind]} is not set: run the tests with npm test (scripts/test.sh starts the servers)`);
  return url;
}

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new empty database on the server of `kind`; `drop()` removes it. */
export async function freshDatabase(kind: ServerKind): Promise<FreshDatabase> {
  const admin = new URL(serverUrl(kind));
  const name = `dbsync_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  if (kind === "postgres") {
    const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
    await sql.unsafe(`CREATE DATABASE "${name}"`);
    await sql.end();
    return {
      url: url.toString(),
      async drop() {
        const again = postgres(admin.toString(), { max: 1, onnotice: () => {} });
        await again.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await again.end();
      },
    };
  }
  const connection = await mysql.createConnection(admin.toString());
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await connection.end();
  return {
    url: url.toString(),
    async drop() {
      const again = await mysql.createConnection(admin.toString());
      await again.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await again.end();
    },
  };
}

/** Stops and starts the local PostgreSQL cluster (as root, like scripts/databases.sh). */
export const postgresServer = {
  stop: () => pgCtl("stop"),
  start: () => pgCtl("start"),
};

function pgCtl(action: "stop" | "start"): void {
  const [version, name, , status] = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" }).trim().split(/\s+/);
  // Already in the state asked for: nothing to do (pg_ctlcluster would exit 2).
  if ((status === "online") === (action === "start")) return;
  execFileSync("pg_ctlcluster", [version as string, name as string, action, ...(action === "stop" ? ["-m", "fast"] : [])]);
}
