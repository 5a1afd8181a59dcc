// The phonecalls web service over the real MariaDB of scripts/databases.sh, in a database of its own.
import { afterAll } from "bun:test";
import { createMysqlDialect } from "../src/dialects/mysql/index.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { describeReplicas } from "./phonecalls-replicas-suite.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

// Fails (never skips) without the server: npm test starts it.
const database = await freshDatabase("mysql");
afterAll(() => database.drop());
runPhonecallsSuite("MariaDB", () => createMysqlDialect(database.url));
describeReplicas("MariaDB", () => createMysqlDialect(database.url));
