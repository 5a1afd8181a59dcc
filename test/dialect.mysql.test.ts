// The MySQL/MariaDB dialect against the real MariaDB of scripts/databases.sh, in databases of its own.
import { afterAll, describe, expect, test } from "bun:test";
import mysql from "mysql2/promise";
import { TargetError, type Dialect, type Row } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { tableSpecs, TABLE_KEYS } from "../src/core/sync/tables.ts";
import { openDialect } from "../src/dialects/index.ts";
import { createMysqlDialect } from "../src/dialects/mysql/index.ts";
import { MysqlSql } from "../src/dialects/mysql/sql.ts";
import { format } from "../src/dialects/mysql/values.ts";
import {
  createOriginalTables,
  expectStored,
  field,
  insertOriginalRows,
  runDialectConformance,
  simulatorRows,
  type OriginalDdl,
} from "./dialect-conformance.ts";
import { runConnectionFailureConformance } from "./dialect-connection-failures.ts";
import { freshDatabase, serverUrl } from "./helpers/databases.ts";
import { rejectedWith, waitFor } from "./helpers/expect.ts";

const rejection = (promise: Promise<unknown>) => rejectedWith(promise, TargetError);

/** dbsync2 1.15's MySQL DDL: narrow varchars, `numeric` = decimal(10,0), utf16 tables. */
const ORIGINAL_MYSQL_DDL: OriginalDdl = {
  types: { short_string: "varchar(50)", string: "varchar(100)", text: "text", int: "numeric", bool: "boolean" },
  tableOptions: " CHARACTER SET utf16",
};

const database = await freshDatabase("mysql");
const databaseName = new URL(database.url).pathname.slice(1);
/** A connection with all privileges, for setting the scene. */
const admin = await mysql.createConnection(serverUrl("mysql"));
const suffix = Math.random().toString(36).slice(2, 8);
const cleanups: string[] = [];
afterAll(async () => {
  for (const statement of cleanups) await admin.query(statement).catch(() => undefined);
  await admin.end();
  await database.drop();
});

function urlWith(change: { user?: string; password?: string; search?: string; database?: string }): string {
  const url = new URL(database.url);
  if (change.user !== undefined) url.username = encodeURIComponent(change.user);
  if (change.password !== undefined) url.password = encodeURIComponent(change.password);
  if (change.search !== undefined) url.search = change.search;
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  return url.toString();
}

/** Drops the five tables of a prefix (names fitted as SqlTarget fits them). */
async function dropTables(dialect: Dialect, prefix: string): Promise<void> {
  for (const key of TABLE_KEYS) await dialect.run(`DROP TABLE IF EXISTS ${dialect.quote(dialect.fitIdentifier(prefix + key))}`);
}

/** One turn of the event loop, so that the driver takes note of sockets the server closed. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** The connections of this file's database (not the admin's), as the server lists them. */
async function serverConnections(): Promise<{ id: number; info: string | null }[]> {
  const [rows] = (await admin.query("SELECT id, info FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()", [
    databaseName,
  ])) as unknown as [{ id: number; info: string | null }[]];
  return rows;
}

runDialectConformance("MariaDB", () => createMysqlDialect(database.url), { original: ORIGINAL_MYSQL_DDL });

