// SQL Server cannot run on the development machines, so the dialect is tested without a server: the
// SQL it generates, the limits it keeps when SqlTarget writes large batches through a recording
// session, the URL parser, and its one-line errors (a real connection attempt to a closed port).
import { describe, expect, test } from "bun:test";
import { TargetError, type Row, type SqlValue } from "../src/core/sql/dialect.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import { tableSpecs } from "../src/core/sync/tables.ts";
import { openDialect } from "../src/dialects/index.ts";
import { createMssqlDialect, MssqlDialect, parseSqlServerUrl } from "../src/dialects/mssql/index.ts";
import { bindValues, decimalText } from "../src/dialects/mssql/values.ts";
import { isTransientMssqlError } from "../src/dialects/mssql/errors.ts";
import {
  bindParams,
  mssqlDriver,
  plainRows,
  type DriverRequest,
  type MssqlParam,
  type MssqlSession,
} from "../src/dialects/mssql/driver.ts";
import { rejectedWith } from "./helpers/expect.ts";
import { field } from "./dialect-conformance.ts";

const rejection = (promise: Promise<unknown>) => rejectedWith(promise, Error);

// ---- a session that records statements instead of sending them to a server ----

interface Recorded {
  sql: string;
  params: MssqlParam[];
  /** The transaction the statement ran in; undefined outside of one. */
  tx?: number;
}

interface Recorder {
  session: MssqlSession;
  statements: Recorded[];
  events: string[];
  /** Answers a query with rows (default: none); may throw like the server would. */
  answer: (sql: string, params: readonly MssqlParam[]) => Record<string, unknown>[];
  failCommit?: Error;
  failBegin?: Error;
}

function recorder(): Recorder {
  const rec: Recorder = {
    statements: [],
    events: [],
    answer: () => [],
    session: undefined as unknown as MssqlSession,
  };
  let transactions = 0;
  let inFlight = 0;
  const query = async (sql: string, params: readonly MssqlParam[], tx?: number) => {
    // What SQL Server would refuse: too many parameters, placeholders without a bound value, and a
    // second request on a transaction's connection while one is running.
    if (params.length > 2100) throw new Error(`The incoming request has too many parameters (${params.length})`);
    const names = new Set(params.map((p) => p.name));
    for (const placeholder of skeleton(sql).placeholders) {
      if (!names.has(placeholder.slice(1))) throw new Error(`Must declare the scalar variable "${placeholder}".`);
    }
    if (tx !== undefined && ++inFlight > 1) throw new Error("There is another request in progress.");
    try {
      await Promise.resolve();
      rec.statements.push({ sql, params: [...params], ...(tx === undefined ? {} : { tx }) });
      return rec.answer(sql, params);
    } finally {
      if (tx !== undefined) inFlight--;
    }
  };
  rec.session = {
    query: (sql, params) => query(sql, params),
    begin: async () => {
      if (rec.failBegin) throw rec.failBegin;
      const id = ++transactions;
      rec.events.push(`begin ${id}`);
      return {
        query: (sql, params) => query(sql, params, id),
        commit: async () => {
          if (rec.failCommit) throw rec.failCommit;
          rec.events.push(`commit ${id}`);
        },
        rollback: async () => {
          rec.events.push(`rollback ${id}`);
        },
      };
    },
    close: async () => {
      rec.events.push("close");
    },
  };
  return rec;
}

/**
 * The statement with every bracketed identifier replaced by `[]` and every string literal by `''`,
 * scanning as SQL Server does (`]]` and `''` are escapes), plus the identifiers, literals and
 * placeholders found outside of them. A name that broke out of its brackets shows in the skeleton.
 */
function skeleton(sql: string): { text: string; identifiers: string[]; literals: string[]; placeholders: string[] } {
  let text = "";
  const identifiers: string[] = [];
  const literals: string[] = [];
  let i = 0;
  const quoted = (close: string): string => {
    let value = "";
    for (i++; i < sql.length; i++) {
      if (sql[i] === close) {
        if (sql[i + 1] === close) {
          value += close;
          i++;
          continue;
        }
        i++;
        return value;
      }
      value += sql[i];
    }
    throw new Error(`unterminated ${close} in ${sql}`);
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "[") {
      identifiers.push(quoted("]"));
      text += "[]";
    } else if (c === "'") {
      literals.push(quoted("'"));
      text += "''";
    } else {
      text += c;
      i++;
    }
  }
  return { text, identifiers, literals, placeholders: text.match(/@p\d+/g) ?? [] };
}

function expectOneLine(error: Error, ...absent: string[]): void {
  expect(error).toBeInstanceOf(TargetError);
  expect(error.message).not.toMatch(/[\r\n]/);
  for (const text of absent) expect(error.message).not.toContain(text);
}

const dialectOver = (rec: Recorder, schema?: string) =>
  new MssqlDialect(rec.session, "sqlserver://sa@db.example:1433/sync", schema === undefined ? {} : { schema });

// ---- generated SQL ----

