// The D1 dialect against a real D1 database: workerd's, through miniflare's binding.
import { afterAll, describe, expect, test } from "bun:test";
import { TargetError } from "../src/core/sql/dialect.ts";
import { type D1Database, type D1PreparedStatement, d1Dialect } from "../src/dialects/sqlite/d1.ts";
import { runDialectConformance } from "./dialect-conformance.ts";
import { rejectedWith } from "./helpers/expect.ts";
import { startD1 } from "./helpers/worker.ts";

const d1 = await startD1();
afterAll(() => d1.dispose());

// D1 answers integers as JS numbers: one beyond 2^53 (stored exactly) is read rounded.
runDialectConformance("D1 (workerd)", async () => d1Dialect(d1.db), { roundsBigIntegers: true });

/** The real database, with the next `failures` statements answering `message` before they reach it. */
function failing(db: D1Database, failures: { count: number; message: string }): D1Database {
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => ({
    bind: (...values) => wrap(statement.bind(...values)),
    raw: (options) => (failures.count-- > 0 ? Promise.reject(new Error(failures.message)) : statement.raw(options)),
    run: () => (failures.count-- > 0 ? Promise.reject(new Error(failures.message)) : statement.run()),
  });
  return { prepare: (sql) => wrap(db.prepare(sql)), batch: (statements) => db.batch(statements) };
}

describe("D1 failures", () => {
  test("a read lost to a transient failure is tried again; a final failure or a write is not", async () => {
    const lost = { count: 2, message: "D1_ERROR: Network connection lost." };
    expect(await d1Dialect(failing(d1.db, lost)).all("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    const endless = { count: 5, message: "D1_ERROR: Network connection lost." };
    const error = await rejectedWith(d1Dialect(failing(d1.db, endless)).all("SELECT 1 AS one"), TargetError);
    expect(error.transient).toBe(true);
    expect(endless.count).toBe(2); // three tries
    const syntax = { count: 1, message: 'D1_ERROR: near "SELEC": syntax error' };
    expect((await rejectedWith(d1Dialect(failing(d1.db, syntax)).all("SELECT 1"), TargetError)).transient).toBe(false);
    const write = { count: 1, message: "D1_ERROR: Network connection lost." };
    await rejectedWith(d1Dialect(failing(d1.db, write)).run("CREATE TABLE IF NOT EXISTS t_retry (a)"), TargetError);
    expect(write.count).toBe(0);
  });

  test("a transaction that reads after it wrote is refused, and nothing of it is written", async () => {
    const dialect = d1Dialect(d1.db);
    await dialect.run("CREATE TABLE IF NOT EXISTS t_order (a TEXT)");
    const attempt = dialect.transaction(async (tx) => {
      await tx.run("INSERT INTO t_order (a) VALUES (?)", ["x"]);
      return tx.all("SELECT COUNT(*) AS n FROM t_order");
    });
    expect((await rejectedWith(attempt, TargetError)).message).toContain("cannot read after it wrote");
    expect(await dialect.all("SELECT COUNT(*) AS n FROM t_order")).toEqual([{ n: 0 }]);
  });
});