describe("MySQL URLs", () => {
  test("a password with @, /, :, ? and % works percent-encoded, and @ / : also as typed", async () => {
    const user = `dbsync_pw_${suffix}`;
    const password = "p@ss/w:rd?#%x";
    for (const host of ["127.0.0.1", "localhost"]) {
      await admin.query(`CREATE USER '${user}'@'${host}' IDENTIFIED BY '${password}'`);
      await admin.query(`GRANT ALL ON \`${databaseName}\`.* TO '${user}'@'${host}'`);
      cleanups.push(`DROP USER IF EXISTS '${user}'@'${host}'`);
    }
    const encoded = urlWith({ user, password, search: "?useSSL=false" });
    expect(encoded).toContain("p%40ss%2Fw%3Ard%3F%23%25x");
    const dialect = await createMysqlDialect(encoded);
    expect(await dialect.all("SELECT CURRENT_USER() LIKE ? AS me", [`${user}@%`])).toEqual([{ me: 1 }]);
    expect(dialect.safeUrl).toBe(`mysql://${user}@127.0.0.1:3306/${databaseName}?useSSL=false`);
    await dialect.close();

    const typed = "p@ss/w:rd";
    for (const host of ["127.0.0.1", "localhost"]) await admin.query(`ALTER USER '${user}'@'${host}' IDENTIFIED BY '${typed}'`);
    const again = await openDialect(`mariadb://${user}:${typed}@127.0.0.1:3306/${databaseName}`);
    expect(again.kind).toBe("mysql");
    expect(await again.all("SELECT DATABASE() AS db")).toEqual([{ db: databaseName }]);
    expect(again.safeUrl).not.toContain(typed);
    await again.close();
  });

  test("TLS options are honoured over real TLS; unknown parameters do not disturb the connection", async () => {
    // scripts/databases.sh runs this server with TLS on, with a self-signed certificate
    const [[{ have }]] = (await admin.query("SELECT @@have_ssl AS have")) as unknown as [[{ have: string }]];
    expect(have).toBe("YES");
    const cipher = async (dialect: Dialect) =>
      String((await dialect.all<{ Value: string }>("SHOW SESSION STATUS LIKE 'Ssl_cipher'"))[0]?.Value ?? "");

    for (const search of ["?useSSL=false&foo=bar", "?ssl=false", "?sslMode=DISABLED", "?tls=false&serverTimezone=UTC"]) {
      const dialect = await createMysqlDialect(urlWith({ search }));
      expect(await cipher(dialect)).toBe("");
      await dialect.close();
    }
    for (const search of [
      "?sslMode=PREFERRED",
      "?useSSL=true",
      "?sslMode=REQUIRED",
      "?tls=skip-verify",
      '?ssl={"rejectUnauthorized":false}',
    ]) {
      const dialect = await createMysqlDialect(urlWith({ search }));
      expect(await cipher(dialect)).not.toBe("");
      await dialect.close();
    }
    // verifying against the system's authorities refuses a self-signed certificate: clear and permanent
    const untrusted = await rejection(createMysqlDialect(urlWith({ search: "?sslMode=VERIFY_IDENTITY" })));
    expect(untrusted.message).toMatch(/certificate/i);
    expect(untrusted.transient).toBe(false);
    const bad = await rejection(createMysqlDialect(urlWith({ search: "?sslMode=SOMETIMES" })));
    expect(bad.message).toContain('unknown sslMode "SOMETIMES"');
  });

  test("the connection is utf8mb4 whatever the URL says", async () => {
    const dialect = await createMysqlDialect(urlWith({ search: "?charset=latin1&useUnicode=false" }));
    expect(await dialect.all("SELECT ? AS v", ["😀 名前 Grüße"])).toEqual([{ v: "😀 名前 Grüße" }]);
    await dialect.close();
  });

  test("a URL without a database is refused", async () => {
    const error = await rejection(createMysqlDialect("mysql://u:hunter2@127.0.0.1:3306/?useSSL=false"));
    expect(error.message).toBe("mysql://u@127.0.0.1:3306/?useSSL=false names no database; use mysql://USER:PASSWORD@HOST:3306/DATABASE");
  });
});

runConnectionFailureConformance("MySQL", createMysqlDialect, () => ({
  unreachable: {
    url: "mysql://dbsync:hunter2@127.0.0.1:1/db?useSSL=false",
    message:
      "cannot open the database at mysql://dbsync@127.0.0.1:1/db?useSSL=false: connection refused (nothing listens on that host and port)",
  },
  wrongPassword: {
    url: urlWith({ password: "not-the-password-42" }),
    password: "not-the-password-42",
    startsWith: `cannot open the database at mysql://dbsync@127.0.0.1:3306/${databaseName}: Access denied for user 'dbsync'@`,
    endsWith: "(ER_ACCESS_DENIED_ERROR)",
  },
  missingDatabase: { url: urlWith({ database: "no_such_db_" }), endsWith: ": Unknown database 'no_such_db_' (ER_BAD_DB_ERROR)" },
}));