describe("SQL Server dialect: generated SQL", () => {
  const dialect = dialectOver(recorder());

  test("limits, placeholders, quoting", () => {
    expect(dialect.kind).toBe("mssql");
    expect(dialect.maxParams).toBeLessThan(2100);
    expect(dialect.maxParams).toBeGreaterThanOrEqual(2000);
    expect(dialect.maxRowsPerStatement).toBe(1000);
    expect(dialect.fitIdentifier("x".repeat(128))).toBe("x".repeat(128));
    expect(dialect.fitIdentifier("ä".repeat(128))).toBe("ä".repeat(128)); // 128 UTF-16 units, 256 bytes
    expect(dialect.fitIdentifier("x".repeat(129))).toMatch(/^x{119}_[0-9a-f]{8}$/);
    expect(dialect.caseInsensitiveColumns).toBe(true);
    expect(dialect.placeholder(1)).toBe("@p1");
    expect(dialect.placeholder(2000)).toBe("@p2000");
    expect(dialect.quote("plain")).toBe("[plain]");
    expect(dialect.quote("a]b")).toBe("[a]]b]");
    expect(dialect.quote("]]")).toBe("[]]]]]");
    expect(dialect.quote('he said "hi"')).toBe('[he said "hi"]');
    expect(dialect.quote("a'b")).toBe("[a'b]");
    expect(dialect.quote("[x")).toBe("[[x]");
    expect(dialect.quote("select")).toBe("[select]");
    expect(dialect.quote("ünïcødé 名前")).toBe("[ünïcødé 名前]");
    expect(skeleton(`SELECT ${dialect.quote("a]; DROP TABLE x; --")} FROM t`)).toMatchObject({
      text: "SELECT [] FROM t",
      identifiers: ["a]; DROP TABLE x; --"],
    });
  });

  test("column types: no NVARCHAR without length, nothing shorter than MAX except keys; BIT for booleans", () => {
    expect(dialect.columnType("short_string")).toBe("nvarchar(max)");
    expect(dialect.columnType("string")).toBe("nvarchar(max)");
    expect(dialect.columnType("text")).toBe("nvarchar(max)");
    expect(dialect.columnType("int")).toBe("nvarchar(max)");
    expect(dialect.columnType("bool")).toBe("bit");
  });

  test("CREATE TABLE is idempotent, in dbo, with every logical type and an indexable primary key", () => {
    const sql = dialect.createTableSql({
      key: "transactions",
      name: "dfire_transactions",
      primaryKey: "id",
      columns: [
        { name: "id", type: "short_string" },
        { name: "status_detail", type: "string" },
        { name: "notes", type: "text" },
        { name: "pause_time_sec", type: "int" },
        { name: "isHI", type: "bool" },
      ],
    });
    expect(sql).toBe(
      "IF OBJECT_ID(N'[dbo].[dfire_transactions]', N'U') IS NULL CREATE TABLE [dbo].[dfire_transactions] (" +
        "[id] nvarchar(450) NOT NULL PRIMARY KEY, [status_detail] nvarchar(max), [notes] nvarchar(max), " +
        "[pause_time_sec] nvarchar(max), [isHI] bit)",
    );
    expect(sql).not.toMatch(/nvarchar(?!\((max|450)\))/i);
  });

  test("the real contacts table: $id is the key, every other column NVARCHAR(MAX)", () => {
    const spec = tableSpecs("dfire_", [field("age", "number")]).contacts;
    const sql = dialect.createTableSql(spec);
    const { text, identifiers, literals } = skeleton(sql);
    expect(literals).toEqual(["[dbo].[dfire_contacts]", "U"]);
    expect(identifiers).toEqual(["dbo", "dfire_contacts", ...spec.columns.map((c) => c.name)]);
    const definitions = text.slice(text.indexOf("([]") + 1, -1).split(", ");
    expect(definitions[0]).toBe("[] nvarchar(450) NOT NULL PRIMARY KEY");
    expect(definitions.slice(1)).toEqual(spec.columns.slice(1).map(() => "[] nvarchar(max)"));
  });

  test("a schema named by the caller qualifies every table", () => {
    const sales = dialectOver(recorder(), "sa]les");
    const spec = tableSpecs("").recordings;
    expect(sales.createTableSql(spec)).toStartWith(
      "IF OBJECT_ID(N'[sa]]les].[recordings]', N'U') IS NULL CREATE TABLE [sa]]les].[recordings] (",
    );
    expect(sales.addColumnsSql("recordings", [{ name: "x", type: "text" }])).toEqual([
      "ALTER TABLE [sa]]les].[recordings] ADD [x] nvarchar(max)",
    ]);
    expect(sales.sql.upsertSql("recordings", "id", ["id"], 1)).toStartWith("MERGE INTO [sa]]les].[recordings] WITH (HOLDLOCK)");
  });

  test("ALTER TABLE adds several columns in one statement", () => {
    expect(
      dialect.addColumnsSql("dfire_contacts", [
        { name: "city", type: "text" },
        { name: "age", type: "int" },
        { name: "opt]in", type: "bool" },
      ]),
    ).toEqual(["ALTER TABLE [dbo].[dfire_contacts] ADD [city] nvarchar(max), [age] nvarchar(max), [opt]]in] bit"]);
    expect(dialect.addColumnsSql("t", [])).toEqual([]);
  });

  test("CREATE INDEX is idempotent: $id the key, $md5 (NVARCHAR(MAX)) included", () => {
    expect(dialect.sql.createIndexSql("dfire_contacts", { name: "dfire_$id|$md5", columns: ["$id", "$md5"] })).toBe(
      "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'dfire_$id|$md5' AND object_id = OBJECT_ID(N'[dbo].[dfire_contacts]')) " +
        "CREATE INDEX [dfire_$id|$md5] ON [dbo].[dfire_contacts] ([$id]) INCLUDE ([$md5])",
    );
    expect(dialect.sql.createIndexSql("t", { name: "i", columns: ["only"] })).toEndWith("CREATE INDEX [i] ON [dbo].[t] ([only])");
    // quotes in names stay inside their literals and brackets
    const odd = skeleton(dialect.sql.createIndexSql("it's", { name: "o'dd]", columns: ["a'", "b]"] }));
    expect(odd.text).toBe(
      "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'' AND object_id = OBJECT_ID(N'')) CREATE INDEX [] ON [].[] ([]) INCLUDE ([])",
    );
    expect(odd.literals).toEqual(["o'dd]", "[dbo].[it's]"]);
    expect(odd.identifiers).toEqual(["o'dd]", "dbo", "it's", "a'", "b]"]);
  });

  test("MERGE upsert of one row", () => {
    expect(dialect.sql.upsertSql("dfire_contacts", "$id", ["$id", "$md5", "firstname"], 1)).toBe(
      "MERGE INTO [dbo].[dfire_contacts] WITH (HOLDLOCK) AS target " +
        "USING (VALUES (@p1, @p2, @p3)) AS source ([$id], [$md5], [firstname]) " +
        "ON target.[$id] = source.[$id] " +
        "WHEN MATCHED THEN UPDATE SET [$md5] = source.[$md5], [firstname] = source.[firstname] " +
        "WHEN NOT MATCHED THEN INSERT ([$id], [$md5], [firstname]) VALUES (source.[$id], source.[$md5], source.[firstname]);",
    );
  });

  test("MERGE with a version updates a matched row only where the guard allows", () => {
    const fresh =
      "(target.[$changed] IS NULL OR source.[$changed] IS NULL OR source.[$changed] >= target.[$changed] " +
      "OR target.[$changed] NOT LIKE '____-__-__T__:__:__Z' OR source.[$changed] NOT LIKE '____-__-__T__:__:__Z')";
    expect(dialect.sql.upsertSql("dfire_contacts", "$id", ["$id", "firstname", "$changed"], 1, "$changed")).toBe(
      "MERGE INTO [dbo].[dfire_contacts] WITH (HOLDLOCK) AS target " +
        "USING (VALUES (@p1, @p2, @p3)) AS source ([$id], [firstname], [$changed]) " +
        `ON target.[$id] = source.[$id] WHEN MATCHED AND ${fresh} ` +
        "THEN UPDATE SET [firstname] = source.[firstname], [$changed] = source.[$changed] " +
        "WHEN NOT MATCHED THEN INSERT ([$id], [firstname], [$changed]) VALUES (source.[$id], source.[firstname], source.[$changed]);",
    );
    // the guard's LIKE patterns are its only literals; names stay bracketed
    const { literals } = skeleton(dialect.sql.upsertSql("t", "id", ["id", "v"], 2, "v"));
    expect(literals).toEqual(["____-__-__T__:__:__Z", "____-__-__T__:__:__Z"]);
  });

  test("MERGE upsert of many rows numbers the placeholders row after row", () => {
    const sql = dialect.sql.upsertSql("t", "id", ["id", "a"], 3);
    expect(sql).toContain("USING (VALUES (@p1, @p2), (@p3, @p4), (@p5, @p6)) AS source ([id], [a])");
    expect(sql).toEndWith(";");
    const { placeholders } = skeleton(sql);
    expect(placeholders).toEqual(["@p1", "@p2", "@p3", "@p4", "@p5", "@p6"]);
  });

  test("MERGE with only the key has no UPDATE clause; the key matches case-insensitively", () => {
    expect(dialect.sql.upsertSql("t", "$id", ["$id"], 2)).toBe(
      "MERGE INTO [dbo].[t] WITH (HOLDLOCK) AS target USING (VALUES (@p1), (@p2)) AS source ([$id]) " +
        "ON target.[$id] = source.[$id] WHEN NOT MATCHED THEN INSERT ([$id]) VALUES (source.[$id]);",
    );
    const sql = dialect.sql.upsertSql("t", "id", ["ID", "x"], 1);
    expect(sql).toContain("ON target.[ID] = source.[ID] WHEN MATCHED THEN UPDATE SET [x] = source.[x] ");
  });

  test("an upsert beyond SQL Server's limits is refused instead of sent", () => {
    expect(() => dialect.sql.upsertSql("t", "id", ["id"], 1001)).toThrow(TargetError);
    expect(() => dialect.sql.upsertSql("t", "id", ["id", "a", "b"], 701)).toThrow(/2100 parameters/);
    expect(() => dialect.sql.upsertSql("t", "id", ["id", "a", "b"], 700)).not.toThrow();
    expect(() => dialect.sql.upsertSql("t", "id", ["id"], 0)).toThrow(TargetError);
  });

  test("existing columns: INFORMATION_SCHEMA filtered by schema and table, both bound", async () => {
    const rec = recorder();
    rec.answer = () => [{ name: "$id" }, { name: "City" }];
    const columns = await dialectOver(rec, "app").existingColumns("dfire_contacts");
    expect(columns).toEqual(["$id", "City"]);
    expect(rec.statements).toEqual([
      {
        sql:
          "SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.COLUMNS " +
          "WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION",
        params: [
          { name: "p1", value: "app" },
          { name: "p2", value: "dfire_contacts" },
        ],
      },
    ]);
    rec.answer = () => [];
    expect(await dialectOver(rec).existingColumns("it's]")).toEqual([]);
    expect(rec.statements.at(-1)?.params).toEqual([
      { name: "p1", value: "dbo" },
      { name: "p2", value: "it's]" },
    ]);
  });
});

