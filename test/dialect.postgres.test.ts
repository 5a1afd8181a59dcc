// The PostgreSQL dialect against the real server of scripts/databases.sh, in databases of its own.
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { TargetError, type Dialect } from "../src/core/sql/dialect.ts";
import { fitIdentifier } from "../src/core/sql/identifiers.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { tableSpecs } from "../src/core/sync/tables.ts";
import { parseServerUrl } from "../src/core/sql/server-url.ts";
import { createPostgresDialect } from "../src/dialects/postgres/index.ts";
import { openDialect } from "../src/dialects/index.ts";
import {
  createOriginalTables,
  expectStored,
  field,
  insertOriginalRows,
  ORIGINAL_POSTGRES_DDL,
  runDialectConformance,
  simulatorRows,
} from "./dialect-conformance.ts";
import { runConnectionFailureConformance } from "./dialect-connection-failures.ts";
import { freshDatabase, serverUrl } from "./helpers/databases.ts";
import { rejectedWith, waitFor } from "./helpers/expect.ts";

const rejection = (promise: Promise<unknown>) => rejectedWith(promise, TargetError);

/** The certificate scripts/databases.sh gives both test servers. */
const TLS_CERTIFICATE = "/var/lib/dbsync-test-tls/server.crt";

const database = await freshDatabase("postgres");
/** A superuser connection to this file's database, for setting the scene. */
const admin = postgres(database.url, { max: 2, onnotice: () => {} });
const suffix = Math.random().toString(36).slice(2, 8);
const roles: string[] = [];
afterAll(async () => {
  for (const role of roles) await admin.unsafe(`DROP OWNED BY "${role}"`).catch(() => undefined);
  await admin.end();
  await database.drop();
  const server = postgres(serverUrl("postgres"), { max: 1, onnotice: () => {} });
  for (const role of roles) await server.unsafe(`DROP ROLE IF EXISTS "${role}"`);
  await server.end();
});

/** `database.url` with other credentials or parameters. */
function urlWith(change: { user?: string; password?: string; search?: string; port?: number }): string {
  const url = new URL(database.url);
  if (change.user !== undefined) url.username = encodeURIComponent(change.user);
  if (change.password !== undefined) url.password = encodeURIComponent(change.password);
  if (change.port !== undefined) url.port = String(change.port);
  if (change.search !== undefined) url.search = change.search;
  return url.toString();
}

runDialectConformance("PostgreSQL", () => createPostgresDialect(database.url), { original: ORIGINAL_POSTGRES_DDL });