describe("MySQL connection failures", () => {
  test("connections the server ends are replaced; a statement they cut off is a transient error", async () => {
    const dialect = await createMysqlDialect(database.url);
    /** Kills every connection of the database and waits until the server has ended them. */
    const kill = async () => {
      const ids = (await serverConnections()).map((row) => row.id);
      for (const id of ids) await admin.query(`KILL CONNECTION ${id}`).catch(() => undefined);
      await waitFor("the killed connections are gone", async () => (await serverConnections()).every((row) => !ids.includes(row.id)));
      // the server closed their sockets before it let go of them: the driver sees that within a turn
      await turn();
      await turn();
    };
    const sleeping = () =>
      waitFor("SELECT SLEEP runs on the server", async () =>
        (await serverConnections()).some((row) => /^SELECT SLEEP/i.test(row.info ?? "")),
      );

    await Promise.all([dialect.all("SELECT 1"), dialect.all("SELECT 2")]);
    await kill();
    expect(await dialect.all("SELECT 1 AS one")).toEqual([{ one: 1 }]);

    const running = rejection(dialect.all("SELECT SLEEP(10)"));
    await sleeping();
    await kill();
    const error = await running;
    expect(error.transient).toBe(true);
    expect(error.message).toStartWith(`statement failed at mysql://dbsync@127.0.0.1:3306/${databaseName} (SELECT SLEEP(10)): `);
    expect(await dialect.all("SELECT 2 AS two")).toEqual([{ two: 2 }]);

    await dialect.run("CREATE TABLE `killed_tx` (`v` text)");
    const transaction = rejection(
      dialect.transaction(async (tx) => {
        await tx.run("INSERT INTO `killed_tx` VALUES (?)", ["lost"]);
        await tx.all("SELECT SLEEP(10)");
      }),
    );
    await sleeping();
    await kill();
    expect((await transaction).transient).toBe(true);
    expect(await dialect.all("SELECT * FROM `killed_tx`")).toEqual([]);
    await dialect.transaction((tx) => tx.run("INSERT INTO `killed_tx` VALUES (?)", ["kept"]));
    expect(await dialect.all("SELECT * FROM `killed_tx`")).toEqual([{ v: "kept" }]);
    await dialect.run("DROP TABLE `killed_tx`");
    await dialect.close();
  }, 60_000);

  test("DDL waits for a reader's open transaction at most lock_wait_timeout (10 s by default), then fails transiently", async () => {
    const dialect = await createMysqlDialect(database.url);
    // every connection of the pool, and a transaction's
    const waits = await Promise.all(
      [1, 2, 3].map(() =>
        dialect.all<{ id: number; wait: unknown }>("SELECT CONNECTION_ID() AS id, @@SESSION.lock_wait_timeout AS wait, SLEEP(0.1) AS s"),
      ),
    );
    expect(new Set(waits.map(([row]) => row?.id)).size).toBe(3);
    for (const [row] of waits) expect(Number(row?.wait)).toBe(10);
    expect(
      Number((await dialect.transaction((tx) => tx.all<{ wait: unknown }>("SELECT @@SESSION.lock_wait_timeout AS wait")))[0]?.wait),
    ).toBe(10);
    await dialect.run("CREATE TABLE `locked` (`id` varchar(10) PRIMARY KEY, `v` longtext)");
    await dialect.run("INSERT INTO `locked` VALUES ('a', 'x')");
    await dialect.close();

    const bad = await rejection(createMysqlDialect(urlWith({ search: "?lock_wait_timeout=soon" })));
    expect(bad.message).toContain("lock_wait_timeout must be a whole number of seconds");
    expect(bad.transient).toBe(false);

    const quick = await createMysqlDialect(urlWith({ search: "?lock_wait_timeout=1" }));
    const alter = quick.addColumnsSql("locked", [{ name: "added", type: "text" }])[0]!;
    const reader = await mysql.createConnection(database.url);
    try {
      await reader.query("START TRANSACTION");
      await reader.query("SELECT * FROM `locked` FOR UPDATE");
      const started = Date.now();
      const error = await rejection(quick.run(alter));
      expect(Date.now() - started).toBeLessThan(4000);
      expect(error.transient).toBe(true);
      expect(error.message).toEndWith("(ER_LOCK_WAIT_TIMEOUT)");
      // and inside a transaction
      expect((await rejection(quick.transaction((tx) => tx.run(alter)))).transient).toBe(true);
    } finally {
      await reader.query("COMMIT");
      await reader.end();
    }
    // once the reader is done, the same statement goes through (as the pipeline's retry does)
    await quick.run(alter);
    expect(await quick.existingColumns("locked")).toEqual(["id", "v", "added"]);
    await quick.run("DROP TABLE `locked`");
    await quick.close();
  }, 30_000);

  test("every connection adds strict mode to the server's modes: values a column cannot hold are refused, not cut", async () => {
    const [[{ server }]] = (await admin.query("SELECT @@GLOBAL.sql_mode AS server")) as unknown as [[{ server: string }]];
    const dialect = await createMysqlDialect(database.url);
    const modes = await Promise.all(
      [1, 2, 3].map(() =>
        dialect.all<{ id: number; mode: string }>("SELECT CONNECTION_ID() AS id, @@SESSION.sql_mode AS mode, SLEEP(0.1) AS s"),
      ),
    );
    expect(new Set(modes.map(([row]) => row?.id)).size).toBe(3);
    const [inTransaction] = await dialect.transaction((tx) => tx.all<{ mode: string }>("SELECT @@SESSION.sql_mode AS mode"));
    for (const mode of [...modes.map(([row]) => row?.mode), inTransaction?.mode]) {
      const set = String(mode).split(",");
      expect(set).toContain("STRICT_ALL_TABLES");
      for (const kept of server.split(",").filter(Boolean)) expect(set).toContain(kept);
    }

    await dialect.run("CREATE TABLE `strict_tx` (`n` decimal(65,10), `s` varchar(5)) ENGINE=InnoDB");
    for (const [sql, value] of [
      ["INSERT INTO `strict_tx` (`n`) VALUES (?)", "abc"],
      ["INSERT INTO `strict_tx` (`n`) VALUES (?)", "12,5"],
      ["INSERT INTO `strict_tx` (`s`) VALUES (?)", "too long"],
    ] as const) {
      const error = await rejection(dialect.run(sql, [value]));
      expect(error.transient).toBe(false);
    }
    // A table without transactions (MyISAM, where old servers put dbsync2's tables): the server's
    // STRICT_TRANS_TABLES alone refuses a bad value in the first row only and cuts it in later rows.
    await dialect.run("CREATE TABLE `strict_plain` (`n` decimal(65,10), `s` varchar(5)) ENGINE=MyISAM");
    const rows = await rejection(dialect.run("INSERT INTO `strict_plain` VALUES (?, ?), (?, ?)", ["1", "ok", "12,5", "too long"]));
    expect(rows.transient).toBe(false);
    expect(await dialect.all("SELECT * FROM `strict_tx`")).toEqual([]);
    expect((await dialect.all("SELECT * FROM `strict_plain`")).length).toBeLessThanOrEqual(1);
    await dialect.run("DROP TABLE `strict_tx`");
    await dialect.run("DROP TABLE `strict_plain`");
    await dialect.close();
  });

  test("SQL errors are one line and permanent, with the server's error code", async () => {
    const dialect = await createMysqlDialect(database.url);
    const error = await rejection(dialect.run("SELECT * FROM no_such_table WHERE x = ?", ["a"]));
    expect(error.message).toBe(
      `statement failed at mysql://dbsync@127.0.0.1:3306/${databaseName} (SELECT * FROM no_such_table WHERE x = ?): ` +
        `Table '${databaseName}.no_such_table' doesn't exist (ER_NO_SUCH_TABLE)`,
    );
    expect(error.transient).toBe(false);
    const count = await rejection(dialect.run("SELECT ?, ?", ["only one"]));
    expect(count.message).toBe("the statement has more placeholders than the 1 values given");
    await dialect.close();
  });
});