// ---- tables dbsync2 created ----

describe("SQL Server dialect: widening dbsync2's narrow columns", () => {
  /** sys.columns as dbsync2 1.15 leaves its contacts table, plus a few odd cases. */
  const ORIGINAL_CONTACTS = [
    { name: "$id", type: "nvarchar", length: 100, nullable: false, collation: "SQL_Latin1_General_CP1_CI_AS", blocked: 1 },
    { name: "$md5", type: "nvarchar", length: 100, nullable: true, collation: "SQL_Latin1_General_CP1_CI_AS", blocked: 1 },
    { name: "$status_detail", type: "nvarchar", length: 2, nullable: true, collation: "SQL_Latin1_General_CP1_CI_AS", blocked: 0 },
    { name: "$comment", type: "text", length: 16, nullable: true, collation: "Latin1_General_CI_AS", blocked: 0 },
    { name: "age", type: "nvarchar", length: 100, nullable: true, collation: null, blocked: 0 },
    { name: "firstname", type: "nvarchar", length: -1, nullable: true, collation: "Latin1_General_CI_AS", blocked: 0 },
    { name: "strict", type: "varchar", length: 40, nullable: false, collation: "weird collation; --", blocked: 0 },
    { name: "legacy", type: "varchar", length: -1, nullable: true, collation: "Latin1_General_CI_AS", blocked: 0 },
    { name: "viewed", type: "nvarchar", length: 100, nullable: true, collation: "Latin1_General_CI_AS", blocked: 1 },
    { name: "flag", type: "bit", length: 1, nullable: true, collation: null, blocked: 0 },
    { name: "amount", type: "decimal", length: 9, nullable: true, collation: null, blocked: 0 },
  ];

  test("bounded and non-Unicode text columns become NVARCHAR(MAX), one statement each, keeping NULL-ness and collation", async () => {
    const rec = recorder();
    rec.answer = () => ORIGINAL_CONTACTS;
    const dialect = dialectOver(rec);
    const columns = [
      { name: "$id", type: "short_string" },
      { name: "$md5", type: "short_string" },
      { name: "$status_detail", type: "string" },
      { name: "$comment", type: "text" },
      { name: "AGE", type: "int" },
      { name: "firstname", type: "text" },
      { name: "strict", type: "short_string" },
      { name: "legacy", type: "text" },
      { name: "viewed", type: "text" },
      { name: "flag", type: "bool" },
      { name: "amount", type: "int" },
      { name: "not_there", type: "text" },
    ] as const;
    expect(await dialect.widenColumnsSql("dfire_contacts", columns)).toEqual([
      "ALTER TABLE [dbo].[dfire_contacts] ALTER COLUMN [$status_detail] nvarchar(max) COLLATE SQL_Latin1_General_CP1_CI_AS NULL",
      "ALTER TABLE [dbo].[dfire_contacts] ALTER COLUMN [$comment] nvarchar(max) COLLATE Latin1_General_CI_AS NULL",
      "ALTER TABLE [dbo].[dfire_contacts] ALTER COLUMN [age] nvarchar(max) NULL",
      "ALTER TABLE [dbo].[dfire_contacts] ALTER COLUMN [strict] nvarchar(max) NOT NULL",
      "ALTER TABLE [dbo].[dfire_contacts] ALTER COLUMN [legacy] nvarchar(max) COLLATE Latin1_General_CI_AS NULL",
    ]);
    expect(rec.statements).toHaveLength(1);
    expect(rec.statements[0]!.params).toEqual([{ name: "p1", value: "[dbo].[dfire_contacts]" }]);
    expect(rec.statements[0]!.sql).toContain("FROM sys.columns c WHERE c.object_id = OBJECT_ID(@p1)");
    rec.answer = () => [];
    expect(await dialect.widenColumnsSql("dfire_contacts", columns)).toEqual([]);
  });

  test("SqlTarget widens an existing table once, after adding its missing columns", async () => {
    const rec = recorder();
    rec.answer = (sql, params) => {
      if (sql.includes("INFORMATION_SCHEMA.COLUMNS")) {
        return params[1]!.value === "recordings" ? [{ name: "id" }, { name: "contact_id" }, { name: "filename" }] : [];
      }
      if (sql.includes("sys.columns") && params[0]!.value === "[dbo].[recordings]") {
        return [
          { name: "id", type: "nvarchar", length: 100, nullable: false, collation: "Latin1_General_CI_AS", blocked: 1 },
          { name: "contact_id", type: "nvarchar", length: 100, nullable: true, collation: "Latin1_General_CI_AS", blocked: 0 },
          { name: "filename", type: "nvarchar", length: 2, nullable: true, collation: "Latin1_General_CI_AS", blocked: 0 },
        ];
      }
      return [];
    };
    const target = new SqlTarget(dialectOver(rec), "");
    await target.prepare([]);
    const recordings = rec.statements.filter((s) => s.sql.startsWith("ALTER TABLE [dbo].[recordings]")).map((s) => s.sql);
    expect(recordings[0]).toStartWith("ALTER TABLE [dbo].[recordings] ADD [connection_id] nvarchar(max), [started] nvarchar(max)");
    expect(recordings.slice(1)).toEqual([
      "ALTER TABLE [dbo].[recordings] ALTER COLUMN [contact_id] nvarchar(max) COLLATE Latin1_General_CI_AS NULL",
      "ALTER TABLE [dbo].[recordings] ALTER COLUMN [filename] nvarchar(max) COLLATE Latin1_General_CI_AS NULL",
    ]);
    const count = rec.statements.length;
    await target.prepare([]);
    expect(rec.statements.slice(count).filter((s) => s.sql.includes("ALTER COLUMN"))).toEqual([]);
  });
});

