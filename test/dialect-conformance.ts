// One suite for every SQL dialect, run through SqlTarget (the unstorage pattern): each dialect's test
// file calls runDialectConformance with a function that opens a connection to its database.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { TargetError, type Dialect, type Row, type SqlExecutor, type SqlValue } from "../src/core/sql/dialect.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import { SqlTarget, type RowSet } from "../src/core/sql/target.ts";
import { contactRows, inboundCallRow } from "../src/core/sync/rows.ts";
import { TABLE_KEYS, tableSpecs, contactsMd5Index, type CampaignField, type LogicalType, type TableKey } from "../src/core/sync/tables.ts";
import { createCampaign } from "../src/simulator/campaign.ts";

export function field(name: string, fieldType = "text", deleted = false): CampaignField {
  return { type: "field", fieldType, name, deleted };
}

/** A statement a dialect ran, as the recorder saw it. */
interface Recorded {
  sql: string;
  params: readonly SqlValue[];
  inTransaction: boolean;
}

/**
 * Wraps a dialect to record every statement `run` executes and, when `failAt` is set, to make the
 * n-th statement of a transaction throw as a database error would.
 */
function recorder(inner: Dialect) {
  const statements: Recorded[] = [];
  const control = { failAt: undefined as number | undefined };
  const watched = (tx: SqlExecutor): SqlExecutor => {
    let n = 0;
    return {
      run: async (sql, params = []) => {
        statements.push({ sql, params, inTransaction: true });
        if (++n === control.failAt) throw new TargetError("injected statement failure");
        await tx.run(sql, params);
      },
      all: (sql, params) => tx.all(sql, params),
    };
  };
  const dialect = new Proxy(inner, {
    get(target, property) {
      if (property === "run") {
        return (sql: string, params: readonly SqlValue[] = []) => {
          statements.push({ sql, params, inTransaction: false });
          return target.run(sql, params);
        };
      }
      if (property === "transaction") {
        return <T>(work: (tx: SqlExecutor) => Promise<T>) => target.transaction((tx) => work(watched(tx)));
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { dialect, statements, control };
}

/** How dbsync2 1.15 declares its tables in one database. */
export interface OriginalDdl {
  /** The column type per logical type. */
  types: Record<LogicalType, string>;
  /** Appended to its CREATE TABLE, e.g. MySQL's ` CHARACTER SET utf16`. */
  tableOptions?: string;
}

/** dbsync2's PostgreSQL DDL; also the default for databases it had no target for (SQLite). */
export const ORIGINAL_POSTGRES_DDL: OriginalDdl = {
  types: { short_string: "varchar(50)", string: "varchar", text: "text", int: "numeric", bool: "boolean" },
};

export interface ConformanceOptions {
  /** The original client's DDL for this database; PostgreSQL's when not given. */
  original?: OriginalDdl;
  /**
   * The driver reads integers as JS numbers, so one beyond 2^53 comes back rounded (D1: stored
   * exactly, read rounded). Only such integers are compared by their rounded value.
   */
  roundsBigIntegers?: boolean;
}

/** The connections table of dbsync2 1.5.4, before 1.15 added most of its columns. */
const OLD_CONNECTION_COLUMNS = [
  "id",
  "contact_id",
  "transaction_id",
  "started",
  "connected",
  "disconnected",
  "duration",
  "remote_number",
  "line_number",
  "technology",
  "result",
  "code",
];

/** Booleans come back as 1/0, "1"/"0" or true/false depending on the database. */
function asBool(value: unknown): boolean | unknown {
  if (value === true || value === 1 || value === "1" || value === 1n) return true;
  if (value === false || value === 0 || value === "0" || value === 0n) return false;
  return value;
}

/** Numeric columns come back as numbers or decimal text depending on the database. */
function asNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

let prefixCounter = 0;
const runId = Math.random().toString(36).slice(2, 7);

export function runDialectConformance(name: string, open: () => Promise<Dialect>, options: ConformanceOptions = {}): void {
  const original = options.original ?? ORIGINAL_POSTGRES_DDL;
  describe(`dialect conformance: ${name}`, () => {
    let dialect: Dialect;
    let prefix: string;
    let target: SqlTarget;

    const tableName = (key: TableKey) => prefix + key;
    const q = (identifier: string) => dialect.quote(identifier);

    async function readRows(key: TableKey): Promise<Record<string, unknown>[]> {
      const primaryKey = key === "contacts" ? "$id" : "id";
      const rows = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${q(tableName(key))}`);
      return rows.sort((a, b) => String(a[primaryKey]).localeCompare(String(b[primaryKey])));
    }

    async function readRow(key: TableKey, id: string): Promise<Record<string, unknown> | undefined> {
      const primaryKey = key === "contacts" ? "$id" : "id";
      const sql = `SELECT * FROM ${q(tableName(key))} WHERE ${q(primaryKey)} = ${dialect.placeholder(1)}`;
      const [row] = await dialect.all<Record<string, unknown>>(sql, [id]);
      return row;
    }

    beforeEach(async () => {
      dialect = await open();
      prefix = `t${runId}_${++prefixCounter}_`;
      target = new SqlTarget(dialect, prefix);
    });

    afterEach(async () => {
      for (const key of TABLE_KEYS) await dialect.run(`DROP TABLE IF EXISTS ${q(tableName(key))}`);
      await dialect.close();
    });

    test("prepare creates the five tables with the spec's columns, empty", async () => {
      const fields = [field("firstname"), field("age", "number")];
      await target.prepare(fields);
      const specs = tableSpecs(prefix, fields);
      for (const key of TABLE_KEYS) {
        const expected = specs[key].columns.map((column) => column.name);
        expect(await dialect.existingColumns(specs[key].name)).toEqual(expected);
        expect([...target.columns(key)]).toEqual(expected);
        expect(await target.count(key)).toBe(0);
      }
      expect(await dialect.existingColumns(`${prefix}no_such_table`)).toEqual([]);
    });

    test("a second prepare with the same fields changes nothing", async () => {
      const { dialect: watched, statements } = recorder(dialect);
      const watchedTarget = new SqlTarget(watched, prefix);
      const fields = [field("firstname"), field("age", "number")];
      await watchedTarget.prepare(fields);
      expect(statements.filter((s) => /^CREATE TABLE/i.test(s.sql))).toHaveLength(5);
      await watchedTarget.write({ contacts: [{ $id: "c1", firstname: "Ann" }] });

      statements.length = 0;
      await watchedTarget.prepare(fields);
      expect(statements.filter((s) => /^\s*(CREATE|ALTER)\s+TABLE/i.test(s.sql))).toEqual([]);
      expect(await readRow("contacts", "c1")).toMatchObject({ $id: "c1", firstname: "Ann" });
      expect(await watchedTarget.count("contacts")).toBe(1);
    });

    test("a field added later becomes a column; existing rows stay", async () => {
      await target.prepare([field("firstname")]);
      await target.write({ contacts: [{ $id: "c1", firstname: "Ann" }] });

      await target.prepare([field("firstname"), field("city"), field("zip", "number"), field("gone", "text", true)]);
      const columns = await dialect.existingColumns(tableName("contacts"));
      expect(columns).toContain("city");
      expect(columns).toContain("zip");
      expect(columns).not.toContain("gone");
      expect(target.columns("contacts")).toContain("city");

      await target.write({ contacts: [{ $id: "c2", firstname: "Bob", city: "Köln", zip: 50667 }] });
      expect(await readRow("contacts", "c1")).toMatchObject({ firstname: "Ann", city: null });
      const bob = await readRow("contacts", "c2");
      expect(bob).toMatchObject({ firstname: "Bob", city: "Köln" });
      expect(asNumber(bob?.zip)).toBe(50667);
    });

    test("awkward table prefixes and column names are quoted, stored and read back", async () => {
      prefix = `odd "pre" fix ${runId}_${prefixCounter}_`;
      target = new SqlTarget(dialect, prefix);
      const awkward = [
        'he said "hi"',
        "with space",
        "ünïcødé 名前",
        "select",
        "order",
        "group by",
        '"',
        "a'b",
        "semi;colon --",
        "__proto__",
        `long_${"x".repeat(70)}`,
      ];
      await target.prepare(awkward.map((name) => field(name)));
      // Names longer than the database allows are stored in their fitted form (core/sql/identifiers.ts).
      const physical = (name: string) => dialect.fitIdentifier(name);
      const columns = await dialect.existingColumns(tableName("contacts"));
      for (const name of awkward) expect(columns).toContain(physical(name));

      const row: Row = Object.fromEntries([["$id", "c1"], ...awkward.map((name, i) => [name, `value ${i}`])]);
      await target.write({ contacts: [row] });
      const [stored] = await readRows("contacts");
      for (const [i, name] of awkward.entries()) expect(Object.getOwnPropertyDescriptor(stored, physical(name))?.value).toBe(`value ${i}`);
      expect(await target.storedMd5(["c1"])).toEqual(new Map([["c1", null]]));
    });

    test("writing the same batch twice leaves the same rows", async () => {
      await target.prepare([field("firstname")]);
      const batch: RowSet = {
        contacts: [
          { $id: "c1", $md5: "m1", firstname: "Ann" },
          { $id: "c2", $md5: "m2", firstname: "Bob" },
        ],
        transactions: [{ id: "t1", contact_id: "c1", status: "success", isHI: true }],
        connections: [{ id: "k1", contact_id: "c1", duration: 12 }],
        recordings: [{ id: "r1", contact_id: "c1", filename: "a.wav" }],
        inbound_calls: [{ id: "i1", contact_id: "c2", dispatch_error: false }],
      };
      await target.write(batch);
      const first = await Promise.all(TABLE_KEYS.map((key) => readRows(key)));
      await target.write(batch);
      const second = await Promise.all(TABLE_KEYS.map((key) => readRows(key)));
      expect(second).toEqual(first);
      expect(await Promise.all(TABLE_KEYS.map((key) => target.count(key)))).toEqual([2, 1, 1, 1, 1]);
      expect(first[0]![1]).toMatchObject({ $id: "c2", $md5: "m2", firstname: "Bob" });
    });

    test("absent keys keep their stored value, keys present with null are cleared", async () => {
      await target.prepare([field("firstname"), field("city")]);
      await target.write({ contacts: [{ $id: "c1", firstname: "Ann", city: "Bonn", $phone: "+4930" }] });
      await target.write({ contacts: [{ $id: "c1", firstname: "Anna" }] });
      expect(await readRow("contacts", "c1")).toMatchObject({ firstname: "Anna", city: "Bonn", $phone: "+4930" });
      await target.write({ contacts: [{ $id: "c1", city: null }] });
      expect(await readRow("contacts", "c1")).toMatchObject({ firstname: "Anna", city: null, $phone: "+4930" });
    });

    test("keys that are not columns are dropped; a row without primary key is refused", async () => {
      await target.prepare([field("firstname")]);
      await target.write({ contacts: [{ $id: "c1", firstname: "Ann", $task_log: "[]", nonsense: 1 }] });
      const row = await readRow("contacts", "c1");
      expect(row).toMatchObject({ firstname: "Ann" });
      expect(row).not.toHaveProperty("nonsense");
      await expect(target.write({ contacts: [{ firstname: "nobody" }] })).rejects.toBeInstanceOf(TargetError);
      expect(await target.count("contacts")).toBe(1);
    });

    test("fields whose names differ only in case keep their own values, also where the database folds case", async () => {
      await target.prepare([field("PLZ"), field("plz")]);
      await target.write({ contacts: [{ $id: "c1", PLZ: "10115", plz: "20095" }] });
      await target.prepare([field("PLZ"), field("plz")]); // the next run finds the same columns
      await target.write({ contacts: [{ $id: "c2", PLZ: "80331", plz: "50667" }] });
      const c1 = (await readRow("contacts", "c1")) ?? {};
      const c2 = (await readRow("contacts", "c2")) ?? {};
      expect(c1.PLZ).toBe("10115"); // the field with the column's exact name keeps it
      expect(Object.values(c1)).toContain("20095");
      expect(Object.values(c2)).toEqual(expect.arrayContaining(["80331", "50667"]));
      expect(target.columns("contacts").filter((name) => name.toLowerCase().startsWith("plz"))).toHaveLength(2);
    });

    test("rows sharing a primary key in one batch fold into one, later keys winning", async () => {
      await target.prepare([field("firstname"), field("city")]);
      await target.write({
        contacts: [
          { $id: "c1", firstname: "Ann", city: "Bonn" },
          { $id: "c1", firstname: "Anna" },
          { $id: "c1", city: null },
        ],
      });
      expect(await readRows("contacts")).toEqual([expect.objectContaining({ $id: "c1", firstname: "Anna", city: null })]);
    });

    test("a value a numeric column cannot hold is stored as NULL, said once, and the batch goes in", async () => {
      const warnings: string[] = [];
      const warned = new SqlTarget(dialect, prefix, { onWarning: (message) => warnings.push(message) });
      await warned.prepare([field("amount", "number")]);
      await warned.write({
        contacts: [
          { $id: "n1", amount: "12,5" },
          { $id: "n2", amount: 12.5 },
          { $id: "n3", amount: " 7 " },
          { $id: "n4", amount: "n/a" },
        ],
        transactions: [{ id: "t1", contact_id: "n1", pause_time_sec: "soon" }],
      });
      const amount = async (id: string) => (await readRow("contacts", id))?.[dialect.fitIdentifier("amount")];
      expect(await amount("n1")).toBeNull();
      expect(Number(await amount("n2"))).toBe(12.5);
      expect(Number(await amount("n3"))).toBe(7);
      expect(await amount("n4")).toBeNull();
      expect((await readRow("transactions", "t1"))?.pause_time_sec).toBeNull();
      expect(warnings).toHaveLength(2); // once per column, not per value
      expect(warnings[0]).toContain('"12,5" is none and is stored as NULL');
    });

    test("values of every kind round-trip", async () => {
      await target.prepare([
        field("notes"),
        field("decimal_text"),
        field("emoji"),
        field("empty"),
        field("age", "number"),
        field("price", "number"),
        field("big", "number"),
        field("negative", "number"),
        field("zero", "number"),
        field("numeric_text", "number"),
      ]);
      const long = "Grüße 😀 名前 \" ' \\ ".repeat(Math.ceil(102_400 / 19)).slice(0, 102_400);
      const json = JSON.stringify({ a: [1, 2.5, { b: null }], s: 'quote " and \\ backslash', u: "ü😀" });
      const url = `https://example.com/rec?${"a=1&".repeat(500)}`;
      await target.write({
        contacts: [
          {
            $id: "c1",
            $comment: long,
            notes: json,
            decimal_text: "12.5000000000",
            emoji: "😀👍🏽 Grüße 名前",
            empty: "",
            $phone: null,
            $recording_url: url,
            age: 42,
            price: 12.25,
            big: 123456789012,
            negative: -7,
            zero: 0,
            numeric_text: "17",
          },
        ],
        transactions: [
          { id: "t1", contact_id: "c1", isHI: true, revoked: false, pause_time_sec: 3 },
          { id: "t2", contact_id: "c1", isHI: null, revoked: true },
        ],
      });
      const contact = (await readRow("contacts", "c1"))!;
      expect(contact.$comment).toBe(long);
      expect(JSON.parse(String(contact.notes))).toEqual(JSON.parse(json));
      expect(contact.notes).toBe(json);
      expect(contact.decimal_text).toBe("12.5000000000");
      expect(contact.emoji).toBe("😀👍🏽 Grüße 名前");
      expect(contact.empty).toBe("");
      expect(contact.$phone).toBeNull();
      expect(contact.$recording_url).toBe(url);
      expect(asNumber(contact.age)).toBe(42);
      expect(asNumber(contact.price)).toBe(12.25);
      expect(asNumber(contact.big)).toBe(123456789012);
      expect(asNumber(contact.negative)).toBe(-7);
      expect(asNumber(contact.zero)).toBe(0);
      expect(asNumber(contact.numeric_text)).toBe(17);

      const [t1, t2] = await readRows("transactions");
      expect(asBool(t1!.isHI)).toBe(true);
      expect(asBool(t1!.revoked)).toBe(false);
      expect(asNumber(t1!.pause_time_sec)).toBe(3);
      expect(t2!.isHI).toBeNull();
      expect(asBool(t2!.revoked)).toBe(true);
    });

    test("5,000 rows in one write are chunked within the dialect's limits", async () => {
      const { dialect: watched, statements } = recorder(dialect);
      const watchedTarget = new SqlTarget(watched, prefix);
      const fields = Array.from({ length: 30 }, (_, i) => field(`f${i}`));
      await watchedTarget.prepare(fields);
      statements.length = 0;

      const contacts: Row[] = Array.from({ length: 5000 }, (_, i) => {
        const row: Row = { $id: `c${i}`, $md5: `m${i}` };
        for (let f = 0; f < 30; f++) row[`f${f}`] = `${i}/${f}`;
        if (i % 2 === 0) row.$phone = `+49${i}`; // two key sets → two groups
        return row;
      });
      const transactions: Row[] = Array.from({ length: 5000 }, (_, i) => ({ id: `t${i}`, contact_id: `c${i}` }));
      await watchedTarget.write({ contacts, transactions });

      expect(await watchedTarget.count("contacts")).toBe(5000);
      expect(await watchedTarget.count("transactions")).toBe(5000);
      expect(await readRow("contacts", "c4999")).toMatchObject({ f29: "4999/29", $phone: null, $md5: "m4999" });
      expect(await readRow("contacts", "c4998")).toMatchObject({ f0: "4998/0", $phone: "+494998" });

      const upserts = statements.filter((s) => s.inTransaction);
      expect(upserts.length).toBe(statements.length);
      expect(upserts.length).toBeGreaterThan(2);
      for (const statement of upserts) {
        expect(statement.params.length).toBeLessThanOrEqual(dialect.maxParams);
        const columnsPerRow = statement.params.length === 0 ? 1 : countColumns(statement.sql);
        expect(statement.params.length / columnsPerRow).toBeLessThanOrEqual(dialect.maxRowsPerStatement);
      }
    });

    test("a statement failing in the middle of a batch leaves nothing of the batch written", async () => {
      await target.prepare([field("firstname")]);
      await target.write({ contacts: [{ $id: "keep", firstname: "before" }] });
      await dialect.run(`DROP TABLE ${q(tableName("recordings"))}`);

      const contacts: Row[] = Array.from({ length: 2000 }, (_, i) => ({ $id: `c${i}`, firstname: "new" }));
      contacts.push({ $id: "keep", firstname: "after" });
      const failed = target.write({ contacts, recordings: [{ id: "r1", contact_id: "c1" }] });
      const error = await failed.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TargetError);
      expect(String((error as Error).message)).not.toContain("\n");

      expect(await target.count("contacts")).toBe(1);
      expect(await readRow("contacts", "keep")).toMatchObject({ firstname: "before" });
    });

    test("a batch that fails after several statements is rolled back as a whole", async () => {
      const { dialect: watched, control } = recorder(dialect);
      const watchedTarget = new SqlTarget(watched, prefix);
      await watchedTarget.prepare([]);
      const contacts: Row[] = Array.from({ length: 3000 }, (_, i) => ({ $id: `c${i}` }));
      const transactions: Row[] = [{ id: "t1", contact_id: "c1" }];
      control.failAt = 3;
      await expect(watchedTarget.write({ contacts, transactions })).rejects.toThrow("injected statement failure");
      control.failAt = undefined;
      expect(await target.count("contacts")).toBe(0);
      expect(await target.count("transactions")).toBe(0);

      await watchedTarget.write({ contacts, transactions });
      expect(await target.count("contacts")).toBe(3000);
    });

    /** One contact with a row in each of the five tables, every value telling its `$changed`. */
    function contactVersion(id: string, changed: string | null, tag: string): RowSet {
      const row = { $changed: changed, contact_id: id };
      return {
        contacts: [
          { $id: id, $md5: `md5 ${tag}`, $status: tag, $phone: `+49 ${tag}`, firstname: `Ann ${tag}`, age: tag.length, $changed: changed },
        ],
        transactions: [
          { ...row, id: `t-${id}`, status: tag, fired: "2026-01-01T10:00:00.000Z", isHI: tag.length % 2 === 0, pause_time_sec: 3 },
        ],
        connections: [{ ...row, id: `k-${id}`, result: tag, duration: tag.length, fired: "2026-01-01T10:00:00.000Z" }],
        recordings: [{ ...row, id: `r-${id}`, location: `https://rec/${tag}`, started: "2026-01-01T10:00:01.000Z" }],
        inbound_calls: [{ ...row, id: `i-${id}`, state: tag, dispatch_error: tag.length % 2 === 1, started: "2026-01-01T09:59:00.000Z" }],
      };
    }

    async function storedTables(): Promise<Record<string, unknown>[][]> {
      return await Promise.all(TABLE_KEYS.map((key) => readRows(key)));
    }

    async function expectVersion(id: string, changed: string | null, tag: string): Promise<void> {
      const [contact] = (await readRows("contacts")).filter((row) => row.$id === id);
      expect(contact).toMatchObject({ $md5: `md5 ${tag}`, $status: tag, $phone: `+49 ${tag}`, $changed: changed });
      for (const key of ["transactions", "connections", "recordings", "inbound_calls"] as const) {
        const prefixes = { transactions: "t", connections: "k", recordings: "r", inbound_calls: "i" };
        expect({ key, row: await readRow(key, `${prefixes[key]}-${id}`) }).toMatchObject({ key, row: { $changed: changed } });
      }
    }

    describe("replicas sharing a campaign: a stored row newer than the incoming one stays (keepNewerRows)", () => {
      beforeEach(() => {
        target = new SqlTarget(dialect, prefix, { keepNewerRows: true });
      });

      test("an older version upserted over a newer one leaves the newer row whole, in every table and column", async () => {
        await target.prepare([field("firstname"), field("age", "number")]);
        await target.write(contactVersion("c1", "2026-03-01T12:00:01Z", "newer"));
        const newer = await storedTables();
        await target.write(contactVersion("c1", "2026-03-01T12:00:00Z", "older"));
        // nulls and absent keys of the older version change nothing either
        await target.write({ contacts: [{ $id: "c1", $changed: "2025-12-31T23:59:59Z", firstname: null, $status: "oldest" }] });
        expect(await storedTables()).toEqual(newer);
        await expectVersion("c1", "2026-03-01T12:00:01Z", "newer");
        expect(await readRow("contacts", "c1")).toMatchObject({ firstname: "Ann newer" });
      });

      test("a newer version replaces the stored row, and so does an equal one", async () => {
        await target.prepare([field("firstname"), field("age", "number")]);
        await target.write(contactVersion("c1", "2026-03-01T12:00:00Z", "older"));
        await target.write(contactVersion("c1", "2026-03-01T12:00:01Z", "newer"));
        await expectVersion("c1", "2026-03-01T12:00:01Z", "newer");
        // equal: a batch written again (after a crash, or twice in one second) still repairs its rows
        await target.write(contactVersion("c1", "2026-03-01T12:00:01Z", "same second"));
        await expectVersion("c1", "2026-03-01T12:00:01Z", "same second");
        expect(await Promise.all(TABLE_KEYS.map((key) => target.count(key)))).toEqual([1, 1, 1, 1, 1]);
      });

      test("a stored row without version is replaced, and an incoming row without one replaces", async () => {
        await target.prepare([field("firstname"), field("age", "number")]);
        await target.write(contactVersion("c1", null, "unversioned"));
        await target.write(contactVersion("c1", "2020-01-01T00:00:00Z", "versioned"));
        await expectVersion("c1", "2020-01-01T00:00:00Z", "versioned");
        await target.write(contactVersion("c1", null, "null again"));
        await expectVersion("c1", null, "null again");
        // rows that carry no version at all (another writer) replace as before
        await target.write(contactVersion("c1", "2026-01-01T00:00:00Z", "versioned"));
        await target.write({ contacts: [{ $id: "c1", firstname: "without" }] });
        expect(await readRow("contacts", "c1")).toMatchObject({ firstname: "without", $changed: "2026-01-01T00:00:00Z" });
      });

      test("a stored version of another form is replaced, not compared as text", async () => {
        await target.prepare([field("firstname")]);
        const table = q(tableName("contacts"));
        const others = ["2027-01-01 00:00:00", "2027-01-01T00:00:00.000Z", "2027-01-01T01:00:00+01:00", "zzz", ""];
        for (const [i, other] of others.entries()) {
          await target.write({ contacts: [{ $id: `c${i}`, firstname: "stored", $changed: "2026-01-01T00:00:00Z" }] });
          await dialect.run(
            `UPDATE ${table} SET ${q("$changed")} = ${dialect.placeholder(1)} WHERE ${q("$id")} = ${dialect.placeholder(2)}`,
            [other, `c${i}`],
          );
        }
        await target.write({ contacts: others.map((_, i) => ({ $id: `c${i}`, firstname: "incoming", $changed: "2026-06-01T00:00:00Z" })) });
        for (const row of await readRows("contacts"))
          expect(row).toMatchObject({ firstname: "incoming", $changed: "2026-06-01T00:00:00Z" });
        // and an incoming version of another form replaces a stored one of ours
        await target.write({ contacts: [{ $id: "c0", firstname: "other form", $changed: "2026-01-01 00:00:00" }] });
        expect(await readRow("contacts", "c0")).toMatchObject({ firstname: "other form" });
      });

      test("one batch mixing older and newer rows keeps the newer stored ones and replaces the older ones", async () => {
        await target.prepare([field("firstname"), field("age", "number")]);
        const at = (second: number) => `2026-03-01T12:00:${String(second).padStart(2, "0")}Z`;
        const ids = Array.from({ length: 40 }, (_, i) => `c${i}`);
        // stored: even ids at second 30, odd ids at second 10
        const stored: RowSet = {};
        for (const [i, id] of ids.entries()) mergeInto(stored, contactVersion(id, at(i % 2 === 0 ? 30 : 10), `stored ${id}`));
        await target.write(stored);
        // incoming at second 20, in two column sets (so two statements per table), plus new rows
        const incoming: RowSet = {};
        for (const [i, id] of [...ids, "new1", "new2"].entries()) {
          const version = contactVersion(id, at(20), `incoming ${id}`);
          if (i % 3 === 0) delete version.contacts![0]!.firstname;
          mergeInto(incoming, version);
        }
        await target.write(incoming);
        for (const [i, id] of ids.entries()) {
          const newerStored = i % 2 === 0;
          await expectVersion(id, at(newerStored ? 30 : 20), `${newerStored ? "stored" : "incoming"} ${id}`);
          // a key the incoming row lacks keeps its stored value
          const firstname = newerStored || i % 3 === 0 ? `Ann stored ${id}` : `Ann incoming ${id}`;
          expect(await readRow("contacts", id)).toMatchObject({ firstname });
        }
        await expectVersion("new2", at(20), "incoming new2");
        expect(await target.count("contacts")).toBe(42);
      });
    });

    test("a single sync (without keepNewerRows) writes what it is given: after its clock went back, nothing is lost", async () => {
      await target.prepare([field("firstname"), field("age", "number")]);
      await target.write(contactVersion("c1", "2026-03-01T12:00:05Z", "written first"));
      await target.write(contactVersion("c1", "2026-03-01T12:00:01Z", "written later"));
      await expectVersion("c1", "2026-03-01T12:00:01Z", "written later");
    });

    test("runCounted answers the rows its own statement changed", async () => {
      await target.prepare([]);
      await target.write({ contacts: ["a", "b", "c", "d"].map((id) => ({ $id: id, $md5: id === "d" ? "keep" : "go" })) });
      const table = q(tableName("contacts"));
      const p = (n: number) => dialect.placeholder(n);
      expect(await dialect.runCounted(`DELETE FROM ${table} WHERE ${q("$md5")} = ${p(1)}`, ["go"])).toBe(3);
      expect(await dialect.runCounted(`DELETE FROM ${table} WHERE ${q("$md5")} = ${p(1)}`, ["go"])).toBe(0);
      expect(await dialect.runCounted(`INSERT INTO ${table} (${q("$id")}, ${q("$md5")}) VALUES (${p(1)}, ${p(2)})`, ["e", "new"])).toBe(1);
      expect((await readRows("contacts")).map((row) => row.$id)).toEqual(["d", "e"]);
    });

    test("storedMd5 answers for more ids than one statement may bind", async () => {
      await target.prepare([]);
      const known = Array.from({ length: 1200 }, (_, i) => `c${i}`);
      await target.write({ contacts: known.map((id, i) => ({ $id: id, $md5: i % 10 === 0 ? null : `md5-${i}` })) });
      const unknown = Array.from({ length: dialect.maxParams + 5 }, (_, i) => `unknown-${i}`);

      const stored = await target.storedMd5([...unknown.slice(0, 7), ...known, ...unknown.slice(7), "c1"]);
      expect(stored.size).toBe(1200);
      expect(stored.get("c0")).toBeNull();
      expect(stored.get("c1")).toBe("md5-1");
      expect(stored.get("c1199")).toBe("md5-1199");
      expect(stored.has("unknown-0")).toBe(false);
      expect(await target.storedMd5([])).toEqual(new Map());
    });

    test("the server's contact reader pages in ($changed, $id) order, rows without $changed first", async () => {
      await target.prepare([field("firstname")]);
      const ids = ["b", "a", "B", "c", "a2"];
      await target.write({
        contacts: [
          ...ids.map((id) => ({ $id: id, $md5: "m", $changed: "2026-01-01T00:00:00Z", firstname: `n-${id}` })),
          { $id: "late", $md5: "m", $changed: "2026-01-02T00:00:00Z" },
          { $id: "future", $md5: "m", $changed: "2026-02-01T00:00:00Z" },
          { $id: "old", $md5: "m", $changed: null },
          { $id: "blank", $md5: "m", $changed: "2026-01-01T00:00:00Z" },
        ],
      });
      // Another tool may leave "" (the sync itself stores "" as NULL): such a row counts as unchanged.
      await dialect.run(`UPDATE ${q(tableName("contacts"))} SET ${q("$changed")} = '' WHERE ${q("$id")} = 'blank'`);
      const reader = new ContactReader(dialect, tableName("contacts"));
      const seen: string[] = [];
      let after: { changed: string; id: string } | undefined;
      for (let more = true; more; ) {
        const page = await reader.page({ after, before: "2026-01-15T00:00:00Z", limit: 2, columns: ["firstname"] });
        seen.push(...page.rows.map((row) => String(row.$id)));
        const last = page.rows.at(-1);
        after = last ? { changed: String(last.$changed ?? ""), id: String(last.$id) } : after;
        more = page.more;
      }
      // The database's own order of ids, whatever its collation; each once, the cut-off one left out.
      const sameTime = seen.slice(2, 7);
      expect([...seen.slice(0, 2)].sort()).toEqual(["blank", "old"]);
      expect([...sameTime].sort()).toEqual([...ids].sort());
      expect(seen.slice(7)).toEqual(["late"]);
      expect(new Set(seen).size).toBe(seen.length);
      const firstOf = await reader.page({ before: "2026-01-15T00:00:00Z", limit: 2, columns: ["firstname"] });
      expect(firstOf.rows.map((row) => String(row.$id))).toEqual(seen.slice(0, 2));
    });

    test("tables created by the original client are extended in place and keep their rows", async () => {
      const types = original.types;
      const originalFields = [field("firstname"), field("age", "number")];
      const contacts = tableSpecs(prefix, originalFields).contacts;
      const contactColumns = contacts.columns.map((c) => `${q(c.name)} ${types[c.type]}${c.name === "$id" ? " NOT NULL PRIMARY KEY" : ""}`);
      const charset = original.tableOptions ?? "";
      await dialect.run(`CREATE TABLE ${q(contacts.name)} (${contactColumns.join(", ")})${charset}`);
      const index = contactsMd5Index(prefix);
      await dialect.run(`CREATE INDEX ${q(index.name)} ON ${q(contacts.name)} (${q("$id")}, ${q("$md5")})`);
      const connectionTypes = tableSpecs(prefix).connections.columns;
      const connectionColumns = OLD_CONNECTION_COLUMNS.map((name) => {
        const type = types[connectionTypes.find((c) => c.name === name)!.type];
        return `${q(name)} ${type}${name === "id" ? " NOT NULL PRIMARY KEY" : ""}`;
      });
      await dialect.run(`CREATE TABLE ${q(tableName("connections"))} (${connectionColumns.join(", ")})${charset}`);

      const p = (n: number) => dialect.placeholder(n);
      await dialect.run(
        `INSERT INTO ${q(contacts.name)} (${q("$id")}, ${q("$md5")}, ${q("firstname")}, ${q("age")}, ${q("$changed")}) ` +
          `VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
        ["old1", "oldmd5", "Ann", "41", "2021-09-02T15:34:39Z"],
      );
      await dialect.run(
        `INSERT INTO ${q(tableName("connections"))} (${q("id")}, ${q("contact_id")}, ${q("duration")}) VALUES (${p(1)}, ${p(2)}, ${p(3)})`,
        ["k1", "old1", "17"],
      );

      await target.prepare([...originalFields, field("city")]);

      const contactsNow = await dialect.existingColumns(contacts.name);
      expect(contactsNow.slice(0, contacts.columns.length)).toEqual(contacts.columns.map((c) => c.name));
      expect(contactsNow.at(-1)).toBe("city");
      const connectionsNow = await dialect.existingColumns(tableName("connections"));
      expect(connectionsNow.slice(0, OLD_CONNECTION_COLUMNS.length)).toEqual(OLD_CONNECTION_COLUMNS);
      expect(new Set(connectionsNow)).toEqual(new Set(tableSpecs(prefix).connections.columns.map((c) => c.name)));

      expect(await target.storedMd5(["old1"])).toEqual(new Map([["old1", "oldmd5"]]));
      const old = await readRow("contacts", "old1");
      expect(old).toMatchObject({ firstname: "Ann", $changed: "2021-09-02T15:34:39Z", city: null });
      expect(asNumber(old?.age)).toBe(41);

      // Values wider than the original's columns (varchar(50), text, numeric) are stored whole, not cut or refused.
      const wide = "ünïcødé 😀 ".repeat(30);
      const comment = "Grüße 😀 ".repeat(10_000);
      await target.write({
        contacts: [
          { $id: "old1", city: "Bonn" },
          { $id: "new1", $md5: "newmd5", $status_detail: wide, $phone: wide, $comment: comment, age: "123456789012.25", firstname: wide },
        ],
        connections: [
          { id: "k1", call_uuid: "u-1" },
          { id: "k2", call_uuid: wide, duration: 98765432109 },
        ],
      });
      expect(await readRow("contacts", "old1")).toMatchObject({ firstname: "Ann", city: "Bonn", $md5: "oldmd5" });
      const connection = await readRow("connections", "k1");
      expect(connection).toMatchObject({ contact_id: "old1", call_uuid: "u-1" });
      expect(asNumber(connection?.duration)).toBe(17);
      const fresh = await readRow("contacts", "new1");
      expect(fresh).toMatchObject({ $md5: "newmd5", $status_detail: wide, $phone: wide, $comment: comment, firstname: wide });
      expect(asNumber(fresh?.age)).toBe(123456789012.25);
      const k2 = await readRow("connections", "k2");
      expect(k2?.call_uuid).toBe(wide);
      expect(asNumber(k2?.duration)).toBe(98765432109);
      expect(await target.count("contacts")).toBe(2);
    });

    test("a database the original client filled is picked up and filled further, its rows kept (drop-in)", async () => {
      const { fields, rows } = simulatorRows();
      await createOriginalTables(dialect, prefix, fields, original);
      await insertOriginalRows(dialect, prefix);
      const before = await readRows("contacts");

      await target.prepare(fields);
      await target.write(rows);
      await expectStored(dialect, prefix, rows, { roundsBigIntegers: options.roundsBigIntegers });
      // the original's row keeps its values (a widened number may gain trailing zeros)
      const after = (await readRows("contacts")).find((row) => row.$id === "orig1");
      const asText = (row: Record<string, unknown> | undefined) =>
        Object.fromEntries(Object.entries(before.find((r) => r.$id === "orig1") ?? {}).map(([k]) => [k, plain(row?.[k])]));
      expect(asText(after)).toEqual(asText(before.find((r) => r.$id === "orig1")));
      expect(plain(after?.customer_no)).toBe("10023");
      expect(await target.count("contacts")).toBe(rows.contacts!.length + 1);
      expect(await target.count("inbound_calls")).toBe(rows.inbound_calls!.length + 1);
      expect(await target.storedMd5(["orig1"])).toEqual(new Map([["orig1", "0cc175b9c0f1b6a831c399e269772661"]]));
    });
  });
}

/** Appends the rows of `more` to `into`, table by table. */
function mergeInto(into: RowSet, more: RowSet): void {
  for (const key of TABLE_KEYS) into[key] = [...(into[key] ?? []), ...(more[key] ?? [])];
}

/**
 * The simulator's campaign as rows, with values wider than any of the original's columns: a
 * 70,200-character comment, 300-character texts in its varchar(50)/varchar(100) columns, numbers
 * with decimals and more digits than its `numeric` (MySQL: decimal(10,0)) holds.
 */
export function simulatorRows(count = 25): { fields: CampaignField[]; rows: RowSet } {
  const campaign = createCampaign({ campaignId: "DROPIN", contacts: count, seed: 7, now: () => new Date("2024-06-01T12:00:00Z") });
  const fields = campaign.fields();
  const contacts = campaign.contacts();
  const wide = "ünïcødé 😀 'quoted' \\ ".repeat(15);
  Object.assign(contacts[0]!, {
    $comment: "Grüße 😀 ".repeat(7_800),
    $status_detail: wide,
    $phone: wide.slice(0, 80),
    firstname: wide,
    // beyond double precision; as text, as the API client hands such numbers on
    customer_no: "9007199254740993",
    amount: 1234567.125,
  });
  const now = new Date("2024-06-01T12:00:00Z");
  const rows: Required<RowSet> = { contacts: [], transactions: [], connections: [], recordings: [], inbound_calls: [] };
  for (const contact of contacts) {
    const split = contactRows(contact, {}, now).rows;
    for (const key of ["contacts", "transactions", "connections", "recordings"] as const) rows[key].push(...split[key]);
  }
  rows.inbound_calls = campaign.inboundCalls().map((call) => inboundCallRow(call, now));
  if (rows.transactions.length === 0 || rows.connections.length === 0) throw new Error("the simulator made no calls");
  rows.transactions[0]!.status_detail = wide;
  rows.connections[0]!.global_call_uuid = wide;
  return { fields, rows };
}

/**
 * The five tables exactly as dbsync2 1.15 creates them: its types, its custom
 * columns (fields whose names the database cannot hold were never created), its `$id|$md5` index.
 */
export async function createOriginalTables(
  dialect: Dialect,
  prefix: string,
  fields: readonly CampaignField[],
  original: OriginalDdl,
  indexName = contactsMd5Index(prefix).name,
): Promise<void> {
  const q = (name: string) => dialect.quote(name);
  const fits = (name: string) => dialect.fitIdentifier(name) === name;
  const specs = tableSpecs(
    prefix,
    fields.filter((f) => fits(f.name)),
  );
  for (const key of TABLE_KEYS) {
    const spec = specs[key];
    const columns = spec.columns.map(
      (c) => `${q(c.name)} ${original.types[c.type]}${c.name === spec.primaryKey ? " NOT NULL PRIMARY KEY" : ""}`,
    );
    await dialect.run(`CREATE TABLE ${q(spec.name)} (${columns.join(", ")})${original.tableOptions ?? ""}`);
  }
  await dialect.run(`CREATE INDEX ${q(indexName)} ON ${q(specs.contacts.name)} (${q("$id")}, ${q("$md5")})`);
}

/** One row per table as dbsync2 binds values: numbers and booleans as text. */
export async function insertOriginalRows(dialect: Dialect, prefix: string): Promise<void> {
  const insert = (table: string, row: Record<string, string>) => {
    const names = Object.keys(row);
    const sql =
      `INSERT INTO ${dialect.quote(prefix + table)} (${names.map((n) => dialect.quote(n)).join(", ")}) ` +
      `VALUES (${names.map((_, i) => dialect.placeholder(i + 1)).join(", ")})`;
    return dialect.run(sql, Object.values(row));
  };
  await insert("contacts", {
    $id: "orig1",
    $md5: "0cc175b9c0f1b6a831c399e269772661",
    $status: "open",
    $comment: "written by dbsync2",
    firstname: "Erika",
    customer_no: "10023",
    $changed: "2021-09-02T15:34:39Z",
  });
  await insert("transactions", {
    id: "tx-orig1",
    contact_id: "orig1",
    fired: "2021-09-02T15:34:39.960Z",
    pause_time_sec: "12",
    isHI: "1",
    revoked: "0",
    $changed: "2021-09-02T15:34:39Z",
  });
  await insert("connections", { id: "k-orig1", contact_id: "orig1", duration: "17", isThirdPartyConnection: "0" });
  await insert("recordings", { id: "r-orig1", contact_id: "orig1", filename: "a.wav" });
  await insert("inbound_calls", { id: "i-orig1", contact_id: "orig1", dispatch_error: "0" });
}

/**
 * Every row of `rows` is stored with every value that has a column, compared as plain text (the
 * databases hand numbers and booleans back in their own ways).
 */
export async function expectStored(
  dialect: Dialect,
  prefix: string,
  rows: RowSet,
  options: { roundsBigIntegers?: boolean } = {},
): Promise<void> {
  const fold = (name: string) => (dialect.caseInsensitiveColumns ? name.toLowerCase() : name);
  const physical = (name: string) => fold(dialect.fitIdentifier(name));
  for (const key of TABLE_KEYS) {
    const pk = key === "contacts" ? "$id" : "id";
    const stored = await dialect.all<Record<string, unknown>>(`SELECT * FROM ${dialect.quote(dialect.fitIdentifier(prefix + key))}`);
    const byId = new Map(
      stored.map((row) => {
        const folded: Record<string, unknown> = Object.create(null);
        for (const [column, value] of Object.entries(row)) folded[fold(column)] = value;
        return [String(folded[physical(pk)]), folded];
      }),
    );
    const differences: string[] = [];
    for (const row of rows[key] ?? []) {
      const actual = byId.get(String(row[pk]));
      if (!actual) {
        differences.push(`${row[pk]} is missing`);
        continue;
      }
      for (const [name, value] of Object.entries(row)) {
        const column = physical(name);
        if (!(column in actual)) continue;
        const expected =
          options.roundsBigIntegers && typeof actual[column] === "number" && /^-?\d{16,}$/.test(plain(value) ?? "")
            ? String(Number(plain(value)))
            : plain(value);
        if (expected !== plain(actual[column])) {
          differences.push(`${row[pk]} ${name}: expected ${plain(value)?.slice(0, 60)} got ${plain(actual[column])?.slice(0, 60)}`);
        }
      }
    }
    expect(`${key}: ${differences.slice(0, 5).join("; ")}`).toBe(`${key}: `);
  }
}

/** A value as text: booleans as 1/0, decimals without trailing zeros. */
function plain(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  const text = typeof value === "bigint" ? value.toString() : String(value);
  return /^-?\d+\.\d+$/.test(text) ? text.replace(/\.?0+$/, "") : text;
}

/** Columns in `INSERT INTO t (a, b, …)`: the placeholders of the first row. */
function countColumns(sql: string): number {
  const firstRow = /VALUES\s*\(([^)]*)\)/i.exec(sql)?.[1] ?? "";
  return firstRow.split(",").length;
}
