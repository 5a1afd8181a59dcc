// The state store on the real MySQL/MariaDB of scripts/databases.sh, in a database of its own: the shared
// conformance suite (checkpoints, tokens, leases, replicas, status, fencing, the tables made).
import { afterAll } from "bun:test";
import { openStateStore } from "../src/state/open.ts";
import { freshDatabase } from "./helpers/databases.ts";
import { runStateCliChecks, runStateServeChecks } from "./state-cli.ts";
import { runStateConformance } from "./state-conformance.ts";

// Fails (never skips) without the server: npm test starts it.
const database = await freshDatabase("mysql");
afterAll(() => database.drop());
runStateConformance("MySQL/MariaDB", () => openStateStore(database.url), { url: database.url });
runStateCliChecks("MySQL/MariaDB", database.url, new URL(database.url).password);
runStateServeChecks("MySQL/MariaDB", database.url);
