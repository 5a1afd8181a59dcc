// The webhook outbox (src/core/state/outbox.ts) with its state store on PostgreSQL: the shared
// conformance suite, in a database of its own.
import { afterAll } from "bun:test";
import { freshDatabase } from "./helpers/databases.ts";
import { openStateStore } from "../src/state/open.ts";
import { runOutboxConformance } from "./outbox-conformance.ts";
import { runOutboxSharing } from "./outbox-sharing.ts";

const database = await freshDatabase("postgres");
afterAll(() => database.drop());

runOutboxConformance("PostgreSQL", () => openStateStore(database.url));
runOutboxSharing("PostgreSQL", () => openStateStore(database.url));
