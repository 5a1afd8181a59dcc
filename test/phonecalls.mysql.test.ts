// The phonecalls web service over the real MariaDB of scripts/databases.sh, in a database of its own.
import { afterAll, describe, test } from "bun:test";
import { createMysqlDialect } from "../src/dialects/mysql.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

const ENV = "DBSYNC_TEST_MYSQL_URL";

if (!process.env[ENV]) {
  describe.skip(`phonecalls web service on MariaDB: ${ENV} is not set (npm test starts the server)`, () => {
    test("skipped", () => {});
  });
} else {
  const database = await freshDatabase("mysql");
  afterAll(() => database.drop());
  runPhonecallsSuite("MariaDB", () => createMysqlDialect(database.url));
}
