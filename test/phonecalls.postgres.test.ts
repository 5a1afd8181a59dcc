// The phonecalls web service over the real PostgreSQL of scripts/databases.sh, in a database of its own.
import { afterAll, describe, test } from "bun:test";
import { createPostgresDialect } from "../src/dialects/postgres.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

const ENV = "DBSYNC_TEST_POSTGRES_URL";

if (!process.env[ENV]) {
  describe.skip(`phonecalls web service on PostgreSQL: ${ENV} is not set (npm test starts the server)`, () => {
    test("skipped", () => {});
  });
} else {
  const database = await freshDatabase("postgres");
  afterAll(() => database.drop());
  runPhonecallsSuite("PostgreSQL", () => createPostgresDialect(database.url));
}