// ---- values as bound ----

describe("SQL Server dialect: parameters", () => {
  test("every value is bound as text SQL Server converts exactly: numbers without exponent, booleans 1/0", () => {
    const values: SqlValue[] = ["Grüße 😀", "", null, true, false, 42, -7, 0, 12.25, 123456789012, 1e21, 1.5e-7, "9007199254740993"];
    expect(bindValues(values).map((p) => p.value)).toEqual([
      "Grüße 😀",
      "",
      null,
      "1",
      "0",
      "42",
      "-7",
      "0",
      "12.25",
      "123456789012",
      "1000000000000000000000",
      "0.00000015",
      "9007199254740993",
    ]);
    expect(bindValues(["a", "b"]).map((p) => p.name)).toEqual(["p1", "p2"]);
    expect(decimalText(-1.2345e25)).toBe("-12345000000000000000000000");
    expect(decimalText(-5e-324)).toBe(`-0.${"0".repeat(323)}5`);
    expect(decimalText(1.7976931348623157e308)).toBe(`17976931348623157${"0".repeat(292)}`);
    expect(Number(decimalText(1.2345e-10))).toBe(1.2345e-10);
    expect(decimalText(Number.NaN)).toBeNull();
  });

  test("the driver gets typed NVARCHAR inputs: length 4000, MAX beyond it, NULL typed too", () => {
    const driver = mssqlDriver();
    const request = new driver.Request() as DriverRequest & {
      parameters: Record<string, { type: unknown; length: number; value: unknown }>;
    };
    bindParams(request, [
      { name: "p1", value: "short" },
      { name: "p2", value: "x".repeat(4001) },
      { name: "p3", value: null },
    ]);
    const nvarchar = (driver.NVarChar(1) as { type: unknown }).type;
    expect(Object.keys(request.parameters)).toEqual(["p1", "p2", "p3"]);
    expect(request.parameters.p1).toMatchObject({ type: nvarchar, length: 4000, value: "short" });
    expect(request.parameters.p2).toMatchObject({ type: nvarchar, length: driver.MAX, value: "x".repeat(4001) });
    expect(request.parameters.p3).toMatchObject({ type: nvarchar, length: 4000, value: null });
  });

  test("rows come back as plain objects keyed by column name, also a column called __proto__", () => {
    const rows = plainRows(
      [{ name: "__proto__" }, { name: "n" }],
      [
        ["x", 1],
        ["y", null],
      ],
    );
    expect(rows).toHaveLength(2);
    expect(Object.getOwnPropertyDescriptor(rows[0], "__proto__")?.value).toBe("x");
    expect(rows[1]!.n).toBeNull();
    expect(Object.keys(rows[0]!)).toEqual(["__proto__", "n"]);
  });
});

