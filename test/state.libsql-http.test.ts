// The state store on a real libSQL server (sqld) over HTTP, as on Turso: the shared conformance suite.
import { afterAll } from "bun:test";
import { openStateStore } from "../src/state/open.ts";
import { startSqld } from "./helpers/sqld.ts";
import { runStateCliChecks, runStateServeChecks } from "./state-cli.ts";
import { runStateConformance } from "./state-conformance.ts";

const sqld = await startSqld();
afterAll(() => sqld.stop());
const url = `${sqld.url}?authToken=${sqld.token}`;
runStateConformance("libSQL server (sqld)", () => openStateStore(url), { url });
runStateCliChecks("libSQL server (sqld)", url);
runStateServeChecks("libSQL server (sqld)", url);