describe("MySQL statements and values", () => {
  test("placeholders inside identifiers, strings and comments stay; values are literals in any sql_mode", async () => {
    expect(format("SELECT `a?b`, 'c?d', \"e?f\" FROM t WHERE x = ? -- what?\n AND y = ? /* ? */ # ?\n", ["it's", 2])).toBe(
      "SELECT `a?b`, 'c?d', \"e?f\" FROM t WHERE x = 'it''s' -- what?\n AND y = 2 /* ? */ # ?\n",
    );
    expect(format("INSERT INTO t VALUES (?, ?, ?, ?)", [null, true, false, -1.5])).toBe("INSERT INTO t VALUES (NULL, 1, 0, -1.5)");
    expect(format("SELECT ?", ["a\\b"])).toBe("SELECT _utf8mb4 X'615c62'");

    const dialect = await createMysqlDialect(database.url);
    await dialect.run("CREATE TABLE `modes` (`v` longtext CHARACTER SET utf8mb4)");
    const awkward = ["back\\slash", "quote ' and '' and \\'", "nul \u0000 byte", '😀 " ` ?', "\\", "'"];
    await dialect.transaction(async (tx) => {
      // the same text must arrive whole whether backslashes escape or not
      await tx.run("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
      for (const value of awkward) await tx.run("INSERT INTO `modes` VALUES (?)", [value]);
      await tx.run("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')");
      for (const value of awkward) await tx.run("INSERT INTO `modes` VALUES (?)", [value]);
    });
    const stored = (await dialect.all<{ v: string }>("SELECT `v` FROM `modes`")).map((row) => row.v);
    expect(stored).toEqual([...awkward, ...awkward]);
    await dialect.run("DROP TABLE `modes`");
    await dialect.close();
  });

  test("values: booleans as 1/0, numbers exact, json as text, a column named __proto__", async () => {
    const dialect = await createMysqlDialect(database.url);
    await dialect.run(
      "CREATE TABLE `vals` (`b` boolean, `n` decimal(65,10), `t` longtext, `j` json, `__proto__` longtext) DEFAULT CHARSET=utf8mb4",
    );
    await dialect.run("INSERT INTO `vals` VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)", [
      true,
      "12345678901234567890123456789012345678901234567890.0123456789",
      true,
      '{"a": [1, 2]}',
      "proto",
      false,
      -0.5,
      42,
      null,
      null,
    ]);
    const rows = await dialect.all<Record<string, unknown>>("SELECT * FROM `vals` ORDER BY `b` DESC");
    expect(rows).toEqual([
      { b: 1, n: "12345678901234567890123456789012345678901234567890.0123456789", t: "1", j: '{"a": [1, 2]}', ["__proto__"]: "proto" },
      { b: 0, n: "-0.5000000000", t: "42", j: null, ["__proto__"]: null },
    ]);
    expect(Object.getOwnPropertyDescriptor(rows[0], "__proto__")?.value).toBe("proto");
    await dialect.run("DROP TABLE `vals`");
    await dialect.close();
  });

  test("CREATE INDEX is idempotent also where IF NOT EXISTS is missing (MySQL)", async () => {
    const dialect = await createMysqlDialect(database.url);
    await dialect.run("CREATE TABLE `idx` (`a` varchar(10))");
    await dialect.createIndex("idx", { name: "i", columns: ["a"] });
    await dialect.createIndex("idx", { name: "i", columns: ["a"] });
    expect(
      await dialect.all("SELECT COUNT(*) AS n FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'idx'"),
    ).toEqual([{ n: 1 }]);
    const other = await rejection(dialect.createIndex("idx", { name: "j", columns: ["nope"] }));
    expect(other.message).toContain("ER_KEY_COLUMN_DOES_NOT_EXITS");
    await dialect.run("DROP TABLE `idx`");
    await dialect.close();
  });

  test("an upsert bigger than max_allowed_packet is cut into statements that fit, in one transaction", async () => {
    const dialect = await createMysqlDialect(database.url);
    const [{ packet }] = await dialect.all<{ packet: number }>("SELECT @@max_allowed_packet AS packet");
    const target = new SqlTarget(dialect, "big_");
    await target.prepare([]);
    const comment = "Grüße 😀 ".repeat(Math.ceil(600_000 / 9));
    const count = Math.ceil((1.5 * Number(packet)) / Buffer.byteLength(comment)) + 1;
    const contacts: Row[] = Array.from({ length: count }, (_, i) => ({ $id: `c${i}`, $comment: `${i}:${comment}` }));
    await target.write({ contacts });
    expect(await target.count("contacts")).toBe(count);
    const [last] = await dialect.all<{ c: string }>("SELECT `$comment` AS c FROM `big_contacts` WHERE `$id` = ?", [`c${count - 1}`]);
    expect(last?.c).toBe(`${count - 1}:${comment}`);
    await dropTables(dialect, "big_");
    await dialect.close();
  });
});

describe("MySQL version guard", () => {
  test("the version is assigned last and every assignment asks the guard, with VALUES() that MariaDB and MySQL 8 both read", () => {
    const statement = new MysqlSql({ maxStatementBytes: 1_000_000, lowerCaseTableNames: 0 }).upsertSql(
      "t",
      "id",
      ["$changed", "id", "a"],
      1,
      "$changed",
    );
    const fresh =
      "(`$changed` IS NULL OR VALUES(`$changed`) IS NULL OR VALUES(`$changed`) >= `$changed` " +
      "OR `$changed` NOT LIKE '____-__-__T__:__:__Z' OR VALUES(`$changed`) NOT LIKE '____-__-__T__:__:__Z')";
    expect(statement).toBe(
      "INSERT INTO `t` (`$changed`, `id`, `a`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE " +
        `\`a\` = IF(${fresh}, VALUES(\`a\`), \`a\`), \`$changed\` = IF(${fresh}, VALUES(\`$changed\`), \`$changed\`)`,
    );
  });

  test("older rows cut into several statements by max_allowed_packet keep the newer stored ones", async () => {
    const dialect = await createMysqlDialect(database.url);
    const [{ packet }] = await dialect.all<{ packet: number }>("SELECT @@max_allowed_packet AS packet");
    const target = new SqlTarget(dialect, "bigv_", { keepNewerRows: true });
    await target.prepare([]);
    const comment = "Grüße 😀 ".repeat(Math.ceil(600_000 / 9));
    const count = Math.ceil((1.5 * Number(packet)) / Buffer.byteLength(comment)) + 1;
    const version = (changed: string, tag: string): Row[] =>
      Array.from({ length: count }, (_, i) => ({ $id: `c${i}`, $comment: `${tag} ${i}:${comment}`, $status: tag, $changed: changed }));
    await target.write({ contacts: version("2026-03-01T12:00:10Z", "stored") });
    const mixed = version("2026-03-01T12:00:05Z", "older").map((row, i) =>
      i % 2 === 0 ? row : { ...row, $status: "newer", $changed: "2026-03-01T12:00:20Z" },
    );
    await target.write({ contacts: mixed });
    const rows = await dialect.all<{ id: string; status: string; head: string }>(
      "SELECT `$id` AS id, `$status` AS status, LEFT(`$comment`, 6) AS head FROM `bigv_contacts`",
    );
    expect(rows).toHaveLength(count);
    for (const row of rows) {
      const i = Number(row.id.slice(1));
      expect(row).toEqual({ id: row.id, ...(i % 2 === 0 ? { status: "stored", head: "stored" } : { status: "newer", head: "older " }) });
    }
    await dropTables(dialect, "bigv_");
    await dialect.close();
  });
});

describe("MySQL schema", () => {
  test("columns: keys varchar(255) binary, strings longtext utf8mb4, numbers decimal(65,10); the $id|$md5 index", async () => {
    const dialect = await createMysqlDialect(database.url);
    const target = new SqlTarget(dialect, "types_");
    await target.prepare([field("age", "number"), field("notes")]);
    const columns = await dialect.all<{ name: string; type: string; collation: string | null; nullable: string }>(
      "SELECT column_name AS name, column_type AS type, collation_name AS collation, is_nullable AS nullable " +
        "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?",
      ["types_contacts"],
    );
    const byName = new Map(columns.map((c) => [c.name, c]));
    expect(byName.get("$id")).toEqual({ name: "$id", type: "varchar(255)", collation: "utf8mb4_bin", nullable: "NO" });
    expect(byName.get("$md5")).toMatchObject({ type: "varchar(255)", collation: "utf8mb4_bin" });
    expect(byName.get("$phone")?.type).toBe("longtext");
    expect(byName.get("$phone")?.collation).toStartWith("utf8mb4_");
    expect(byName.get("$comment")?.type).toBe("longtext");
    expect(byName.get("age")?.type).toBe("decimal(65,10)");
    expect(byName.get("notes")?.type).toBe("longtext");
    const [isHI] = await dialect.all<{ type: string }>(
      "SELECT column_type AS type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
      ["types_transactions", "isHI"],
    );
    expect(isHI?.type).toBe("tinyint(1)");
    const indexes = async () =>
      dialect.all<{ name: string; columns: string }>(
        "SELECT index_name AS name, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS columns FROM information_schema.statistics " +
          "WHERE table_schema = DATABASE() AND table_name = ? GROUP BY index_name ORDER BY index_name",
        ["types_contacts"],
      );
    expect(await indexes()).toEqual([
      { name: "PRIMARY", columns: "$id" },
      { name: "types_$id|$md5", columns: "$id,$md5" },
    ]);
    await target.prepare([field("age", "number"), field("notes")]);
    expect(await indexes()).toHaveLength(2);
    // ids compare exactly: "abc" and "ABC" are two contacts
    await target.write({
      contacts: [
        { $id: "abc", $md5: "m1" },
        { $id: "ABC", $md5: "m2" },
      ],
    });
    expect(await target.storedMd5(["abc", "ABC", "Abc"])).toEqual(
      new Map([
        ["abc", "m1"],
        ["ABC", "m2"],
      ]),
    );
    await dropTables(dialect, "types_");
    await dialect.close();
  });

  test("only the URL's database counts: a same-named table elsewhere does not confuse introspection", async () => {
    const other = `${databaseName}_other`;
    await admin.query(`CREATE DATABASE \`${other}\``);
    cleanups.push(`DROP DATABASE IF EXISTS \`${other}\``);
    await admin.query(`CREATE TABLE \`${other}\`.\`sch_contacts\` (\`x\` text, \`y\` text)`);

    const dialect = await createMysqlDialect(database.url);
    expect(await dialect.existingColumns("sch_contacts")).toEqual([]);
    const target = new SqlTarget(dialect, "sch_");
    await target.prepare([field("firstname")]);
    expect(await dialect.existingColumns("sch_contacts")).toEqual(
      tableSpecs("sch_", [field("firstname")]).contacts.columns.map((c) => c.name),
    );
    await target.write({ contacts: [{ $id: "c1", firstname: "Ann" }] });
    await dropTables(dialect, "sch_");
    await dialect.close();

    const inOther = await createMysqlDialect(urlWith({ database: other }));
    expect(await inOther.existingColumns("sch_contacts")).toEqual(["x", "y"]);
    await inOther.close();
  });

  test("names longer than 64 characters (unicode too) are fitted, distinct, and round-trip through SqlTarget", async () => {
    const dialect = await createMysqlDialect(database.url);
    const prefix = "ein_sehr_langes_präfix_für_die_tabellen_dieses_tests_und_mehr_";
    const names = [
      `Straße_${"ä".repeat(60)}`,
      `Straße_${"ä".repeat(60)}_zwei`,
      "x".repeat(70),
      "名前".repeat(35),
      "exactly_sixty_four_characters_".padEnd(64, "ü"),
    ];
    const target = new SqlTarget(dialect, prefix);
    await target.prepare(names.map((name) => field(name)));
    const table = dialect.fitIdentifier(`${prefix}contacts`);
    expect(table).not.toBe(`${prefix}contacts`);
    const columns = await dialect.existingColumns(table);
    const fitted = names.map((name) => dialect.fitIdentifier(name));
    expect(new Set(fitted.map((name) => name.toLowerCase())).size).toBe(names.length);
    for (const name of fitted) {
      expect(columns).toContain(name);
      expect([...name].length).toBeLessThanOrEqual(64);
    }
    expect(fitted.slice(0, 4).every((name, i) => name !== names[i])).toBe(true);
    expect(fitted[4]).toBe(names[4]); // 64 characters, more bytes: MySQL counts characters

    await target.write({ contacts: [Object.fromEntries([["$id", "c1"], ...names.map((name, i) => [name, `value ${i}`])])] });
    await target.write({ contacts: [{ $id: "c1", [names[1]!]: "changed" }] });
    const [row] = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${dialect.quote(table)}`);
    expect(fitted.map((name) => row?.[name])).toEqual(["value 0", "changed", "value 2", "value 3", "value 4"]);

    const again = new SqlTarget(dialect, prefix);
    await again.prepare(names.map((name) => field(name)));
    expect(await dialect.existingColumns(table)).toEqual(columns);
    await dropTables(dialect, prefix);
    await dialect.close();
  });

  test("names with an emoji or a trailing space get a fitted name; 63 accented characters keep theirs; all round-trip", async () => {
    const dialect = await createMysqlDialect(database.url);
    const accented = "Einverständniserklärung_für_die_Verarbeitung_persönlicher_Daten";
    expect([...accented].length).toBe(63);
    expect(Buffer.byteLength(accented)).toBeGreaterThan(64);
    const names = ["Kunde 😀 Status", "👍", "Notiz ", "Notiz", accented];
    const fitted = names.map((name) => dialect.fitIdentifier(name));
    expect(fitted[4]).toBe(accented); // no hash: it fits as it is
    expect(fitted[3]).toBe("Notiz");
    for (const name of fitted.slice(0, 3)) {
      expect(name).toMatch(/_[0-9a-f]{8}$/);
      expect([...name].every((char) => (char.codePointAt(0) ?? 0) <= 0xffff)).toBe(true);
    }
    // `Notiz` and `Notiz ` would be one column to MySQL (and the second refused)
    expect(new Set(fitted.map((name) => name.toLowerCase())).size).toBe(names.length);

    const target = new SqlTarget(dialect, "names_");
    await target.prepare(names.map((name) => field(name)));
    const columns = await dialect.existingColumns("names_contacts");
    for (const name of fitted) expect(columns).toContain(name);
    await target.write({ contacts: [Object.fromEntries([["$id", "c1"], ...names.map((name, i) => [name, `value ${i} 😀`])])] });
    const [row] = await dialect.all<Record<string, unknown>>("SELECT * FROM `names_contacts` WHERE `$id` = ?", ["c1"]);
    expect(fitted.map((name) => row?.[name])).toEqual(names.map((_, i) => `value ${i} 😀`));

    // a second start finds them all again and adds nothing
    const again = new SqlTarget(dialect, "names_");
    await again.prepare(names.map((name) => field(name)));
    expect(await dialect.existingColumns("names_contacts")).toEqual(columns);
    await again.write({ contacts: [{ $id: "c1", [accented]: "changed" }] });
    expect(await dialect.all(`SELECT ${dialect.quote(accented)} AS v FROM \`names_contacts\``)).toEqual([{ v: "changed" }]);
    await dropTables(dialect, "names_");
    await dialect.close();
  });

  test("table prefixes that differ only in case are separate tables where the server's names are case-sensitive", async () => {
    const [[{ lowerCase }]] = (await admin.query("SELECT @@lower_case_table_names AS lowerCase")) as unknown as [[{ lowerCase: number }]];
    const dialect = await createMysqlDialect(database.url);
    const lower = new SqlTarget(dialect, "dfire_");
    await lower.prepare([field("firstname")]);
    await lower.write({ contacts: [{ $id: "c1", firstname: "Ann" }], transactions: [{ id: "t1", contact_id: "c1" }] });

    const upper = new SqlTarget(dialect, "DFIRE_");
    await upper.prepare([field("firstname"), field("city")]);
    await upper.write({ contacts: [{ $id: "c2", firstname: "Bob", city: "Köln" }], transactions: [{ id: "t2", contact_id: "c2" }] });
    const tables = await dialect.all<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'dfire%' ORDER BY 1",
    );
    if (Number(lowerCase) === 0) {
      // Linux's default: two sets of five tables, each with its own rows and columns
      expect(new Set(tables.map((t) => t.name)).size).toBe(10);
      expect(await dialect.existingColumns("dfire_contacts")).not.toContain("city");
      expect(await dialect.existingColumns("DFIRE_contacts")).toContain("city");
      expect(await lower.count("contacts")).toBe(1);
      expect(await upper.count("contacts")).toBe(1);
      expect(await upper.count("transactions")).toBe(1);
      expect(await upper.storedMd5(["c1", "c2"])).toEqual(new Map([["c2", null]]));
      await dropTables(dialect, "DFIRE_");
    } else {
      // names folded by the server: one set of tables, found again under either spelling
      expect(new Set(tables.map((t) => t.name.toLowerCase())).size).toBe(5);
      expect(await dialect.existingColumns("DFIRE_contacts")).toContain("city");
      expect(await upper.count("contacts")).toBe(2);
    }
    await dropTables(dialect, "dfire_");
    await dialect.close();
  });
});