// ---- SqlTarget over the recording session ----

/** The rows a MERGE carried, rebuilt from its column list and its bound values. */
function mergedRows(statement: Recorded): { table: string; rows: Record<string, string | null>[] } {
  const { text, identifiers } = skeleton(statement.sql);
  expect(text).toMatch(/^MERGE INTO \[\]\.\[\] WITH \(HOLDLOCK\) AS target USING \(VALUES (\((@p\d+(, )?)+\)(, )?)+\) AS source \(/);
  const table = identifiers[1]!;
  const valuesPart = text.slice(text.indexOf("(VALUES ") + 8, text.indexOf(") AS source"));
  const tuples = valuesPart.split("), (").length;
  const sourceColumns = text.slice(text.indexOf("AS source (") + 11, text.indexOf(") ON target")).split(", ").length;
  const columns = identifiers.slice(2, 2 + sourceColumns);
  expect(statement.params.length).toBe(tuples * columns.length);
  const rows: Record<string, string | null>[] = [];
  for (let r = 0; r < tuples; r++) {
    rows.push(Object.fromEntries(columns.map((column, c) => [column, statement.params[r * columns.length + c]!.value])));
  }
  return { table, rows };
}

describe("SQL Server dialect: SqlTarget within the limits", () => {
  test("5,000 rows of 30 columns: at most 2100 parameters and 1000 rows per statement, each row once, one transaction", async () => {
    const rec = recorder();
    const target = new SqlTarget(dialectOver(rec), "dfire_");
    const fields = Array.from({ length: 30 }, (_, i) => field(`f${i}`));
    await target.prepare(fields);
    const ddl = rec.statements.filter((s) => /^(IF|ALTER)/.test(s.sql));
    expect(ddl.map((s) => s.sql.slice(0, 60))).toHaveLength(6); // five tables and the index
    rec.statements.length = 0;

    const contacts: Row[] = Array.from({ length: 5000 }, (_, i) => {
      const row: Row = { $id: `c${i}`, $md5: `m${i}` };
      for (let f = 0; f < 30; f++) row[`f${f}`] = f % 3 === 0 ? i * 1000 + f : `${i}/${f}`;
      if (i % 2 === 0) row.$phone = `+49${i}`; // two key sets → two groups
      return row;
    });
    const transactions: Row[] = Array.from({ length: 5000 }, (_, i) => ({ id: `t${i}`, contact_id: `c${i}` }));
    const recordings: Row[] = Array.from({ length: 2500 }, (_, i) => ({ id: `r${i}` }));
    await target.write({ contacts, transactions, recordings });

    expect(rec.events).toEqual(["begin 1", "commit 1"]);
    expect(rec.statements.length).toBeGreaterThan(2);
    const seen = new Map<string, Map<string, Record<string, string | null>>>();
    let rowsAtLimit = 0;
    for (const statement of rec.statements) {
      expect(statement.tx).toBe(1);
      expect(statement.params.length).toBeLessThanOrEqual(2100);
      expect(statement.params.length).toBeLessThanOrEqual(2000);
      const { table, rows } = mergedRows(statement);
      expect(rows.length).toBeLessThanOrEqual(1000);
      if (rows.length === 1000) rowsAtLimit++;
      const key = table === "dfire_contacts" ? "$id" : "id";
      const byId = seen.get(table) ?? new Map<string, Record<string, string | null>>();
      seen.set(table, byId);
      for (const row of rows) {
        expect(byId.has(row[key]!)).toBe(false);
        byId.set(row[key]!, row);
      }
    }
    // two-column transactions fill 1000-row statements (= 2000 parameters); one-column recordings
    // would fit 2000 rows by parameters but stop at the 1000-row limit
    expect(rowsAtLimit).toBe(5 + 2);
    expect([...seen.keys()].sort()).toEqual(["dfire_contacts", "dfire_recordings", "dfire_transactions"]);
    expect(seen.get("dfire_recordings")!.size).toBe(2500);
    const storedContacts = seen.get("dfire_contacts")!;
    expect(storedContacts.size).toBe(5000);
    expect(seen.get("dfire_transactions")!.size).toBe(5000);
    for (let i = 0; i < 5000; i++) {
      const row = storedContacts.get(`c${i}`)!;
      expect(row.$md5).toBe(`m${i}`);
      expect(row.f29).toBe(`${i}/29`);
      expect(row.f3).toBe(String(i * 1000 + 3));
      if (i % 2 === 0) expect(row.$phone).toBe(`+49${i}`);
      else expect("$phone" in row).toBe(false);
    }
  });

  test("awkward and overlong names stay inside their brackets and fit 128 UTF-16 units after SqlTarget fits them", async () => {
    const rec = recorder();
    const prefix = `odd "pre] fix' `;
    const target = new SqlTarget(dialectOver(rec), prefix);
    const long = `lang_ünïcødé_${"x".repeat(200)}`;
    const awkward = [
      'he said "hi"',
      "with space",
      "ünïcødé 名前",
      "select",
      "order",
      "a]b",
      "]]",
      "a'b",
      "semi;colon --",
      "@p1",
      "__proto__",
      long,
    ];
    await target.prepare(awkward.map((name) => field(name)));
    const create = rec.statements.find((s) => s.sql.includes(`[${prefix.replace("]", "]]")}contacts]`) && s.sql.includes("CREATE TABLE"))!;
    const { text, identifiers, placeholders } = skeleton(create.sql);
    expect(placeholders).toEqual([]);
    const fitted = dialectOver(rec).fitIdentifier(long);
    expect(fitted).not.toBe(long);
    expect(fitted.length).toBeLessThanOrEqual(128);
    expect(fitted).toMatch(/^lang_ünïcødé_x+_[0-9a-f]{8}$/);
    for (const name of awkward.slice(0, -1)) expect(identifiers).toContain(name);
    expect(identifiers).toContain(fitted);
    expect(identifiers).not.toContain(long);
    for (const statement of rec.statements) {
      for (const identifier of skeleton(statement.sql).identifiers) expect(identifier.length).toBeLessThanOrEqual(128);
    }
    // the skeleton holds nothing of the names: no quote, semicolon or comment escaped its brackets
    expect(text).toMatch(
      /^IF OBJECT_ID\(N'', N''\) IS NULL CREATE TABLE \[\]\.\[\] \(\[\] nvarchar\(450\) NOT NULL PRIMARY KEY(, \[\] nvarchar\(max\))+\)$/,
    );

    rec.statements.length = 0;
    const row: Row = Object.fromEntries([["$id", "c1"], ...awkward.map((name, i) => [name, `value ${i}`])]);
    await target.write({ contacts: [row] });
    const [merge] = rec.statements;
    expect(skeleton(merge!.sql).placeholders).toHaveLength(awkward.length + 1);
    const { rows } = mergedRows(merge!);
    expect(rows).toHaveLength(1);
    for (const [i, name] of awkward.entries()) expect(rows[0]![name === long ? fitted : name]).toBe(`value ${i}`);
  });

  test("storedMd5 binds its ids, at most maxParams per statement", async () => {
    const rec = recorder();
    const dialect = dialectOver(rec);
    const target = new SqlTarget(dialect, "");
    await target.prepare([]);
    rec.statements.length = 0;
    rec.answer = (sql, params) =>
      sql.startsWith("SELECT [$id] AS id") ? params.filter((p) => p.value === "c7").map(() => ({ id: "c7", md5: "m7" })) : [];
    const ids = Array.from({ length: 4500 }, (_, i) => `c${i}`);
    expect(await target.storedMd5(ids)).toEqual(new Map([["c7", "m7"]]));
    expect(rec.statements.map((s) => s.params.length)).toEqual([2000, 2000, 500]);
    expect(rec.statements[0]!.sql).toStartWith("SELECT [$id] AS id, [$md5] AS md5 FROM [contacts] WHERE [$id] IN (@p1, @p2, ");
  });
});

// ---- transactions and errors ----

describe("SQL Server dialect: transactions and errors", () => {
  test("a transaction commits what work did, statements one at a time even when not awaited", async () => {
    const rec = recorder();
    const dialect = dialectOver(rec);
    const result = await dialect.transaction(async (tx) => {
      const first = tx.run("INSERT INTO t VALUES (@p1)", ["a"]);
      const second = tx.run("INSERT INTO t VALUES (@p1)", [1]);
      await Promise.all([first, second]);
      return "done";
    });
    expect(result).toBe("done");
    expect(rec.events).toEqual(["begin 1", "commit 1"]);
    expect(rec.statements.map((s) => [s.tx, s.params[0]?.value])).toEqual([
      [1, "a"],
      [1, "1"],
    ]);
  });

  test("a failing statement rolls the transaction back and becomes one line with the statement", async () => {
    const rec = recorder();
    rec.answer = (sql) => {
      if (sql.startsWith("MERGE")) {
        throw Object.assign(new Error("Violation of PRIMARY KEY constraint 'PK__t'.\nThe duplicate key value is (a)."), {
          code: "EREQUEST",
          number: 2627,
        });
      }
      return [];
    };
    const dialect = dialectOver(rec);
    const error = await rejection(
      dialect.transaction(async (tx) => {
        await tx.run("SELECT 1");
        await tx.run(dialect.sql.upsertSql("t", "id", ["id"], 1), ["a"]);
      }),
    );
    expectOneLine(error);
    expect(error.message).toStartWith("statement failed at sqlserver://sa@db.example:1433/sync (MERGE INTO [dbo].[t]");
    expect(error.message).toContain("Violation of PRIMARY KEY constraint 'PK__t'. The duplicate key value is (a).");
    expect((error as TargetError).transient).toBe(false);
    expect(rec.events).toEqual(["begin 1", "rollback 1"]);
  });

  test("a failed commit and a failed begin are TargetErrors; broken connections are transient", async () => {
    const driver = mssqlDriver() as unknown as { ConnectionError: new (message: string, code: string) => Error };
    const rec = recorder();
    rec.failCommit = new driver.ConnectionError("Connection lost - read ECONNRESET", "ESOCKET");
    const dialect = dialectOver(rec);
    const commit = await rejection(dialect.transaction(async (tx) => tx.run("SELECT 1")));
    expectOneLine(commit);
    expect(commit.message).toBe("cannot commit at sqlserver://sa@db.example:1433/sync: Connection lost - read ECONNRESET");
    expect((commit as TargetError).transient).toBe(true);
    expect(rec.events).toEqual(["begin 1", "rollback 1"]);

    rec.failCommit = undefined;
    rec.failBegin = Object.assign(new Error("Connection is closed."), { code: "ECONNCLOSED" });
    const begin = await rejection(dialect.transaction(async () => "never"));
    expect(begin.message).toStartWith("cannot start a transaction at sqlserver://sa@db.example:1433/sync");
    expect((begin as TargetError).transient).toBe(true);
  });

  test("which driver errors count as transient", () => {
    const coded = (code: string, number?: number) => Object.assign(new Error(code), { code, number });
    for (const code of ["ESOCKET", "ETIMEOUT", "ECONNCLOSED", "ECONNRESET", "ECONNREFUSED", "EINSTLOOKUP"]) {
      expect(isTransientMssqlError(coded(code))).toBe(true);
    }
    expect(isTransientMssqlError(coded("EREQUEST", 1205))).toBe(true); // deadlock victim
    expect(isTransientMssqlError(coded("EREQUEST", 40613))).toBe(true); // Azure database unavailable
    expect(isTransientMssqlError(coded("EREQUEST", 2627))).toBe(false); // duplicate key
    expect(isTransientMssqlError(coded("EREQUEST", 207))).toBe(false); // invalid column
    expect(isTransientMssqlError(coded("ELOGIN", 18456))).toBe(false); // wrong password
    expect(isTransientMssqlError(Object.assign(new Error("wrapped"), { originalError: coded("ESOCKET") }))).toBe(true);
    expect(isTransientMssqlError(new Error("plain"))).toBe(false);
  });

  test("runCounted reads @@ROWCOUNT in the statement's own request, outside any transaction", async () => {
    const rec = recorder();
    rec.answer = (sql) => (/SELECT @@ROWCOUNT AS changed$/.test(sql) ? [{ changed: 3 }] : []);
    const dialect = dialectOver(rec);
    expect(await dialect.runCounted("DELETE FROM [calls] WHERE [day] < @p1", ["2012-08-24"])).toBe(3);
    expect(rec.statements).toEqual([
      { sql: "DELETE FROM [calls] WHERE [day] < @p1; SELECT @@ROWCOUNT AS changed", params: [{ name: "p1", value: "2012-08-24" }] },
    ]);
    rec.answer = () => [];
    expect((await rejectedWith(dialect.runCounted("DELETE FROM [calls]"), TargetError)).message).toMatch(/did not say how many rows/);
  });

  test("close closes the session", async () => {
    const rec = recorder();
    await dialectOver(rec).close();
    expect(rec.events).toEqual(["close"]);
  });
});

// ---- URLs ----

describe("SQL Server dialect: URLs", () => {
  test("HOST:PORT/INSTANCE/DATABASE names the instance; the driver finds its port", () => {
    const { config, safeUrl, schema } = parseSqlServerUrl("sqlserver://user:password@host:1433/instance/database");
    expect(config).toMatchObject({
      server: "host",
      port: 1433,
      database: "database",
      user: "user",
      password: "password",
      options: { instanceName: "instance", encrypt: true, trustServerCertificate: true, appName: "dbsync" },
    });
    expect(safeUrl).toBe("sqlserver://user@host:1433/instance/database");
    expect(schema).toBeUndefined();
  });

  test("HOST:PORT/DATABASE has no instance; the port defaults to 1433", () => {
    const { config, safeUrl } = parseSqlServerUrl("sqlserver://user:password@host:1433/database");
    expect(config.options.instanceName).toBeUndefined();
    expect(config).toMatchObject({ server: "host", port: 1433, database: "database" });
    expect(safeUrl).toBe("sqlserver://user@host:1433/database");
    expect(parseSqlServerUrl("sqlserver://u:p@host/db").config.port).toBe(1433);
    expect(parseSqlServerUrl("sqlserver://u:p@host/inst/db").config.port).toBeUndefined();
    expect(parseSqlServerUrl("mssql://u:p@host:14330/db").config).toMatchObject({ port: 14330, database: "db" });
  });

  test("percent-encoded passwords with @ / : and an unencoded @ work; safeUrl never shows them", () => {
    const encoded = parseSqlServerUrl("sqlserver://us%40er:p%40ss%2Fw%3Ard%25@db.example:1433/my%20db");
    expect(encoded.config).toMatchObject({ user: "us@er", password: "p@ss/w:rd%", database: "my db" });
    expect(encoded.safeUrl).toBe("sqlserver://us%40er@db.example:1433/my%20db");
    const raw = parseSqlServerUrl("sqlserver://user:p@ss:w@host:1433/db");
    expect(raw.config).toMatchObject({ user: "user", password: "p@ss:w", server: "host", database: "db" });
    expect(raw.safeUrl).not.toContain("ss:w");
    expect(parseSqlServerUrl("sqlserver://user@host/db").config.password).toBe("");
  });

  test("options: encrypt, trustServerCertificate, database, timeouts, app name, schema; unknown ones ignored", () => {
    const { config, safeUrl, schema } = parseSqlServerUrl(
      "sqlserver://u:p@host:1433/ignored?encrypt=false&TrustServerCertificate=false&database=real&connection+timeout=12" +
        "&request%20timeout=0&app+name=nightly&schema=sales&frobnicate=yes",
    );
    expect(config).toMatchObject({
      database: "real",
      connectionTimeout: 12_000,
      requestTimeout: 2_147_483_647,
      options: { encrypt: false, trustServerCertificate: false, appName: "nightly" },
    });
    expect(schema).toBe("sales");
    expect(safeUrl).toBe("sqlserver://u@host:1433/real");

    // defaults: encrypted and the certificate accepted (as go-mssqldb did), 5 s to connect
    expect(parseSqlServerUrl("sqlserver://u:p@h/db").config).toMatchObject({
      connectionTimeout: 5000,
      requestTimeout: 600_000,
      options: { encrypt: true, trustServerCertificate: true },
    });
    // encrypt=true alone checks the certificate; the option names are case-insensitive
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?Encrypt=TRUE").config.options).toMatchObject({
      encrypt: true,
      trustServerCertificate: false,
    });
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?encrypt=true&trustServerCertificate=true").config.options.trustServerCertificate).toBe(
      true,
    );
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?encrypt=strict").config.options.encrypt).toBe("strict");
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?encrypt=disable").config.options.encrypt).toBe(false);
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?dial+timeout=2.5").config.connectionTimeout).toBe(2500);
    expect(parseSqlServerUrl("sqlserver://u:p@h/db?connectionTimeout=7").config.connectionTimeout).toBe(7000);
  });

  test("IPv6 hosts and DOMAIN\\user logins", () => {
    expect(parseSqlServerUrl("sqlserver://u:p@[::1]:1433/db")).toMatchObject({
      config: { server: "::1", port: 1433 },
      safeUrl: "sqlserver://u@[::1]:1433/db",
    });
    expect(parseSqlServerUrl("sqlserver://CORP%5Cjane:p@h/db").config).toMatchObject({ user: "jane", domain: "CORP" });
  });

  test("bad URLs are one-line TargetErrors without the password", () => {
    const bad = [
      ["sqlserver:///db", "names no host"],
      ["sqlserver://u:s3cret-pw@host:1433", "names no database"],
      ["sqlserver://u:s3cret-pw@host:1433/", "names no database"],
      ["sqlserver://u:s3cret-pw@host:99999/db", "not a valid URL"],
      ["sqlserver://u:s3cret-pw@host:port/db", "not a valid URL"],
      ["sqlserver://u:s3cret-pw@host/a/b/c", "too many path segments"],
      ["sqlserver://u:s3cret-pw@host/db?encrypt=maybe", "encrypt=maybe"],
      ["sqlserver://u:s3cret-pw@host/db?connection+timeout=soon", "connection timeout=soon"],
      ["sqlserver://:s3cret-pw@host/db", "names no user"],
      ["postgres://u:s3cret-pw@host/db", "not a SQL Server URL"],
    ] as const;
    for (const [url, problem] of bad) {
      let error: unknown;
      try {
        parseSqlServerUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TargetError);
      expectOneLine(error as Error, "s3cret-pw");
      expect((error as Error).message).toContain(problem);
      expect((error as TargetError).transient).toBe(false);
    }
  });

  test("a bad URL through openDialect fails before any connection attempt", async () => {
    const error = await rejection(openDialect("sqlserver://u:s3cret-pw@host:1433"));
    expectOneLine(error, "s3cret-pw");
    expect(error.message).toContain("names no database");
  });
});

