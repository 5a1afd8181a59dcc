// The webhook outbox (src/core/state/outbox.ts) with its state store on a libSQL server (sqld), as on
// Turso: the shared conformance suite.
import { afterAll } from "bun:test";
import { openOutboxStore } from "./helpers/outbox-store.ts";
import { startSqld } from "./helpers/sqld.ts";
import { runOutboxConformance } from "./outbox-conformance.ts";
import { runOutboxSharing } from "./outbox-sharing.ts";

const sqld = await startSqld();
afterAll(() => sqld.stop());

runOutboxConformance("libSQL over HTTP (sqld)", () => openOutboxStore(`${sqld.url}?authToken=${sqld.token}`));
runOutboxSharing("libSQL over HTTP (sqld)", () => openOutboxStore(`${sqld.url}?authToken=${sqld.token}`));
