// The webhook outbox (src/core/state/outbox.ts) with its state store on a libSQL server (sqld), as on
// Turso: the shared conformance suite.
import { afterAll } from "bun:test";
import { startSqld } from "./helpers/sqld.ts";
import { openStateStore } from "../src/state/open.ts";
import { runOutboxConformance } from "./outbox-conformance.ts";
import { runOutboxSharing } from "./outbox-sharing.ts";

const sqld = await startSqld();
afterAll(() => sqld.stop());

runOutboxConformance("libSQL over HTTP (sqld)", () => openStateStore(`${sqld.url}?authToken=${sqld.token}`));
runOutboxSharing("libSQL over HTTP (sqld)", () => openStateStore(`${sqld.url}?authToken=${sqld.token}`));