describe("PostgreSQL URLs", () => {
  test("a password with @, /, :, ? and % works percent-encoded, and @ / : also as typed", async () => {
    const role = `dbsync_pw_${suffix}`;
    roles.push(role);
    const password = "p@ss/w:rd?#%x";
    await admin.unsafe(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
    const encoded = urlWith({ user: role, password, search: "?sslmode=disable" });
    expect(encoded).toContain("p%40ss%2Fw%3Ard%3F%23%25x");
    const dialect = await createPostgresDialect(encoded);
    expect(await dialect.all("SELECT current_user AS who")).toEqual([{ who: role }]);
    expect(dialect.safeUrl).toBe(`postgres://${role}@127.0.0.1:5432${new URL(database.url).pathname}?sslmode=disable`);
    await dialect.close();

    const typed = "p@ss/w:rd";
    await admin.unsafe(`ALTER ROLE "${role}" PASSWORD '${typed}'`);
    const raw = `postgresql://${role}:${typed}@127.0.0.1:5432${new URL(database.url).pathname}`;
    const again = await openDialect(raw);
    expect(again.kind).toBe("postgres");
    expect(await again.all("SELECT current_user AS who")).toEqual([{ who: role }]);
    expect(again.safeUrl).not.toContain(typed);
    await again.close();
  });

  test("sslmode is honoured over real TLS; unknown parameters do not disturb the connection", async () => {
    // scripts/databases.sh runs this server with TLS on, with a self-signed certificate
    const tls = async (search: string) => {
      const dialect = await createPostgresDialect(urlWith({ search }));
      try {
        return (await dialect.all<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))[0]?.ssl;
      } finally {
        await dialect.close();
      }
    };
    expect(await tls("?sslmode=disable&useSSL=false&foo=bar")).toBe(false);
    expect(await tls("?sslmode=prefer")).toBe(true);
    expect(await tls("?sslmode=require")).toBe(true);
    expect(await tls(`?sslmode=verify-ca&sslrootcert=${encodeURIComponent(TLS_CERTIFICATE)}`)).toBe(true);
    // verifying against the system's authorities refuses a self-signed certificate: clear and permanent
    const untrusted = await rejection(createPostgresDialect(urlWith({ search: "?sslmode=verify-full" })));
    expect(untrusted.message).toMatch(/certificate/i);
    expect(untrusted.transient).toBe(false);
    const bad = await rejection(createPostgresDialect(urlWith({ search: "?sslmode=sometimes" })));
    expect(bad.message).toContain('unknown sslmode "sometimes"');
  });

  test("application_name and options pass through", async () => {
    const dialect = await createPostgresDialect(
      urlWith({ search: "?application_name=dbsync-test&options=-c%20statement_timeout%3D12345" }),
    );
    expect(await dialect.all("SELECT current_setting('application_name') AS a, current_setting('statement_timeout') AS t")).toEqual([
      { a: "dbsync-test", t: "12345ms" },
    ]);
    await dialect.close();
  });

  test("URL parsing: user, password, host, port, database and a safe URL", () => {
    const fail = (message: string) => new TargetError(message);
    const parsed = parseServerUrl("postgres://me:se%2Fcr@t@db.example.com:6543/sales?sslmode=require&password=x", fail);
    expect(parsed).toMatchObject({ user: "me", password: "se/cr@t", host: "db.example.com", port: 6543, path: ["sales"] });
    expect(parsed.safeUrl).toBe("postgres://me@db.example.com:6543/sales?sslmode=require");
    expect(parseServerUrl("postgres://[::1]/db", fail)).toMatchObject({ host: "::1", port: undefined, user: "", password: "" });
    expect(parseServerUrl("postgres://u:50%off@h/db", fail).password).toBe("50%off");
    expect(() => parseServerUrl("postgres:///db", fail)).toThrow("names no host");
    expect(() => parseServerUrl("postgres://h:99999/db", fail)).toThrow("is not a port");
  });

  test("a URL without a database is refused", async () => {
    const error = await rejection(createPostgresDialect("postgres://u:hunter2@127.0.0.1:5432"));
    expect(error.message).toBe("postgres://u@127.0.0.1:5432 names no database; use postgres://USER:PASSWORD@HOST:5432/DATABASE");
  });
});

runConnectionFailureConformance("PostgreSQL", createPostgresDialect, () => {
  const elsewhere = new URL(database.url);
  elsewhere.pathname = "/no_such_db_";
  return {
    unreachable: {
      url: "postgres://dbsync:hunter2@127.0.0.1:1/db?sslmode=disable",
      message:
        "cannot open the database at postgres://dbsync@127.0.0.1:1/db?sslmode=disable: connection refused (nothing listens on that host and port)",
    },
    wrongPassword: {
      url: urlWith({ password: "not-the-password-42" }),
      password: "not-the-password-42",
      startsWith: `cannot open the database at postgres://dbsync@127.0.0.1:5432/`,
      contains: 'password authentication failed for user "dbsync" (28P01)',
    },
    missingDatabase: { url: elsewhere.toString(), contains: 'database "no_such_db_" does not exist (3D000)' },
  };
});

