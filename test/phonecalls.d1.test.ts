// The phonecalls web service over D1 (workerd's, through miniflare), as a Worker serves it.
import { afterAll } from "bun:test";
import { d1Dialect } from "../src/dialects/sqlite/d1.ts";
import { startD1 } from "./helpers/worker.ts";
import { describeReplicas } from "./phonecalls-replicas-suite.ts";
import { runPhonecallsSuite } from "./phonecalls-suite.ts";

const d1 = await startD1();
afterAll(() => d1.dispose());

runPhonecallsSuite("D1 (workerd)", async () => d1Dialect(d1.db));
describeReplicas("D1 (workerd)", async () => d1Dialect(d1.db));