// ---- connecting ----

describe("SQL Server dialect: connecting", () => {
  test("an unreachable server is a quick, transient, one-line TargetError without the password", async () => {
    const started = Date.now();
    const error = await rejection(openDialect("sqlserver://u:s3cret-pw@127.0.0.1:1/db"));
    expect(Date.now() - started).toBeLessThan(6000);
    expectOneLine(error, "s3cret-pw");
    expect(error.message).toStartWith("cannot connect at sqlserver://u@127.0.0.1:1/db: ");
    expect(error.message).toContain("127.0.0.1:1");
    expect((error as TargetError).transient).toBe(true);
  });

  test("the connection timeout of the URL bounds a connection that never answers", async () => {
    // No SQL Browser answers on this machine, so looking up a named instance waits for the timeout.
    const started = Date.now();
    const error = await rejection(createMssqlDialect("sqlserver://u:s3cret-pw@127.0.0.1/NOSUCH/db?connection+timeout=1"));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(4000);
    expectOneLine(error, "s3cret-pw");
    expect(error.message).toStartWith("cannot connect at sqlserver://u@127.0.0.1/NOSUCH/db: ");
    expect((error as TargetError).transient).toBe(true);
  });

  test("the login's default schema is used; a different schema= is refused; the session is closed then", async () => {
    const rec = recorder();
    rec.answer = (sql) => (sql === "SELECT SCHEMA_NAME() AS [schema]" ? [{ schema: "app" }] : []);
    const dialect = await createMssqlDialect("sqlserver://u:p@h/db", async () => rec.session);
    expect(dialect.schema).toBe("app");
    expect(dialect.safeUrl).toBe("sqlserver://u@h/db");
    expect(dialect.createTableSql(tableSpecs("").recordings)).toStartWith("IF OBJECT_ID(N'[app].[recordings]', N'U') IS NULL");

    const same = await createMssqlDialect("sqlserver://u:p@h/db?schema=APP", async () => rec.session);
    expect(same.schema).toBe("app");

    const error = await rejection(createMssqlDialect("sqlserver://u:s3cret-pw@h/db?schema=sales", async () => rec.session));
    expectOneLine(error, "s3cret-pw");
    expect(error.message).toContain("names schema sales, but the login's default schema is app");
    expect(rec.events).toEqual(["close"]);

    rec.answer = () => [{ schema: null }];
    expect((await createMssqlDialect("sqlserver://u:p@h/db", async () => rec.session)).schema).toBe("dbo");
  });

  test("a login refused by the server is a permanent error, and the password never shows", async () => {
    const login = Object.assign(new Error("Login failed for user 'u'. (password s3cret-pw)"), { code: "ELOGIN", number: 18456 });
    const error = await rejection(
      createMssqlDialect("sqlserver://u:s3cret-pw@h/db", async () => {
        throw login;
      }),
    );
    expectOneLine(error, "s3cret-pw");
    expect(error.message).toBe("cannot connect at sqlserver://u@h/db: Login failed for user 'u'. (password ***)");
    expect((error as TargetError).transient).toBe(false);
    expect((error as TargetError).cause).toBe(login);
  });
});
