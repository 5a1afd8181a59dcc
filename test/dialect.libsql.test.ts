import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TargetError, TargetUrlError } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { parseLibsqlUrl } from "../src/dialects/sqlite/libsql.ts";
import { createLibsqlDialect } from "../src/dialects/sqlite/libsql-node.ts";
import { openDialect } from "../src/dialects/index.ts";
import { field, runDialectConformance } from "./dialect-conformance.ts";
import { rejectedWith } from "./helpers/expect.ts";

const rejection = (promise: Promise<unknown>) => rejectedWith(promise, Error);

const dir = mkdtempSync(join(tmpdir(), "dbsync-libsql-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runDialectConformance("libSQL file", () => createLibsqlDialect(`file:${join(dir, "conformance.db")}`));
runDialectConformance("libSQL :memory:", () => createLibsqlDialect(":memory:"));

describe("libSQL dialect", () => {
  test("a file database is created in its existing folder and runs in WAL mode", async () => {
    const path = join(dir, "sync.db");
    const dialect = await createLibsqlDialect(`file:${path}`);
    expect(existsSync(path)).toBe(true);
    expect(await dialect.all("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
    expect(dialect.safeUrl).toBe(`file:${path}`);
    await dialect.close();
  });

  test("columns get SQLite types without length limits, the key NOT NULL, and the $md5 index exists", async () => {
    const dialect = await createLibsqlDialect(":memory:");
    const target = new SqlTarget(dialect, "dfire_");
    await target.prepare([field("age", "number"), field("notes")]);
    const info = await dialect.all<{ name: string; type: string; notnull: number; pk: number }>(
      'SELECT name, type, "notnull", pk FROM pragma_table_info(?)',
      ["dfire_contacts"],
    );
    const byName = new Map(info.map((column) => [column.name, column]));
    expect(byName.get("$id")).toEqual({ name: "$id", type: "TEXT", notnull: 1, pk: 1 });
    expect(byName.get("$status_detail")?.type).toBe("TEXT");
    expect(byName.get("age")?.type).toBe("NUMERIC");
    expect(byName.get("notes")?.type).toBe("TEXT");
    const transactionTypes = await dialect.all<{ type: string }>("SELECT type FROM pragma_table_info(?) WHERE name = ?", [
      "dfire_transactions",
      "isHI",
    ]);
    expect(transactionTypes).toEqual([{ type: "BOOLEAN" }]);
    const indexes = await dialect.all("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?", ["dfire_$id|$md5"]);
    expect(indexes).toEqual([{ name: "dfire_$id|$md5", tbl_name: "dfire_contacts" }]);
    await target.close();
  });

  test("booleans are stored as 1/0 and integers too large for a JS number come back as text", async () => {
    const dialect = await createLibsqlDialect(":memory:");
    await dialect.run('CREATE TABLE t ("b" BOOLEAN, "n" NUMERIC)');
    await dialect.run("INSERT INTO t VALUES (?, ?), (?, ?)", [true, "9007199254740993", false, 42]);
    expect(await dialect.all('SELECT "b", typeof("b") AS kind, "n" FROM t')).toEqual([
      { b: 1, kind: "integer", n: "9007199254740993" },
      { b: 0, kind: "integer", n: 42 },
    ]);
    await dialect.close();
  });

  test("transaction commits what work did, and rolls it all back when work throws", async () => {
    const dialect = await createLibsqlDialect(`file:${join(dir, "tx.db")}`);
    await dialect.run("CREATE TABLE t (v TEXT)");
    expect(
      await dialect.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES (?)", ["kept"]);
        return "done";
      }),
    ).toBe("done");
    const thrown = await rejection(
      dialect.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES (?)", ["lost"]);
        throw new Error("work failed");
      }),
    );
    expect(thrown.message).toBe("work failed");
    expect(await dialect.all("SELECT v FROM t")).toEqual([{ v: "kept" }]);
    await dialect.close();
  });

  test("concurrent transactions and reads on one dialect run one after the other", async () => {
    const dialect = await createLibsqlDialect(`file:${join(dir, "concurrent.db")}`);
    await dialect.run("CREATE TABLE t (v INTEGER)");
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        dialect.transaction(async (tx) => {
          await tx.run("INSERT INTO t VALUES (?)", [i]);
          await tx.run("INSERT INTO t VALUES (?)", [i + 100]);
        }),
      ),
    );
    expect(await dialect.all("SELECT COUNT(*) AS n FROM t")).toEqual([{ n: 20 }]);
    await dialect.close();
  });

  test("a second connection to the same file sees what the sync committed", async () => {
    const url = `file:${join(dir, "shared.db")}`;
    const writer = new SqlTarget(await createLibsqlDialect(url), "");
    const reader = await createLibsqlDialect(url);
    await writer.prepare([]);
    await writer.write({ contacts: [{ $id: "c1", $md5: "m1" }] });
    expect(await reader.all('SELECT "$md5" AS md5 FROM contacts')).toEqual([{ md5: "m1" }]);
    await writer.close();
    await reader.close();
  });

  test("a table of the original client keeps its column types", async () => {
    const dialect = await createLibsqlDialect(":memory:");
    await dialect.run('CREATE TABLE "contacts" ("$id" varchar(50) NOT NULL PRIMARY KEY, "$md5" varchar(50), "age" numeric)');
    const target = new SqlTarget(dialect, "");
    await target.prepare([field("age", "number")]);
    const types = await dialect.all<{ name: string; type: string }>("SELECT name, type FROM pragma_table_info(?)", ["contacts"]);
    expect(types.slice(0, 3)).toEqual([
      { name: "$id", type: "varchar(50)" },
      { name: "$md5", type: "varchar(50)" },
      { name: "age", type: "numeric" },
    ]);
    expect(types.find((t) => t.name === "$changed")?.type).toBe("TEXT");
    await target.close();
  });

  test("SQL failures become a one-line TargetError naming the database", async () => {
    const dialect = await createLibsqlDialect(":memory:");
    const error = await rejection(dialect.run("SELECT * FROM no_such_table"));
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toStartWith("statement failed at :memory: (SELECT * FROM no_such_table): ");
    expect(error.message).toContain("no such table");
    expect(error.message).not.toContain("\n");
    await dialect.close();
  });
});

