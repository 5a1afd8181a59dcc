// The phonecalls web service over the real PostgreSQL of scripts/databases.sh, in a database of its own.
import { afterAll } from "bun:test";
import { createPostgresDialect } from "../src/dialects/postgres/index.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { describeReplicas } from "./phonecalls-replicas-suite.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

// Fails (never skips) without the server: npm test starts it.
const database = await freshDatabase("postgres");
afterAll(() => database.drop());
runPhonecallsSuite("PostgreSQL", () => createPostgresDialect(database.url));
describeReplicas("PostgreSQL", () => createPostgresDialect(database.url));