describe("MySQL drop-in", () => {
  test("a database written by dbsync2 is picked up: narrow columns widened in place, its rows and index kept", async () => {
    const own = await freshDatabase("mysql");
    let dialect: Dialect | undefined;
    try {
      dialect = await createMysqlDialect(own.url);
      const { fields, rows } = simulatorRows(30);
      await createOriginalTables(dialect, "", fields, ORIGINAL_MYSQL_DDL, "$id|$md5");
      await insertOriginalRows(dialect, "");

      const target = new SqlTarget(dialect, "");
      await target.prepare(fields);
      await target.write(rows);
      await expectStored(dialect, "", rows);

      const types = new Map(
        (
          await dialect.all<{ name: string; type: string }>(
            "SELECT column_name AS name, column_type AS type FROM information_schema.columns " +
              "WHERE table_schema = DATABASE() AND table_name = 'contacts'",
          )
        ).map((row) => [row.name, row.type]),
      );
      expect(types.get("$id")).toBe("varchar(255)"); // keys become the key type
      expect(types.get("$md5")).toBe("varchar(255)"); // indexed: the key type too, never longtext
      expect(types.get("$phone")).toBe("longtext");
      expect(types.get("$status_detail")).toBe("longtext");
      expect(types.get("$comment")).toBe("longtext");
      expect(types.get("customer_no")).toBe("decimal(65,10)");
      expect(types.get(dialect.fitIdentifier("a_very_long_custom_field_name_that_goes_beyond_the_sixty_four_character_limit"))).toBe(
        "longtext",
      );

      expect(await dialect.all("SELECT `$id`, `$status`, `firstname`, `customer_no` FROM `contacts` WHERE `$id` = ?", ["orig1"])).toEqual([
        { $id: "orig1", $status: "open", firstname: "Erika", customer_no: "10023.0000000000" },
      ]);
      expect(await dialect.all("SELECT `isHI`, `pause_time_sec` FROM `transactions` WHERE `id` = ?", ["tx-orig1"])).toEqual([
        { isHI: 1, pause_time_sec: "12.0000000000" },
      ]);
      expect(await target.count("contacts")).toBe(rows.contacts!.length + 1);
      expect(
        await dialect.all(
          "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'contacts' ORDER BY 1",
        ),
      ).toEqual([{ name: "$id|$md5" }, { name: "PRIMARY" }]);

      const second = new SqlTarget(dialect, "");
      await second.prepare(fields);
      await second.write(rows);
      expect(await second.count("contacts")).toBe(rows.contacts!.length + 1);
    } finally {
      await dialect?.close();
      await own.drop();
    }
  });

  test("dbsync2 tables without the $id|$md5 index: key columns become varchar(255), never longtext, and the index is made", async () => {
    const own = await freshDatabase("mysql");
    let dialect: Dialect | undefined;
    try {
      dialect = await createMysqlDialect(own.url);
      const d = dialect;
      const { fields, rows } = simulatorRows(10);
      const columnsOf = async (table: string) =>
        new Map(
          (
            await d.all<{ name: string; type: string; collation: string | null }>(
              "SELECT column_name AS name, column_type AS type, collation_name AS collation FROM information_schema.columns " +
                "WHERE table_schema = DATABASE() AND table_name = ?",
              [table],
            )
          ).map((row) => [row.name, row]),
        );
      const indexes = async (table: string) =>
        (
          await d.all<{ name: string }>(
            "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? ORDER BY 1",
            [table],
          )
        ).map((row) => row.name);
      const key = { type: "varchar(255)", collation: "utf8mb4_bin" };

      // as an older dbsync2 left it (or a DBA who dropped the index)
      await createOriginalTables(d, "", fields, ORIGINAL_MYSQL_DDL, "$id|$md5");
      await d.run("DROP INDEX `$id|$md5` ON `contacts`");
      await insertOriginalRows(d, "");
      for (let start = 1; start <= 2; start++) {
        const target = new SqlTarget(d, "");
        await target.prepare(fields);
        await target.write(rows);
        await expectStored(d, "", rows); // the 70,000-character comment and the other long values whole
        expect(await target.count("contacts")).toBe(rows.contacts!.length + 1);
        expect(await target.storedMd5(["orig1"])).toEqual(new Map([["orig1", "0cc175b9c0f1b6a831c399e269772661"]]));
      }
      const contacts = await columnsOf("contacts");
      expect(contacts.get("$id")).toMatchObject(key);
      expect(contacts.get("$md5")).toMatchObject(key);
      expect(contacts.get("$comment")?.type).toBe("longtext");
      expect(contacts.get("$phone")?.type).toBe("longtext");
      expect((await columnsOf("transactions")).get("id")).toMatchObject(key);
      expect(await indexes("contacts")).toEqual(["$id|$md5", "PRIMARY"]);

      // the same in MySQL 5.6's COMPACT rows, which hold at most 767 bytes of an indexed column
      const compact: OriginalDdl = { ...ORIGINAL_MYSQL_DDL, tableOptions: " CHARACTER SET utf16 ROW_FORMAT=COMPACT" };
      await createOriginalTables(d, "old_", [], compact, "$id|$md5");
      await d.run("DROP INDEX `$id|$md5` ON `old_contacts`");
      for (let start = 1; start <= 2; start++) {
        const target = new SqlTarget(d, "old_");
        await target.prepare([]);
        await target.write({ contacts: [{ $id: "c".repeat(200), $md5: "m1", $comment: "Grüße 😀 ".repeat(1000) }] });
      }
      expect((await columnsOf("old_contacts")).get("$md5")).toMatchObject(key);
      expect(await indexes("old_contacts")).toEqual(["old_$id|$md5", "PRIMARY"]);
      expect(await d.all("SELECT CHAR_LENGTH(`$comment`) AS n FROM `old_contacts` WHERE `$id` = ?", ["c".repeat(200)])).toEqual([
        { n: 8000 },
      ]);

      // a $md5 an earlier version of dbsync made longtext (so no index could be made) is repaired
      await d.run("DROP INDEX `$id|$md5` ON `contacts`");
      await d.run("ALTER TABLE `contacts` MODIFY `$md5` longtext");
      const repaired = new SqlTarget(d, "");
      await repaired.prepare(fields);
      expect((await columnsOf("contacts")).get("$md5")).toMatchObject(key);
      expect(await indexes("contacts")).toEqual(["$id|$md5", "PRIMARY"]);
      expect(await repaired.storedMd5(["orig1"])).toEqual(new Map([["orig1", "0cc175b9c0f1b6a831c399e269772661"]]));
    } finally {
      await dialect?.close();
      await own.drop();
    }
  });
});