describe("libSQL URLs", () => {
  test("the auth token is taken out of the URL and never part of safeUrl", () => {
    expect(parseLibsqlUrl("libsql://db-acme.turso.io?authToken=SECRET")).toEqual({
      clientUrl: "libsql://db-acme.turso.io",
      authToken: "SECRET",
      safeUrl: "libsql://db-acme.turso.io",
    });
    const withPassword = parseLibsqlUrl("https://user:pw@db.example.com:8080/?authToken=SECRET&tls=1");
    expect(withPassword.safeUrl).toBe("https://user@db.example.com:8080/?tls=1");
    expect(withPassword.authToken).toBe("SECRET");
    expect(parseLibsqlUrl("file:///var/lib/dbsync/x%20y.db").filePath).toBe("/var/lib/dbsync/x y.db");
    expect(parseLibsqlUrl("file:relative/sync.db").filePath).toBe("relative/sync.db");
  });

  test("bad URLs become one-line TargetErrors", async () => {
    for (const url of ["libsql://", "file://remotehost/x.db", `file:${join(dir, "q.db")}?foo=1`, "ftp://x", "file:"]) {
      const error = await rejection(createLibsqlDialect(url));
      expect(error).toBeInstanceOf(TargetError);
      expect(error.message).not.toContain("\n");
      expect(error.message).not.toContain("    at ");
    }
  });

  test("an unreachable server fails at open without showing the token", async () => {
    const error = await rejection(createLibsqlDialect("http://127.0.0.1:1/?authToken=SECRET"));
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toStartWith("cannot open the database at http://127.0.0.1:1/: ");
    expect(error.message).not.toContain("SECRET");
  });

  test("a folder that does not exist, or is a file, is a fault of the URL, and nothing is created", async () => {
    const missing = join(dir, "nested", "deeper");
    const error = await rejection(createLibsqlDialect(`file:${join(missing, "sync.db")}`));
    expect(error).toBeInstanceOf(TargetUrlError);
    expect(error.message).toBe(
      `file:${join(missing, "sync.db")}: the folder ${missing} does not exist (the database file may be new, its folder must be there)`,
    );
    expect(existsSync(join(dir, "nested"))).toBe(false);
    const plainFile = join(dir, "not-a-directory");
    writeFileSync(plainFile, "x");
    const direct = await rejection(createLibsqlDialect(`file:${join(plainFile, "x.db")}`));
    expect(direct).toBeInstanceOf(TargetUrlError);
    expect(direct.message).toContain(`${plainFile} is a file, not a folder`);
  });
});

describe("openDialect", () => {
  test("file:, bare .db/.sqlite paths and :memory: open libSQL", async () => {
    for (const url of [`file:${join(dir, "routed.db")}`, join(dir, "bare.db"), join(dir, "bare # odd?.sqlite"), ":memory:"]) {
      const dialect = await openDialect(url);
      expect(dialect.kind).toBe("sqlite");
      await dialect.close();
    }
    expect(existsSync(join(dir, "bare.db"))).toBe(true);
    expect(existsSync(join(dir, "bare # odd?.sqlite"))).toBe(true);
  });

  test("libsql: and http: go to the libSQL client", async () => {
    const error = await rejection(openDialect("http://127.0.0.1:1"));
    expect(error.message).toContain("cannot open the database");
  });

  test("postgres:, postgresql:, mysql: and mariadb: go to their dialects, which never show the password", async () => {
    const routes = [
      ["postgres://u:hunter2@127.0.0.1:1/db", "postgres://u@127.0.0.1:1/db"],
      ["postgresql://u:hunter2@127.0.0.1:1/db?sslmode=disable", "postgresql://u@127.0.0.1:1/db?sslmode=disable"],
      ["mysql://u:hunter2@127.0.0.1:1/db?useSSL=false", "mysql://u@127.0.0.1:1/db?useSSL=false"],
      ["mariadb://u:hunter2@127.0.0.1:1/db", "mariadb://u@127.0.0.1:1/db"],
    ];
    for (const [url, safe] of routes) {
      const error = await rejection(openDialect(url!));
      expect(error).toBeInstanceOf(TargetError);
      // the dialect's own wording: nothing listens on port 1, so the connection is refused
      expect(error.message).toBe(`cannot open the database at ${safe}: connection refused (nothing listens on that host and port)`);
      expect((error as TargetError).transient).toBe(true);
    }
  });

  test("sqlserver: goes to its dialect, which never shows the password", async () => {
    const error = await rejection(openDialect("sqlserver://u:hunter2@127.0.0.1:1/db"));
    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("\n");
  });

  test("anything else is refused with the accepted forms", async () => {
    for (const url of ["", "   ", "notes.txt", "ftp://u:hunter2@host/x.db", "mongodb://h/db"]) {
      const error = await rejection(openDialect(url));
      expect(error).toBeInstanceOf(TargetError);
      expect(error.message).toContain("file:PATH");
      expect(error.message).not.toContain("hunter2");
      expect(error.message).not.toContain("\n");
    }
  });
});
