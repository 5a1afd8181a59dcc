// The phonecalls web service over a libSQL server reached over HTTP (sqld), as the edge entry points use it.
import { afterAll } from "bun:test";
import { openRemoteLibsql } from "../src/edge/libsql-remote.ts";
import { startSqld } from "./helpers/sqld.ts";
import { describeReplicas } from "./phonecalls-replicas-suite.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

const sqld = await startSqld();
afterAll(() => sqld.stop());

runPhonecallsSuite("libSQL over HTTP", () => openRemoteLibsql(sqld.url, sqld.token));
describeReplicas("libSQL over HTTP", () => openRemoteLibsql(sqld.url, sqld.token));
