// The libSQL dialect over HTTP against a real libSQL server (sqld), as on Turso: the web client the
// edge entry points use, and the Node client `dbsync sync --url libsql://…` uses.
import { afterAll } from "bun:test";
import { createLibsqlDialect } from "../src/dialects/sqlite/libsql-node.ts";
import { openRemoteLibsql } from "../src/edge/libsql-remote.ts";
import { runDialectConformance } from "./dialect-conformance.ts";
import { startSqld } from "./helpers/sqld.ts";

const sqld = await startSqld();
afterAll(() => sqld.stop());

runDialectConformance("libSQL over HTTP (web client)", () => openRemoteLibsql(sqld.url, sqld.token));
runDialectConformance("libSQL over HTTP (Node client)", () => createLibsqlDialect(`${sqld.url}?authToken=${sqld.token}`));
