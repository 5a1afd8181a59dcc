// The phonecalls web service (NiMbox's "Servicios Web - Llamadas", served by dbsync) against a real
// database: one suite, run by a file per database (phonecalls.libsql/postgres/mysql.test.ts). The app
// is built in-process with createApp as `dbsync serve` builds it (PhonecallService: a PhonecallStore
// and a PhoneIndex over the contacts SqlTarget wrote, token hashes from a real libSQL state store and an env-style list);
// requests go through `app.request`, nothing of the database is mocked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Hono } from "hono";
import { resolveMapping } from "../src/core/talkdesk/contact-mapping.ts";
import { ContactReader } from "../src/core/sql/contact-reader.ts";
import type { Dialect, Row } from "../src/core/sql/dialect.ts";
import { PhoneIndex } from "../src/core/phonecalls/phone-index.ts";
import { phonecallId } from "../src/core/phonecalls/phonecalls.ts";
import { PhonecallService } from "../src/core/phonecalls/service.ts";
import { PhonecallStore } from "../src/core/phonecalls/store.ts";
import { SqlTarget } from "../src/core/sql/target.ts";
import type { StateStore } from "../src/core/state/state.ts";
import { openStateStore } from "../src/state/open.ts";
import type { CampaignField } from "../src/core/sync/tables.ts";
import { hashToken } from "../src/core/phonecalls/tokens.ts";
import { createApp } from "../src/server.ts";
import { describeKeys } from "./phonecalls-suite-keys.ts";

const CREATE = "/direct/items/phonecalls/create";
const DELETE = "/direct/items/phonecalls/delete";

/** The token of DBSYNC_PHONECALLS_TOKENS in these tests (only its hash reaches the app). */
const ENV_TOKEN = "env-token-0123456789";

const FIELDS: CampaignField[] = [
  { name: "name", type: "field", fieldType: "text", deleted: false },
  { name: "mobile", type: "field", fieldType: "phone", deleted: false },
  { name: "notes", type: "field", fieldType: "text", deleted: false },
];

const CHANGED = "2026-01-01T00:00:00Z";

type Contact = Record<string, string | null>;

function contact(id: string, values: Contact, changed = CHANGED): Row {
  return { $id: id, $md5: `md5-${id}-${changed}`, $changed: changed, $phone: null, name: id, mobile: null, notes: null, ...values };
}

/** The contacts every world starts with. */
const CONTACTS: Row[] = [
  contact("c-berlin", { $phone: "+49 30 1234567" }),
  // the same last seven digits in another city: must never be taken for Berlin
  contact("c-hamburg", { $phone: "0049-40-1234567" }),
  // a phone number only in the custom phone field
  contact("c-mobile", { mobile: "0171/2345678" }),
  // the example destination of NiMbox's documentation, 02122853348 (Caracas), stored internationally
  contact("c-caracas", { $phone: "+58 212 285 3348" }),
  // a number in a column that is no phone field: never matched
  contact("c-notes", { notes: "030 7777777" }),
];

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

type Params = Record<string, string>;