describe("PostgreSQL connection failures", () => {
  test("a missing schema fails at open", async () => {
    const noSchema = await rejection(createPostgresDialect(urlWith({ search: "?currentSchema=no_such_schema" })));
    expect(noSchema.message).toEndWith(": the schema no_such_schema does not exist");
  });

  test("connections the server ends are replaced; a statement they cut off is a transient error", async () => {
    const dialect = await createPostgresDialect(urlWith({ search: "?application_name=dbsync-kill-me" }));
    const terminate = () =>
      admin.unsafe("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbsync-kill-me'");

    // idle connections ended (as by a server restart): the next statement simply works
    await Promise.all([dialect.all("SELECT 1"), dialect.all("SELECT 2")]);
    await terminate();
    await Bun.sleep(100);
    expect(await dialect.all("SELECT 1 AS one")).toEqual([{ one: 1 }]);

    // a statement in flight when its connection ends
    const running = rejection(dialect.all("SELECT pg_sleep(10)"));
    await Bun.sleep(300);
    await terminate();
    const error = await running;
    expect(error.transient).toBe(true);
    expect(error.message).toStartWith("statement failed at postgres://dbsync@127.0.0.1:5432/");
    expect(error.message).not.toContain("\n");
    expect(await dialect.all("SELECT 2 AS two")).toEqual([{ two: 2 }]);

    // and a transaction whose connection ends is rolled back and reported as transient
    await dialect.run('CREATE TABLE "killed_tx" ("v" text)');
    const transaction = rejection(
      dialect.transaction(async (tx) => {
        await tx.run('INSERT INTO "killed_tx" VALUES ($1)', ["lost"]);
        await tx.all("SELECT pg_sleep(10)");
      }),
    );
    await Bun.sleep(300);
    await terminate();
    expect((await transaction).transient).toBe(true);
    await Bun.sleep(100); // the pool's idle connections were ended too; their closing takes a moment
    expect(await dialect.all('SELECT * FROM "killed_tx"')).toEqual([]);
    // the transaction's own connection is replaced as well
    await dialect.transaction((tx) => tx.run('INSERT INTO "killed_tx" VALUES ($1)', ["kept"]));
    expect(await dialect.all('SELECT * FROM "killed_tx"')).toEqual([{ v: "kept" }]);
    await dialect.close();
  });

  test("a transaction whose connection ends just before its COMMIT fails transiently, writes nothing, and the next works", async () => {
    /** Settles within `ms` or fails the test: a transaction must never hang. */
    const within = <T>(ms: number, promise: Promise<T>) =>
      Promise.race([promise, Bun.sleep(ms).then(() => Promise.reject(new Error(`not settled within ${ms} ms`)))]);
    // over TLS and without: the driver's sockets fail differently (a clean close, or a reset)
    for (const search of ["?application_name=dbsync-commit", "?application_name=dbsync-commit&sslmode=disable"]) {
      const dialect = await createPostgresDialect(urlWith({ search }));
      await dialect.run('CREATE TABLE IF NOT EXISTS "commit_race" ("v" text)');
      // The server ends the backend after the last statement, while the client may or may not have
      // noticed yet: whether the check before COMMIT, the COMMIT itself or the check after it finds
      // out, the batch must not count as written, and the transaction's lane must stay usable.
      for (let round = 0; round < 12; round++) {
        const way = round % 4;
        const outcome = await within(
          4000,
          rejection(
            dialect.transaction(async (tx) => {
              await tx.run('INSERT INTO "commit_race" VALUES ($1)', ["lost"]);
              const [row] = await tx.all<{ pid: number }>("SELECT pg_backend_pid() AS pid");
              const wait = way === 3 ? ", 5000" : ""; // until the backend is gone, or not
              await admin.unsafe(`SELECT pg_terminate_backend($1${wait})`, [row!.pid]);
              if (way === 1) await new Promise((resolve) => setImmediate(resolve));
              if (way === 2) await Bun.sleep(1);
            }),
          ),
        );
        expect(outcome.transient).toBe(true);
        expect(await dialect.all('SELECT * FROM "commit_race"')).toEqual([]);
        await within(
          4000,
          dialect.transaction((tx) => tx.run('INSERT INTO "commit_race" VALUES ($1)', ["kept"])),
        );
        await dialect.run('DELETE FROM "commit_race"');
      }
      await dialect.run('DROP TABLE "commit_race"');
      await dialect.close();
    }
  }, 60_000);

  test("statements on the pool keep working after their connections were ended mid-statement, again and again", async () => {
    const dialect = await createPostgresDialect(urlWith({ search: "?application_name=dbsync-pool-kill&sslmode=disable" }));
    const terminate = () =>
      admin.unsafe("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'dbsync-pool-kill'");
    for (let round = 0; round < 5; round++) {
      const running = Promise.all([1, 2, 3].map(() => rejection(dialect.all("SELECT pg_sleep(10)"))));
      await waitFor(
        "the statements run",
        async () =>
          Number(
            (
              await admin.unsafe(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbsync-pool-kill' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'",
              )
            )[0]?.n,
          ) === 3,
      );
      await terminate();
      for (const error of await running) expect(error.transient).toBe(true);
      // the first statement after the ends gets no stale error of the ended connection, nor waits
      const started = Date.now();
      expect(await dialect.all("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    await dialect.close();
  }, 60_000);

  test("a statement waits for a lock at most lock_timeout (10 s unless the URL sets it), then fails transiently", async () => {
    const dialect = await createPostgresDialect(database.url);
    // every connection: the pool's and the transactions'
    const timeouts = await Promise.all(
      [1, 2, 3].map(() => dialect.all("SELECT current_setting('lock_timeout') AS t, pg_sleep(0.1)::text AS s")),
    );
    for (const rows of timeouts) expect(rows).toEqual([{ t: "10s", s: "" }]);
    expect(await dialect.transaction((tx) => tx.all("SHOW lock_timeout"))).toEqual([{ lock_timeout: "10s" }]);
    await dialect.run('CREATE TABLE "locked" ("id" text PRIMARY KEY)');
    await dialect.close();

    const quick = await createPostgresDialect(urlWith({ search: "?options=-c%20lock_timeout%3D1s" }));
    expect(await quick.all("SHOW lock_timeout")).toEqual([{ lock_timeout: "1s" }]);
    const alter = quick.addColumnsSql("locked", [{ name: "added", type: "text" }])[0]!;
    // a reader with an open transaction on the table
    const reader = await admin.reserve();
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe('LOCK TABLE "locked" IN ACCESS SHARE MODE');
      const started = Date.now();
      const error = await rejection(quick.run(alter));
      expect(Date.now() - started).toBeLessThan(4000);
      expect(error.transient).toBe(true);
      expect(error.message).toEndWith("(55P03)");
      const inTransaction = await rejection(quick.transaction((tx) => tx.run(alter)));
      expect(inTransaction.transient).toBe(true);
    } finally {
      await reader.unsafe("ROLLBACK");
      reader.release();
    }
    // once the reader is done the same statement goes through (as the pipeline's retry does)
    await quick.run(alter);
    expect(await quick.existingColumns("locked")).toEqual(["id", "added"]);
    await quick.run('DROP TABLE "locked"');
    await quick.close();
  }, 20_000);

  test("SQL errors are one line, permanent, with the SQLSTATE", async () => {
    const dialect = await createPostgresDialect(database.url);
    const error = await rejection(dialect.run("SELECT * FROM no_such_table WHERE x = $1", ["a"]));
    expect(error.message).toMatch(
      /^statement failed at postgres:\/\/dbsync@127\.0\.0\.1:5432\/\S+ \(SELECT \* FROM no_such_table WHERE x = \$1\): relation "no_such_table" does not exist \(42P01\)$/,
    );
    expect(error.transient).toBe(false);
    await dialect.close();
  });
});

describe("PostgreSQL schema", () => {
  test("columns get types without length limits, the key a primary key, the $id|$md5 index and ours on $changed|$id", async () => {
    const dialect = await createPostgresDialect(database.url);
    const target = new SqlTarget(dialect, "types_");
    await target.prepare([field("age", "number"), field("notes")]);
    const types = await dialect.all<{ name: string; type: string; nullable: string }>(
      "SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns " +
        "WHERE table_schema = current_schema() AND table_name = $1",
      ["types_contacts"],
    );
    const byName = new Map(types.map((t) => [t.name, t]));
    expect(byName.get("$id")).toEqual({ name: "$id", type: "text", nullable: "NO" });
    expect(byName.get("$md5")?.type).toBe("text");
    expect(byName.get("$status_detail")?.type).toBe("text");
    expect(byName.get("$comment")?.type).toBe("text");
    expect(byName.get("age")?.type).toBe("numeric");
    expect(byName.get("notes")?.type).toBe("text");
    const [isHI] = await dialect.all<{ type: string }>(
      "SELECT data_type AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
      ["types_transactions", "isHI"],
    );
    expect(isHI?.type).toBe("boolean");
    const indexes = await dialect.all<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", [
      "types_contacts",
    ]);
    expect(indexes.map((i) => i.indexdef)).toEqual([
      'CREATE INDEX "types_$changed|$id" ON public.types_contacts USING btree ("$changed", "$id")',
      'CREATE INDEX "types_$id|$md5" ON public.types_contacts USING btree ("$id", "$md5")',
      'CREATE UNIQUE INDEX types_contacts_pkey ON public.types_contacts USING btree ("$id")',
    ]);
    await target.prepare([field("age", "number"), field("notes")]);
    expect(await dialect.all("SELECT indexname FROM pg_indexes WHERE tablename = $1", ["types_contacts"])).toHaveLength(3);
    await target.close();
  });

  test("only the URL's schema counts: a same-named table elsewhere does not confuse introspection", async () => {
    await admin.unsafe('CREATE SCHEMA "elsewhere"');
    await admin.unsafe('CREATE TABLE "elsewhere"."sch_contacts" ("x" text, "y" text)');
    const dialect = await createPostgresDialect(database.url);
    expect(await dialect.existingColumns("sch_contacts")).toEqual([]);
    const target = new SqlTarget(dialect, "sch_");
    await target.prepare([field("firstname")]);
    expect(await dialect.existingColumns("sch_contacts")).toEqual(
      tableSpecs("sch_", [field("firstname")]).contacts.columns.map((c) => c.name),
    );
    await target.write({ contacts: [{ $id: "c1", firstname: "Ann" }] });
    await target.close();

    const inElsewhere = await createPostgresDialect(urlWith({ search: "?currentSchema=elsewhere" }));
    expect(await inElsewhere.existingColumns("sch_contacts")).toEqual(["x", "y"]);
    const other = new SqlTarget(inElsewhere, "sch_");
    await other.prepare([field("firstname")]);
    // the table there was extended in place, public.sch_contacts untouched
    expect((await inElsewhere.existingColumns("sch_contacts")).slice(0, 3)).toEqual(["x", "y", "$id"]);
    const count = async (table: string) => Number((await admin.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n);
    expect(await count('"elsewhere"."sch_contacts"')).toBe(0);
    expect(await count('"public"."sch_contacts"')).toBe(1);
    await inElsewhere.close();
  });

  test("names longer than 63 bytes (unicode too) are fitted, distinct, and round-trip through SqlTarget", async () => {
    const dialect = await createPostgresDialect(database.url);
    const prefix = "ein_sehr_langes_präfix_für_die_tabellen_dieses_tests_und_mehr_";
    const names = [
      `Straße_${"ä".repeat(40)}`,
      `Straße_${"ä".repeat(40)}_zwei`,
      "x".repeat(70),
      "名前".repeat(15),
      "exactly_sixty_three_bytes_".padEnd(63, "z"),
    ];
    const target = new SqlTarget(dialect, prefix);
    await target.prepare(names.map((name) => field(name)));
    const table = fitIdentifier(`${prefix}contacts`, 63);
    expect(new TextEncoder().encode(table).length).toBeLessThanOrEqual(63);
    const columns = await dialect.existingColumns(table);
    const fitted = names.map((name) => fitIdentifier(name, 63));
    expect(new Set(fitted).size).toBe(names.length);
    for (const name of fitted) {
      expect(columns).toContain(name);
      expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(63);
    }
    expect(fitted[4]).toBe(names[4]);

    await target.write({ contacts: [Object.fromEntries([["$id", "c1"], ...names.map((name, i) => [name, `value ${i}`])])] });
    await target.write({ contacts: [{ $id: "c1", [names[1]!]: "changed" }] });
    const [row] = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${dialect.quote(table)}`);
    expect(fitted.map((name) => row?.[name])).toEqual(["value 0", "changed", "value 2", "value 3", "value 4"]);

    // a second run finds every fitted column again and adds nothing
    const again = new SqlTarget(dialect, prefix);
    await again.prepare(names.map((name) => field(name)));
    expect(await dialect.existingColumns(table)).toEqual(columns);
    expect(await again.storedMd5(["c1"])).toEqual(new Map([["c1", null]]));
    for (const key of ["contacts", "transactions", "connections", "recordings", "inbound_calls"]) {
      await dialect.run(`DROP TABLE ${dialect.quote(fitIdentifier(prefix + key, 63))}`);
    }
    await dialect.close();
  });

  test("values: booleans, exact numbers, NUL-free text, json text; read back as plain values", async () => {
    const dialect = await createPostgresDialect(database.url);
    await dialect.run('CREATE TABLE "vals" ("b" boolean, "n" numeric, "t" text, "j" jsonb, "ts" timestamptz)');
    await dialect.run('INSERT INTO "vals" VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)', [
      true,
      "123456789012345678901234567890.123456789",
      true,
      '{"a": [1, 2]}',
      "2024-03-04T08:15:22.412Z",
      false,
      -0.5,
      "a\u0000b",
      null,
      null,
    ]);
    const read = await dialect.all<Record<string, unknown>>('SELECT "b", "n", "t", "j", "ts" FROM "vals" ORDER BY "b" DESC');
    expect(read).toEqual([
      { b: true, n: "123456789012345678901234567890.123456789", t: "1", j: '{"a": [1, 2]}', ts: expect.any(String) },
      { b: false, n: "-0.5", t: "ab", j: null, ts: null },
    ]);
    // dates come back as the server's text (in its time zone), not as Date objects
    const ts = String(read[0]!.ts)
      .replace(" ", "T")
      .replace(/([+-]\d\d)$/, "$1:00");
    expect(new Date(ts).toISOString()).toBe("2024-03-04T08:15:22.412Z");
    await dialect.run('DROP TABLE "vals"');
    await dialect.close();
  });
});

describe("PostgreSQL drop-in", () => {
  test("a database written by dbsync2 is picked up: narrow columns widened in place, its rows and index kept", async () => {
    const own = await freshDatabase("postgres");
    let dialect: Dialect | undefined;
    try {
      dialect = await createPostgresDialect(own.url);
      const { fields, rows } = simulatorRows(30);
      // exactly as dbsync2 lays it out, without a table prefix and with its index name
      await createOriginalTables(dialect, "", fields, ORIGINAL_POSTGRES_DDL, "$id|$md5");
      await insertOriginalRows(dialect, "");
      // a report view on one column: PostgreSQL cannot retype that column, so it is left as it is
      await dialect.run('CREATE VIEW "report" AS SELECT "$id", "$ref" FROM "contacts"');

      const target = new SqlTarget(dialect, "");
      await target.prepare(fields);
      await target.write(rows);
      await expectStored(dialect, "", rows);

      const types = new Map(
        (
          await dialect.all<{ name: string; type: string }>(
            "SELECT column_name AS name, format_type(a.atttypid, a.atttypmod) AS type FROM information_schema.columns c " +
              "JOIN pg_attribute a ON a.attrelid = 'contacts'::regclass AND a.attname = c.column_name " +
              "WHERE c.table_schema = current_schema() AND c.table_name = 'contacts'",
          )
        ).map((row) => [row.name, row.type]),
      );
      expect(types.get("$id")).toBe("character varying(50)"); // the key keeps its type
      expect(types.get("$ref")).toBe("character varying(50)"); // a view depends on it
      expect(types.get("$md5")).toBe("text");
      expect(types.get("$phone")).toBe("text");
      expect(types.get("$status_detail")).toBe("character varying"); // unbounded already
      expect(types.get("customer_no")).toBe("numeric");
      expect(types.get(fitIdentifier("a_very_long_custom_field_name_that_goes_beyond_the_sixty_four_character_limit", 63))).toBe("text");

      expect(await dialect.all('SELECT "$id", "$status", "firstname", "customer_no" FROM "contacts" WHERE "$id" = $1', ["orig1"])).toEqual([
        { $id: "orig1", $status: "open", firstname: "Erika", customer_no: "10023" },
      ]);
      expect(await dialect.all('SELECT "isHI", "pause_time_sec" FROM "transactions" WHERE "id" = $1', ["tx-orig1"])).toEqual([
        { isHI: true, pause_time_sec: "12" },
      ]);
      expect(await target.count("contacts")).toBe(rows.contacts!.length + 1);
      expect(await dialect.all("SELECT indexname FROM pg_indexes WHERE tablename = 'contacts' ORDER BY indexname")).toEqual([
        { indexname: "$changed|$id" }, // ours, for reading contacts in the order of their change
        { indexname: "$id|$md5" },
        { indexname: "contacts_pkey" },
      ]);

      // a second start changes nothing and writes the same rows again without trouble
      const second = new SqlTarget(dialect, "");
      await second.prepare(fields);
      await second.write(rows);
      expect(await second.count("contacts")).toBe(rows.contacts!.length + 1);
    } finally {
      await dialect?.close();
      await own.drop();
    }
  });
});
