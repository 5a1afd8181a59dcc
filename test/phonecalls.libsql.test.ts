// The phonecalls web service over a libSQL file (the default target of the sync).
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLibsqlDialect } from "../src/dialects/sqlite/libsql-node.ts";
import { describeReplicas } from "./phonecalls-replicas-suite.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

const dir = mkdtempSync(join(tmpdir(), "dbsync-phonecalls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runPhonecallsSuite("libSQL file", () => createLibsqlDialect(`file:${join(dir, "contacts.db")}`));
describeReplicas("libSQL file", () => createLibsqlDialect(`file:${join(dir, "contacts.db")}`));