export function runPhonecallsSuite(name: string, openDialect: () => Promise<Dialect>): void {
  describe(`phonecalls web service on ${name}`, () => {
    let dialect: Dialect;
    let state: StateStore;
    /** A token of the state store (`dbsync tokens add`). */
    let stateToken: string;
    const run = Math.random().toString(36).slice(2, 7);
    let worlds = 0;

    beforeAll(async () => {
      dialect = await openDialect();
      state = await openStateStore(":memory:");
      stateToken = (await state.tokens.add("pbx")).token;
    });
    afterAll(async () => {
      await state?.close();
      await dialect?.close();
    });

    /** Fresh tables (a prefix of their own), the contacts written by SqlTarget, the app over them. */
    async function world(contacts: Row[] = CONTACTS) {
      const prefix = `pc${run}${++worlds}_`;
      const target = new SqlTarget(dialect, prefix);
      await target.prepare(FIELDS);
      if (contacts.length > 0) await target.write({ contacts });
      const reader = new ContactReader(dialect, dialect.fitIdentifier(`${prefix}contacts`));
      /** Added to the clock of the phone index: to pass its refresh interval without waiting. */
      let skew = 0;
      const failures: unknown[] = [];
      const app: Hono = createApp({
        contacts: reader,
        phonecalls: {
          service: new PhonecallService(
            new PhonecallStore(dialect, prefix),
            new PhoneIndex(dialect, reader, prefix, {
              phoneColumns: (columns) => resolveMapping(columns).phones,
              settleMs: 0,
              now: () => Date.now() + skew,
            }),
          ),
          tokenHashes: async () => [hashToken(ENV_TOKEN), ...(await state.tokens.activeHashes())],
        },
        checkpoints: () => state.listCheckpoints(),
        talkdesk: { pageSize: 500, settleMs: 0 },
        ready: async () => {
          await dialect.all("SELECT 1");
        },
        onError: (error) => failures.push(error),
      });

      /** Any request; never a 5xx, always JSON (for these routes), nothing reported to onError. */
      async function request(path: string, init?: RequestInit): Promise<Answer> {
        const response = await app.request(path, init);
        const text = await response.text();
        if (response.status >= 500) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
        expect(failures).toEqual([]);
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw new Error(`${path} answered ${response.status} with no JSON: ${text.slice(0, 200)}`);
        }
        return { status: response.status, body };
      }
      const query = (params: Params) => new URLSearchParams(params).toString();
      const get = (path: string, params: Params) => request(`${path}?${query(params)}`);
      const form = (path: string, params: Params) =>
        request(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: query(params) });
      const json = (path: string, body: unknown) =>
        request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const send = { get, form, json: (path: string, params: Params) => json(path, params) };

      const table = `${prefix}phonecalls`;
      return {
        app,
        prefix,
        failures,
        request,
        get,
        form,
        json,
        send,
        /** Created with the env token, by GET. */
        create: (params: Params) => get(CREATE, { token: ENV_TOKEN, ...params }),
        remove: (params: Params) => get(DELETE, { token: ENV_TOKEN, ...params }),
        async write(rows: Row[]) {
          await target.write({ contacts: rows });
        },
        passTime(ms: number) {
          skew += ms;
        },
        /** The stored calls, by their initiated instant. */
        async calls(): Promise<Record<string, unknown>[]> {
          if ((await dialect.existingColumns(table)).length === 0) return [];
          const q = (c: string) => dialect.quote(c);
          const rows = await dialect.all<Record<string, unknown>>(
            `SELECT ${q("id")} AS id, ${q("initiated")} AS initiated, ${q("source")} AS source, ${q("destination")} AS destination, ` +
              `${q("duration")} AS duration, ${q("url")} AS url, ${q("contact_id")} AS contact_id FROM ${q(table)}`,
          );
          return rows
            .map((row): Record<string, unknown> => ({ ...row, duration: row.duration === null ? null : Number(row.duration) }))
            .sort((a, b) => String(a.initiated).localeCompare(String(b.initiated)) || String(a.source).localeCompare(String(b.source)));
        },
        async metric(name: string): Promise<number> {
          const response = await app.request("/metrics");
          const line = (await response.text()).split("\n").find((l) => l.startsWith(`${name} `));
          return Number(line?.split(" ")[1]);
        },
      };
    }

    /** A success answer of create, its contact and whether it was created. */
    function expectCreated(answer: Answer, contactId: string, created = true): number {
      expect(answer).toEqual({
        status: 200,
        body: { error: false, contactId, phonecallId: expect.any(Number), created },
      });
      const id = answer.body.phonecallId as number;
      expect(Number.isSafeInteger(id) && id > 0).toBe(true);
      return id;
    }

    /** A refusal with exactly these parameters in `errors`, each with a message. */
    function expectRefused(answer: Answer, status: number, fields: string[]): void {
      expect({ status: answer.status, error: answer.body.error, fields: Object.keys((answer.body.errors ?? {}) as object).sort() }).toEqual(
        {
          status,
          error: true,
          fields: [...fields].sort(),
        },
      );
      expect(Object.keys(answer.body).sort()).toEqual(["error", "errors"]);
      for (const message of Object.values(answer.body.errors as Record<string, unknown>)) {
        expect(typeof message).toBe("string");
        expect((message as string).length).toBeGreaterThan(0);
      }
    }

    const CALL = { initiated: "2012-08-23T12:20:33", source: "7222", destination: "+49 30 1234567" };

    describeKeys(world, ENV_TOKEN);

    describe("create", () => {
      test("by GET with a query string: NiMbox's answer, and the call stored with every parameter", async () => {
        const w = await world();
        const answer = await w.get(CREATE, {
          token: ENV_TOKEN,
          ...CALL,
          duration: "45",
          url: "http://192.168.128.96/recordings/SIP-1",
        });
        const id = expectCreated(answer, "c-berlin");
        expect(await w.calls()).toEqual([
          {
            id: String(id),
            initiated: "2012-08-23T12:20:33.000Z",
            source: "7222",
            destination: "+49 30 1234567",
            duration: 45,
            url: "http://192.168.128.96/recordings/SIP-1",
            contact_id: "c-berlin",
          },
        ]);
      });

      test("by POST with a form (application/x-www-form-urlencoded)", async () => {
        const w = await world();
        const id = expectCreated(await w.form(CREATE, { token: ENV_TOKEN, ...CALL, duration: "0" }), "c-berlin");
        expect(await w.calls()).toEqual([
          {
            id: String(id),
            initiated: "2012-08-23T12:20:33.000Z",
            source: "7222",
            destination: "+49 30 1234567",
            duration: 0,
            url: null,
            contact_id: "c-berlin",
          },
        ]);
      });

      test("by POST with JSON, a number as duration too", async () => {
        const w = await world();
        const id = expectCreated(
          await w.json(CREATE, { token: ENV_TOKEN, ...CALL, duration: 61, url: "https://pbx.example.com/r?id=1&x=2" }),
          "c-berlin",
        );
        expect(await w.calls()).toEqual([
          {
            id: String(id),
            initiated: "2012-08-23T12:20:33.000Z",
            source: "7222",
            destination: "+49 30 1234567",
            duration: 61,
            url: "https://pbx.example.com/r?id=1&x=2",
            contact_id: "c-berlin",
          },
        ]);
      });

      test("by POST with a multipart form", async () => {
        const w = await world();
        const body = new FormData();
        for (const [key, value] of Object.entries({ token: ENV_TOKEN, ...CALL, duration: "7" })) body.set(key, value);
        expectCreated(await w.request(CREATE, { method: "POST", body }), "c-berlin");
        expect((await w.calls()).map((c) => c.duration)).toEqual([7]);
      });

      test("with the token of the state store (dbsync tokens add), also one added after the app started", async () => {
        const w = await world();
        expectCreated(await w.get(CREATE, { token: stateToken, ...CALL }), "c-berlin");
        const later = await state.tokens.add("later");
        expectCreated(await w.get(CREATE, { token: later.token, ...CALL, source: "7223" }), "c-berlin");
        expect((await w.calls()).length).toBe(2);
      });

      test("different calls get different ids: another second, another source, another destination", async () => {
        const w = await world();
        const ids = [
          expectCreated(await w.create(CALL), "c-berlin"),
          expectCreated(await w.create({ ...CALL, initiated: "2012-08-23T12:20:34" }), "c-berlin"),
          expectCreated(await w.create({ ...CALL, source: "7223" }), "c-berlin"),
          expectCreated(await w.create({ ...CALL, destination: "040 1234567" }), "c-hamburg"),
        ];
        expect(new Set(ids).size).toBe(4);
        expect((await w.calls()).length).toBe(4);
        expect(await w.metric("dbsync_phonecalls_created_total")).toBe(4);
      });
    });

    describe("duplicate create", () => {
      test("the same instant written differently, same source and destination: the same phonecallId, created false, one row", async () => {
        const w = await world();
        const id = expectCreated(await w.get(CREATE, { token: ENV_TOKEN, ...CALL, duration: "45" }), "c-berlin");
        const spellings = [
          "2012-08-23T12:20:33.000Z",
          "2012-08-23T12:20:33Z",
          "2012-08-23T14:20:33+02:00",
          "2012-08-23T07:20:33-0500",
          "2012-08-23 12:20:33",
        ];
        for (const [n, initiated] of spellings.entries()) {
          const how = (["get", "form", "json"] as const)[n % 3] as "get" | "form" | "json";
          const again = await w.send[how](CREATE, {
            token: ENV_TOKEN,
            ...CALL,
            initiated,
            duration: "99",
            url: "https://other.example.com/",
          });
          expect({ initiated, id: expectCreated(again, "c-berlin", false) }).toEqual({ initiated, id });
        }
        // the first call is kept as it was
        expect(await w.calls()).toEqual([
          {
            id: String(id),
            initiated: "2012-08-23T12:20:33.000Z",
            source: "7222",
            destination: "+49 30 1234567",
            duration: 45,
            url: null,
            contact_id: "c-berlin",
          },
        ]);
        expect(await w.metric("dbsync_phonecalls_created_total")).toBe(1);
      });

      test("the same call sent many times at once: one created, one row, the same id for all", async () => {
        const w = await world();
        expectCreated(await w.create({ ...CALL, source: "1" }), "c-berlin"); // tables made, index built
        const answers = await Promise.all(Array.from({ length: 12 }, () => w.create(CALL)));
        expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
        expect(new Set(answers.map((a) => a.body.phonecallId)).size).toBe(1);
        expect(answers.filter((a) => a.body.created === true).length).toBe(1);
        expect(answers.every((a) => a.body.contactId === "c-berlin")).toBe(true);
        expect((await w.calls()).length).toBe(2);
      });
    });

    describe("requests at once", () => {
      /** Statuses of requests sent together, and what reached onError. */
      async function together(w: Awaited<ReturnType<typeof world>>, paths: string[]) {
        const responses = await Promise.all(paths.map((path) => w.app.request(path)));
        const bodies = await Promise.all(responses.map((r) => r.text()));
        return {
          statuses: responses.map((r) => r.status),
          failures: w.failures.map((e) => (e instanceof Error ? e.message : String(e)).slice(0, 300)),
          bodies,
        };
      }
      const createPath = (params: Params) => `${CREATE}?${new URLSearchParams({ token: ENV_TOKEN, ...params })}`;

      test("the first requests of a fresh server arrive together: every one is answered 200 and stored", async () => {
        // the tables of the calls and of the phone index are made by the first requests
        for (let round = 0; round < 3; round++) {
          const w = await world();
          const paths = Array.from({ length: 12 }, (_, n) => createPath({ ...CALL, source: `70${n}` }));
          const outcome = await together(w, paths);
          expect({ round, statuses: outcome.statuses, failures: outcome.failures }).toEqual({
            round,
            statuses: Array(12).fill(200),
            failures: [],
          });
          expect((await w.calls()).length).toBe(12);
        }
      });

      test("lookups together after the sync wrote many new contacts: every one is answered with its contact", async () => {
        for (let round = 0; round < 2; round++) {
          const w = await world();
          expectCreated(await w.create(CALL), "c-berlin"); // tables made, index built
          // many sharing a change time, as a sync's batch does
          const many = Array.from({ length: 2000 }, (_, n) =>
            contact(
              `c-new-${String(n).padStart(4, "0")}`,
              { $phone: `+49 30 2${String(n).padStart(6, "0")}` },
              `2026-01-02T00:00:${String(n % 60).padStart(2, "0")}Z`,
            ),
          );
          await w.write(many);
          const wanted = Array.from({ length: 12 }, (_, n) => 1999 - n * 7);
          const outcome = await together(
            w,
            wanted.map((n) => createPath({ ...CALL, destination: `030 2${String(n).padStart(6, "0")}` })),
          );
          expect({ round, statuses: outcome.statuses, failures: outcome.failures }).toEqual({
            round,
            statuses: Array(12).fill(200),
            failures: [],
          });
          expect(outcome.bodies.map((b) => (JSON.parse(b) as { contactId?: string }).contactId)).toEqual(
            wanted.map((n) => `c-new-${String(n).padStart(4, "0")}`),
          );
        }
      });
    });

    describe("the contact of the destination", () => {
      test("international (+49, 0049), national (030) and with spaces, slashes, dashes, brackets", async () => {
        const w = await world();
        const destinations = [
          "+49301234567",
          "0049301234567",
          "0301234567",
          "+49 30 1234567",
          "0049 30 123 45 67",
          "030 1234567",
          "030/1234567",
          "030-123-45-67",
          "(030) 123 4567",
          " +49 (30) 12 34 567 ",
          "+49 (0)30 1234567",
        ];
        for (const [n, destination] of destinations.entries()) {
          const answer = await w.create({ ...CALL, initiated: `2012-08-23T12:20:${String(n).padStart(2, "0")}`, destination });
          expect({ destination, contactId: answer.body.contactId, status: answer.status }).toEqual({
            destination,
            contactId: "c-berlin",
            status: 200,
          });
        }
        expect((await w.calls()).length).toBe(destinations.length);
      });

      test("a number stored in national form (0049-40…) and one sharing the last seven digits are told apart", async () => {
        const w = await world();
        for (const [n, [destination, expected]] of [
          ["+49 40 1234567", "c-hamburg"],
          ["040/1234567", "c-hamburg"],
          ["0049401234567", "c-hamburg"],
          ["030 1234567", "c-berlin"],
        ].entries()) {
          const answer = await w.create({ ...CALL, initiated: `2012-08-24T10:00:0${n}`, destination: destination as string });
          expect({ destination, contactId: answer.body.contactId }).toEqual({ destination, contactId: expected });
        }
      });

      test("a custom phone field is searched, and the documented destination 02122853348 finds +58 212 285 3348", async () => {
        const w = await world();
        expectCreated(await w.create({ ...CALL, destination: "+49 171 2345678" }), "c-mobile");
        expectCreated(await w.create({ ...CALL, destination: "01712345678" }), "c-mobile");
        expectCreated(await w.create({ ...CALL, destination: "02122853348" }), "c-caracas");
      });

      test("two different calls with one 52-bit id (a hash collision): the second takes the next id, none is lost", async () => {
        const w = await world();
        await w.create({ ...CALL, destination: "+58 212 285 3348" }); // makes the table
        const id = phonecallId({ ...CALL, initiated: "2012-08-23T12:20:33.000Z" });
        const q = (c: string) => dialect.quote(c);
        // Another call already stored under the id this one hashes to.
        await dialect.run(
          `INSERT INTO ${q(dialect.fitIdentifier(`${w.prefix}phonecalls`))} (${q("id")}, ${q("initiated")}, ${q("source")}, ${q("destination")}, ${q("contact_id")}) ` +
            `VALUES (${[1, 2, 3, 4, 5].map((n) => dialect.placeholder(n)).join(", ")})`,
          [String(id), "1999-01-01T00:00:00.000Z", "1", "2", "c-other"],
        );
        const first = expectCreated(await w.create(CALL), "c-berlin");
        expect(first).toBe(id + 1);
        expect(expectCreated(await w.create(CALL), "c-berlin", false)).toBe(id + 1);
      });

      test("a number shared in its last digits by two contacts, sent without area code: 422, no contact picked", async () => {
        const w = await world();
        expectRefused(await w.create({ ...CALL, destination: "1234567" }), 422, ["destination"]);
        expect(await w.calls()).toEqual([]);
      });

      test("area code/number with a slash is one number: two cities with the same local number are told apart", async () => {
        const w = await world([
          ...CONTACTS,
          contact("s-berlin", { $phone: "030/7654321" }),
          contact("s-hamburg", { $phone: "040/7654321" }),
        ]);
        expectCreated(await w.create({ ...CALL, destination: "+49 30 7654321" }), "s-berlin");
        expectCreated(await w.create({ ...CALL, destination: "040 7654321" }), "s-hamburg");
      });

      test("a field with two numbers finds its contact by either", async () => {
        const w = await world([...CONTACTS, contact("c-two", { mobile: "089 7654321 / 0171 7654321" })]);
        expectCreated(await w.create({ ...CALL, destination: "+49 89 7654321" }), "c-two");
        expectCreated(await w.create({ ...CALL, destination: "01717654321" }), "c-two");
      });

      test("a field holding a long run of digits does not stop the index: contacts after it are found", async () => {
        const many = Array.from({ length: 60 }, (_, i) =>
          contact(`c-late-${String(i).padStart(3, "0")}`, { $phone: `+49 40 5${String(i).padStart(6, "0")}` }, "2026-01-02T00:00:00Z"),
        );
        const w = await world([...CONTACTS, contact("c-junk", { mobile: "1".repeat(300) }, "2026-01-01T12:00:00Z"), ...many]);
        expectCreated(await w.create({ ...CALL, destination: "+49405000059" }), "c-late-059");
        w.passTime(5_000);
        expectCreated(await w.create({ ...CALL, initiated: "2012-08-23T12:20:34", destination: "+49405000001" }), "c-late-001");
      });

      test("no contact has the number: 422 with only an error for destination, nothing stored", async () => {
        const w = await world();
        for (const destination of [
          "030 7654321", // nobody's
          "030 7777777", // only in the notes column, which is no phone field
          "7222", // too short to be anybody's number
          "+1 212 1234567", // the same last seven digits as Berlin, another country and city
        ]) {
          const answer = await w.create({ ...CALL, destination });
          expectRefused(answer, 422, ["destination"]);
          expect({ destination, answer }).toEqual({
            destination,
            answer: { status: 422, body: { error: true, errors: { destination: expect.any(String) } } },
          });
        }
        expect(await w.calls()).toEqual([]);
        expect(await w.metric("dbsync_phonecalls_created_total")).toBe(0);
      });

      test("a contact written after the first lookup is found: the index follows the contacts table", async () => {
        const w = await world();
        // the index is built by a first lookup
        expectCreated(await w.create(CALL), "c-berlin");
        const munich = { ...CALL, initiated: "2012-08-23T13:00:00", destination: "089 5550000" };
        expectRefused(await w.create(munich), 422, ["destination"]);
        await w.write([contact("c-munich", { $phone: "+49 89 5550000" }, "2026-01-02T00:00:00Z")]);
        expectCreated(await w.create(munich), "c-munich");
        // and one written just now, while the index was fresh
        await w.write([contact("c-now", { mobile: "+49 221 5550001" }, new Date().toISOString())]);
        expectCreated(await w.create({ ...munich, destination: "0221 5550001" }), "c-now");
      });

      test("a contact whose number changed is found under its new number, no longer under the old one", async () => {
        const w = await world();
        expectCreated(await w.create(CALL), "c-berlin");
        await w.write([contact("c-berlin", { $phone: "+49 30 9990000" }, "2026-01-03T00:00:00Z")]);
        w.passTime(5_000);
        expectRefused(await w.create({ ...CALL, initiated: "2012-08-23T12:21:00" }), 422, ["destination"]);
        expectCreated(await w.create({ ...CALL, initiated: "2012-08-23T12:22:00", destination: "030 9990000" }), "c-berlin");
      });

      test("a campaign without contacts: 422, not 5xx", async () => {
        const w = await world([]);
        expectRefused(await w.create(CALL), 422, ["destination"]);
      });
    });

    describe("invalid parameters", () => {
      const cases: [string, Params, string[]][] = [
        ["initiated missing", { initiated: "" }, ["initiated"]],
        ["initiated blank", { initiated: "   " }, ["initiated"]],
        ["initiated 2012-02-30", { initiated: "2012-02-30T10:00:00" }, ["initiated"]],
        ["initiated 2013-02-29", { initiated: "2013-02-29T10:00:00" }, ["initiated"]],
        ["initiated month 13", { initiated: "2012-13-01T10:00:00" }, ["initiated"]],
        ["initiated 24:00", { initiated: "2012-08-23T24:00:00" }, ["initiated"]],
        ["initiated minute 60", { initiated: "2012-08-23T12:60:00" }, ["initiated"]],
        ["initiated second 61", { initiated: "2012-08-23T12:20:61" }, ["initiated"]],
        ["initiated a date only", { initiated: "2012-08-23" }, ["initiated"]],
        ["initiated a word", { initiated: "yesterday" }, ["initiated"]],
        ["initiated in seconds since 1970", { initiated: "1345724433" }, ["initiated"]],
        ["initiated with an impossible zone", { initiated: "2012-08-23T12:20:33+25:00" }, ["initiated"]],
        ["source missing", { source: "" }, ["source"]],
        ["source without digits", { source: "abc" }, ["source"]],
        ["source longer than 64", { source: "1".repeat(65) }, ["source"]],
        ["destination missing", { destination: "" }, ["destination"]],
        ["destination without digits", { destination: "unknown" }, ["destination"]],
        ["duration -1", { duration: "-1" }, ["duration"]],
        ["duration 1.5", { duration: "1.5" }, ["duration"]],
        ["duration abc", { duration: "abc" }, ["duration"]],
        ["duration 1e3", { duration: "1e3" }, ["duration"]],
        ["duration 45s", { duration: "45s" }, ["duration"]],
        ["url ftp://x", { url: "ftp://x" }, ["url"]],
        ["url not a url", { url: "not a url" }, ["url"]],
        ["url javascript:", { url: "javascript:alert(1)" }, ["url"]],
        ["url longer than 2048", { url: `https://example.com/${"a".repeat(2048)}` }, ["url"]],
        [
          "all at once",
          { initiated: "2012-02-30T10:00:00", source: "", destination: "", duration: "-1", url: "not a url" },
          ["initiated", "source", "destination", "duration", "url"],
        ],
      ];
      for (const [title, change, fields] of cases) {
        test(`${title}: 400 with an entry for ${fields.join(", ")} only, nothing stored`, async () => {
          const w = await world();
          const params = Object.fromEntries(Object.entries({ token: ENV_TOKEN, ...CALL, ...change }).filter(([, v]) => v !== ""));
          expectRefused(await w.get(CREATE, params), 400, fields);
          // the same by form and JSON
          expectRefused(await w.form(CREATE, params), 400, fields);
          expectRefused(await w.json(CREATE, params), 400, fields);
          expect(await w.calls()).toEqual([]);
        });
      }

      test("the valid edges pass: 29 February of a leap year, 23:59:59, a fraction and zones, duration 0, an https url", async () => {
        const w = await world();
        for (const [n, initiated] of [
          "2012-02-29T10:00:00",
          "2012-08-23T23:59:59",
          "2012-08-23T12:20:33.5",
          "2012-08-23T12:20:33,25Z",
          "2012-08-23T12:20+01:00",
          "2012-08-23T12:20:33+0530",
        ].entries()) {
          const answer = await w.create({ ...CALL, initiated, source: `72${n}`, duration: "0", url: "https://pbx.example.com/x" });
          expect({ initiated, status: answer.status }).toEqual({ initiated, status: 200 });
        }
        expect((await w.calls()).map((c) => c.initiated)).toEqual([
          "2012-02-29T10:00:00.000Z",
          "2012-08-23T06:50:33.000Z",
          "2012-08-23T11:20:00.000Z",
          "2012-08-23T12:20:33.250Z",
          "2012-08-23T12:20:33.500Z",
          "2012-08-23T23:59:59.000Z",
        ]);
      });
    });

    describe("tokens", () => {
      const refusedToken = { status: 401, body: { error: true, errors: { token: expect.any(String) } } };

      test("missing, empty, wrong or nearly right: 401 with only a token entry, even when every other parameter is invalid", async () => {
        const w = await world();
        const bad = { initiated: "2012-02-30", source: "", duration: "-1", url: "ftp://x" };
        const answers: Answer[] = [];
        for (const token of [
          undefined,
          "",
          "wrong",
          ENV_TOKEN.toUpperCase(),
          ` ${ENV_TOKEN}`,
          `${ENV_TOKEN}x`,
          ENV_TOKEN.slice(0, -1),
          hashToken(ENV_TOKEN),
        ]) {
          for (const params of [CALL, bad]) {
            const all: Params = token === undefined ? { ...params } : { token, ...params };
            for (const how of ["get", "form", "json"] as const) {
              const answer = await w.send[how](CREATE, all);
              expect({ token, how, answer }).toEqual({ token, how, answer: refusedToken });
              answers.push(answer);
            }
          }
        }
        // never a hint which part was wrong: one answer for all
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(await w.calls()).toEqual([]);
      });

      test("a revoked token of the state store is refused; the others still work", async () => {
        const w = await world();
        const { record, token } = await state.tokens.add("to-revoke");
        expectCreated(await w.create({ ...CALL, token }), "c-berlin");
        expect(await state.tokens.revoke(record.id)).toBe(1);
        expect(await w.get(CREATE, { token, ...CALL, source: "7223" })).toEqual(refusedToken);
        expect(await w.get(DELETE, { token, from: "2012-01-01", to: "2013-01-01" })).toEqual(refusedToken);
        expectCreated(await w.get(CREATE, { token: stateToken, ...CALL, source: "7224" }), "c-berlin");
        expect((await w.calls()).length).toBe(2);
      });
    });

    describe("delete", () => {
      /** Calls on 22 (before), 23 (from), 24 and 25 (between), 26 (to) and 27 August 2012 (after). */
      async function callsAround() {
        const w = await world();
        const instants = [
          "2012-08-22T12:00:00Z",
          "2012-08-23T00:00:00Z",
          "2012-08-23T23:59:59.999Z",
          "2012-08-24T00:00:00Z",
          "2012-08-24T12:30:00",
          "2012-08-25T23:59:59.999Z",
          "2012-08-26T00:00:00Z",
          "2012-08-26T23:00:00Z",
          "2012-08-27T08:00:00Z",
        ];
        for (const initiated of instants) expectCreated(await w.create({ ...CALL, initiated }), "c-berlin");
        return w;
      }
      const initiated = async (w: Awaited<ReturnType<typeof callsAround>>) => (await w.calls()).map((c) => c.initiated);

      test("both days are exclusive: calls on from and to stay, those of the days between go, the count is right", async () => {
        const w = await callsAround();
        expect(await w.remove({ from: "2012-08-23", to: "2012-08-26" })).toEqual({ status: 200, body: { count: 3, error: false } });
        expect(await initiated(w)).toEqual([
          "2012-08-22T12:00:00.000Z",
          "2012-08-23T00:00:00.000Z",
          "2012-08-23T23:59:59.999Z",
          "2012-08-26T00:00:00.000Z",
          "2012-08-26T23:00:00.000Z",
          "2012-08-27T08:00:00.000Z",
        ]);
        // again: nothing left between
        expect(await w.remove({ from: "2012-08-23", to: "2012-08-26" })).toEqual({ status: 200, body: { count: 0, error: false } });
      });

      test("adjacent days delete nothing; one day between deletes that day; by form and JSON too", async () => {
        const w = await callsAround();
        expect(await w.remove({ from: "2012-08-23", to: "2012-08-24" })).toEqual({ status: 200, body: { count: 0, error: false } });
        expect((await w.calls()).length).toBe(9);
        expect(await w.form(DELETE, { token: ENV_TOKEN, from: "2012-08-23", to: "2012-08-25" })).toEqual({
          status: 200,
          body: { count: 2, error: false },
        });
        expect(await w.json(DELETE, { token: stateToken, from: "2012-08-24", to: "2012-08-26" })).toEqual({
          status: 200,
          body: { count: 1, error: false },
        });
        expect(await w.remove({ from: "2000-01-01", to: "2100-01-01" })).toEqual({ status: 200, body: { count: 6, error: false } });
        expect(await w.calls()).toEqual([]);
      });

      test("from not before to is an error; nothing deleted", async () => {
        const w = await callsAround();
        expectRefused(await w.remove({ from: "2012-08-24", to: "2012-08-24" }), 400, ["to"]);
        expectRefused(await w.remove({ from: "2012-08-26", to: "2012-08-23" }), 400, ["to"]);
        expect((await w.calls()).length).toBe(9);
      });

      const bad: [string, Params, string[]][] = [
        ["both missing", {}, ["from", "to"]],
        ["from missing", { to: "2012-08-26" }, ["from"]],
        ["to missing", { from: "2012-08-23" }, ["to"]],
        ["from 2012-02-30", { from: "2012-02-30", to: "2012-08-26" }, ["from"]],
        ["to with a time", { from: "2012-08-23", to: "2012-08-26T00:00:00" }, ["to"]],
        ["from with a time and zone", { from: "2012-08-23T00:00:00Z", to: "2012-08-26" }, ["from"]],
        ["to a word", { from: "2012-08-23", to: "tomorrow" }, ["to"]],
        ["from without zero padding", { from: "2012-8-23", to: "2012-08-26" }, ["from"]],
        ["both bad", { from: "23.08.2012", to: "2012-13-01" }, ["from", "to"]],
      ];
      for (const [title, params, fields] of bad) {
        test(`${title}: 400 with an entry for ${fields.join(", ")}, nothing deleted`, async () => {
          const w = await callsAround();
          expectRefused(await w.remove(params), 400, fields);
          expectRefused(await w.json(DELETE, { token: ENV_TOKEN, ...params }), 400, fields);
          expect((await w.calls()).length).toBe(9);
        });
      }

      test("a wrong or missing token: 401 with only a token entry, nothing deleted", async () => {
        const w = await callsAround();
        for (const params of <Params[]>[
          { token: "wrong", from: "2012-08-23", to: "2012-08-26" },
          { from: "2012-08-23", to: "2012-08-26" },
          { token: "wrong", from: "bad", to: "worse" },
        ]) {
          expect(await w.get(DELETE, params)).toEqual({ status: 401, body: { error: true, errors: { token: expect.any(String) } } });
        }
        expect((await w.calls()).length).toBe(9);
      });

      test("before anything was ever created: count 0", async () => {
        const w = await world();
        expect(await w.remove({ from: "2012-08-23", to: "2012-08-26" })).toEqual({ status: 200, body: { count: 0, error: false } });
      });
    });

    describe("malformed requests", () => {
      const unreadable = { status: 400, body: { error: true, errors: expect.any(Object) } };

      test("a parameter longer than 4096 characters: 400, by query string, form and JSON; 4096 is still read", async () => {
        const w = await world();
        const long = { token: ENV_TOKEN, ...CALL, source: "1".repeat(4097) };
        for (const how of ["get", "form", "json"] as const) {
          const answer = await w.send[how](CREATE, long);
          expect({ how, answer }).toEqual({ how, answer: unreadable });
          expect(Object.keys(answer.body.errors as object)).not.toContain("source");
          // even the token
          expect({ how, answer: await w.send[how](CREATE, { ...CALL, token: "t".repeat(4097) }) }).toEqual({ how, answer: unreadable });
          expect({ how, answer: await w.send[how](DELETE, { token: ENV_TOKEN, from: "2".repeat(4097), to: "2012-08-26" }) }).toEqual({
            how,
            answer: unreadable,
          });
        }
        // 4096 characters are read, and then judged as the parameter they are
        expectRefused(await w.get(CREATE, { ...long, source: "1".repeat(4096) }), 400, ["source"]);
        expect(await w.calls()).toEqual([]);
      });

      test("JSON with an array, an object, true or null as a value, or not an object at all: 400", async () => {
        const w = await world();
        const bodies: unknown[] = [
          { token: ENV_TOKEN, ...CALL, source: ["7222"] },
          { token: ENV_TOKEN, ...CALL, destination: { number: "+49 30 1234567" } },
          { token: [ENV_TOKEN], ...CALL },
          { token: ENV_TOKEN, ...CALL, duration: true },
          { token: ENV_TOKEN, ...CALL, url: null },
          [{ token: ENV_TOKEN, ...CALL }],
          "token=x",
          42,
          null,
        ];
        for (const body of bodies) {
          expect({ body, answer: await w.json(CREATE, body) }).toEqual({ body, answer: unreadable });
          expect({ body, answer: await w.json(DELETE, body) }).toEqual({ body, answer: unreadable });
        }
        for (const raw of ["{", '{"token": ', "", "\u0000", "{'token': 'x'}"]) {
          const answer = await w.request(CREATE, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
          expect({ raw, answer }).toEqual({ raw, answer: unreadable });
        }
        expect(await w.calls()).toEqual([]);
      });

      test("given in the query string and again in the body: refused", async () => {
        const w = await world();
        const answer = await w.request(`${CREATE}?token=${ENV_TOKEN}&source=1111111`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...CALL }).toString(),
        });
        expect(answer).toEqual(unreadable);
      });

      test("a parameter given twice is refused, not one of its values picked; other repeated keys do not matter", async () => {
        const w = await world();
        const call = new URLSearchParams({ token: ENV_TOKEN, ...CALL }).toString();
        expect(await w.request(`${CREATE}?${call}&source=9999`)).toEqual(unreadable);
        const form = await w.request(CREATE, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `${call}&destination=0301234567`,
        });
        expect(form).toEqual(unreadable);
        expect((await w.request(`${CREATE}?${call}&utm=a&utm=b`)).status).toBe(200);
      });

      test("a file in a multipart form: 400", async () => {
        const w = await world();
        const body = new FormData();
        for (const [key, value] of Object.entries({ token: ENV_TOKEN, ...CALL })) body.set(key, value);
        body.set("source", new File(["7222"], "source.txt"));
        expect(await w.request(CREATE, { method: "POST", body })).toEqual(unreadable);
        expect(await w.calls()).toEqual([]);
      });

      test("nothing answers 5xx: odd methods, encodings, content types and sizes", async () => {
        const w = await world();
        const valid = new URLSearchParams({ token: ENV_TOKEN, ...CALL }).toString();
        const requests: [string, RequestInit?][] = [
          [`${CREATE}?token=%E0%A4%A&initiated=%&source=%ZZ`],
          [`${CREATE}?${valid}&destination=%00%01`],
          [`${CREATE}?token=${ENV_TOKEN}&initiated=2012-08-23T12:20:33&source=%F0%9F%98%80&destination=%F0%9F%98%80`],
          [CREATE, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=%E0%A4%A&source=%" }],
          [CREATE, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "garbage" }],
          [CREATE, { method: "POST", headers: { "content-type": "multipart/form-data" }, body: "garbage" }],
          [CREATE, { method: "POST", headers: { "content-type": "text/plain" }, body: valid }],
          [CREATE, { method: "POST", body: valid }],
          [CREATE, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(70 * 1024) }],
          [CREATE, { method: "PUT", body: valid }],
          [CREATE, { method: "DELETE" }],
          [DELETE, { method: "PATCH" }],
          [`${DELETE}?token=${ENV_TOKEN}&from=0000-01-01&to=9999-12-31`],
          [`${DELETE}?token=${ENV_TOKEN}&from=9999-12-30&to=9999-12-31`],
          [`${CREATE}?token=${ENV_TOKEN}&initiated=9999-12-31T23:59:59&source=1&destination=0301234567&duration=999999999`],
          [`${CREATE}?token=${ENV_TOKEN}&initiated=0000-01-01T00:00:00&source=1&destination=0301234567`],
          [
            `${CREATE}?token=${ENV_TOKEN}&initiated=2012-08-23T12:20:33&source=${encodeURIComponent("'; DROP TABLE x; --")}1&destination=${encodeURIComponent("030 1234567' OR '1'='1")}`,
          ],
          [`${CREATE}?token=${ENV_TOKEN}&initiated=2012-08-23T12:20:33&source=1&destination=${"9".repeat(64)}`],
          [`${CREATE}?token=${ENV_TOKEN}&initiated=2012-08-23T12:20:33&source=1&destination=${"0".repeat(64)}`],
          [`${CREATE}/extra`],
          ["/direct/items/phonecalls/"],
        ];
        for (const [path, init] of requests) {
          const response = await w.app.request(path, init);
          const text = await response.text();
          expect({
            path,
            method: init?.method ?? "GET",
            status: response.status < 500 ? "below 500" : `${response.status} ${text}`,
          }).toEqual({
            path,
            method: init?.method ?? "GET",
            status: "below 500",
          });
          expect(() => JSON.parse(text)).not.toThrow();
        }
        const answer = await w.app.request("/readyz");
        expect(answer.status).toBe(200);
      });
    });
  });
}
