// The D1 dialect against a real D1 database: workerd's, through miniflare's binding.
import { afterAll } from "bun:test";
import { d1Dialect } from "../src/dialects/d1.ts";
import { runDialectConformance } from "./dialect-conformance.ts";
import { startD1 } from "./helpers/worker.ts";

const d1 = await startD1();
afterAll(() => d1.dispose());

// D1 answers integers as JS numbers: one beyond 2^53 (stored exactly) is read rounded.
runDialectConformance("D1 (workerd)", async () => d1Dialect(d1.db), { roundsBigIntegers: true });
